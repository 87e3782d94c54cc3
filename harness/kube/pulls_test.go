package kube

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Messages as the kubelet writes them (kubernetes
// pkg/kubelet/images/image_manager.go@v1.34.4).
func ev(reason, msg string, at time.Time) corev1.Event {
	return corev1.Event{Reason: reason, Message: msg, LastTimestamp: metav1.NewTime(at)}
}

func TestParsePullEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const proxy = "docker.io/istio/proxyv2:1.31.4-distroless"
	const probe = "ambient-e2e.local/probe:0123456789abcdef"
	events := []corev1.Event{
		ev("Scheduled", "Successfully assigned ns/waypoint-7d to kind-worker", t0),
		ev("Pulling", `Pulling image "`+proxy+`"`, t0.Add(time.Second)),
		ev("Pulled", `Successfully pulled image "`+proxy+`" in 41.2s (41.9s including waiting). Image size: 92345678 bytes.`, t0.Add(43*time.Second)),
		ev("Pulled", `Container image "`+probe+`" already present on machine`, t0),
		ev("Created", "Created container: istio-proxy", t0.Add(44*time.Second)),
	}
	pulls := ParsePullEvents(events)
	if len(pulls) != 2 {
		t.Fatalf("pulls = %+v", pulls)
	}
	got := map[string]ImagePull{}
	for _, p := range pulls {
		got[p.Image] = p
	}
	if p := got[proxy]; !p.Done || p.Present || p.Took != 41900*time.Millisecond || !p.Started.Equal(t0.Add(time.Second)) {
		t.Errorf("proxy pull = %+v", p)
	}
	if p := got[probe]; !p.Done || !p.Present || p.Took != 0 {
		t.Errorf("present image = %+v", p)
	}
	if d := PullTime(pulls, t0.Add(time.Hour)); d != 41900*time.Millisecond {
		t.Errorf("PullTime = %s", d)
	}
	if got := FormatPulls(pulls); len(got) != 2 || got[0] != probe+" already present" || got[1] != proxy+" pulled in 41.9s" {
		t.Errorf("FormatPulls = %q", got)
	}
}

func TestPullStillGoing(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pulls := ParsePullEvents([]corev1.Event{ev("Pulling", `Pulling image "docker.io/istio/proxyv2:1.31.4-distroless"`, t0)})
	if d := PullTime(pulls, t0.Add(30*time.Second)); d != 30*time.Second {
		t.Errorf("PullTime of a running pull = %s", d)
	}
	if p := Pulling(pulls); len(p) != 1 {
		t.Errorf("Pulling = %v", p)
	}
	if p := Pulling(ParsePullEvents(nil)); len(p) != 0 {
		t.Errorf("Pulling of nothing = %v", p)
	}
}

// A pull that fails (the image is not in the registry, or no registry can
// be reached) stops counting as pulling at the failure: the back-off after
// it counts against the readiness bound, so a missing image ends the wait.
func TestFailedPullStopsCounting(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const proxy = "localhost/istio/proxyv2:1.31-dev-distroless"
	events := []corev1.Event{
		ev("BackOff", `Back-off pulling image "`+proxy+`"`, t0.Add(4*time.Second)),
		ev("Failed", `Failed to pull image "`+proxy+`": rpc error: code = NotFound desc = failed to pull and unpack image "`+proxy+`": failed to resolve reference: not found`, t0.Add(3*time.Second)),
		ev("Pulling", `Pulling image "`+proxy+`"`, t0.Add(time.Second)),
		ev("Pulling", `Pulling image "`+proxy+`"`, t0.Add(20*time.Second)),
		ev("Failed", `Failed to pull image "`+proxy+`": rpc error: code = Unknown desc = dial tcp: lookup localhost: no such host`, t0.Add(22*time.Second)),
	}
	pulls := ParsePullEvents(events)
	if len(pulls) != 1 {
		t.Fatalf("pulls = %+v", pulls)
	}
	p := pulls[0]
	if p.Done || p.Failed == "" || !strings.Contains(p.Failed, "no such host") {
		t.Fatalf("pull = %+v", p)
	}
	if d := PullTime(pulls, t0.Add(time.Hour)); d != 4*time.Second {
		t.Errorf("PullTime = %s, want the two failed attempts' 2 s each", d)
	}
	if len(Pulling(pulls)) != 0 {
		t.Errorf("a failed pull is not pulling: %v", Pulling(pulls))
	}
	if got := FormatPulls(pulls); len(got) != 1 || !strings.Contains(got[0], "cannot be pulled: rpc error") {
		t.Errorf("FormatPulls = %q", got)
	}
}
