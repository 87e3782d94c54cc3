package sniffer

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPodSpecCanCapture(t *testing.T) {
	p := PodSpec(Options{Namespace: "ns", Node: "kind-worker", Image: "probe:1", IPs: []string{"10.244.1.2", "10.244.2.3"},
		Canaries: []string{"c-1234567890"}, Duration: 20 * time.Second}, map[string]string{"ambient-e2e.io/run": "r"})
	c := p.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	if !p.Spec.HostNetwork || p.Spec.NodeName != "kind-worker" || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("pod %+v", p.Spec)
	}
	if !strings.Contains(args, "--ip 10.244.1.2 --ip 10.244.2.3") || !strings.Contains(args, "--canary c-1234567890") || !strings.Contains(args, "--duration 20s") {
		t.Fatalf("args %q", args)
	}
	caps := c.SecurityContext.Capabilities.Add
	if len(caps) != 2 || caps[0] != "NET_RAW" || caps[1] != "NET_ADMIN" || *c.SecurityContext.RunAsUser != 0 {
		t.Fatalf("security %+v", c.SecurityContext)
	}
	if p.Labels["ambient-e2e.io/run"] != "r" {
		t.Fatal("sniffer pod without the run label")
	}
	// Opted out, so istio-cni releases that consider hostNetwork pods
	// eligible (istio/istio#61168) leave it alone in an enrolled namespace.
	if p.Labels["istio.io/dataplane-mode"] != "none" {
		t.Fatalf("sniffer pod not opted out of ambient: %v", p.Labels)
	}
	if strings.Contains(args, "--stop-name") {
		t.Errorf("args %q name a stop without Options.StopName", args)
	}
	stoppable := PodSpec(Options{IPs: []string{"10.244.1.2"}, Duration: time.Minute, StopName: "sniff-1"}, nil)
	if args := strings.Join(stoppable.Spec.Containers[0].Args, " "); !strings.HasSuffix(args, "--stop-name sniff-1") {
		t.Errorf("a stoppable capture's args %q do not end with --stop-name sniff-1", args)
	}
}

func TestParseSummary(t *testing.T) {
	logs := []byte(`{"ready":true}` + "\n" + `{"interfaces":["any"],"packets":12,"payloadBytes":900}` + "\n")
	sum, err := ParseSummary(logs)
	if err != nil || sum.Packets != 12 {
		t.Fatalf("%+v %v", sum, err)
	}
	if _, err := ParseSummary([]byte("sniff: operation not permitted\n")); err == nil || !strings.Contains(err.Error(), "no summary") {
		t.Fatalf("err=%v", err)
	}
	if _, err := ParseSummary([]byte(`{"packets":0,"error":"socket: operation not permitted"}`)); err == nil || !strings.Contains(err.Error(), "sniffer failed") {
		t.Fatalf("err=%v", err)
	}
}

func TestCanaryIsRandom(t *testing.T) {
	a, b := Canary("mesh"), Canary("mesh")
	if a == b || !strings.HasPrefix(a, "mesh-") || len(a) < 20 {
		t.Fatalf("%q %q", a, b)
	}
}
