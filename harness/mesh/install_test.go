package mesh

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func TestRenderOverlay(t *testing.T) {
	b, err := RenderOverlay(InstallOptions{Version: "1.30.8", Hub: "docker.io/istio"})
	if err != nil {
		t.Fatal(err)
	}
	var iop struct {
		APIVersion string                           `json:"apiVersion"`
		Kind       string                           `json:"kind"`
		Metadata   struct{ Name, Namespace string } `json:"metadata"`
		Spec       struct {
			Profile    string            `json:"profile"`
			Hub        string            `json:"hub"`
			Tag        string            `json:"tag"`
			MeshConfig map[string]string `json:"meshConfig"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &iop, yaml.DisallowUnknownFields); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if iop.Kind != "IstioOperator" || iop.Spec.Profile != "ambient" || iop.Spec.Hub != "docker.io/istio" || iop.Spec.Tag != "1.30.8" || iop.Spec.MeshConfig["accessLogFile"] != "/dev/stdout" {
		t.Fatalf("overlay %+v", iop)
	}
	if _, err := RenderOverlay(InstallOptions{Hub: "h"}); err == nil {
		t.Fatal("overlay without version accepted")
	}
}

func TestReadManifestsSkipsKustomizationAndSorts(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"b.yaml":             "kind: B",
		"a.yaml":             "kind: A",
		"kustomization.yaml": "resources: []",
		"notes.txt":          "x",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := ReadManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "resources") || strings.Contains(s, "x\n") || strings.Index(s, "kind: A") > strings.Index(s, "kind: B") {
		t.Fatalf("manifests %q", s)
	}
	if _, err := ReadManifests(t.TempDir()); err == nil {
		t.Fatal("empty dir accepted")
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\nd\n", 2); got != "c | d" {
		t.Fatalf("%q", got)
	}
}

// istioctl must act on the suite's cluster, not on whatever $KUBECONFIG or
// ~/.kube/config points at: every command gets --kubeconfig and --context.
func TestIstioctlTargetsTheSuitesCluster(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "istioctl")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" > "+record+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := Target{Kubeconfig: "/work/kubeconfig-kind", Context: "kind-ambient"}
	if err := Istioctl(context.Background(), fake, target, 10*time.Second, io.Discard, "waypoint", "apply", "-n", "ns1"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if want := "--kubeconfig /work/kubeconfig-kind --context kind-ambient waypoint apply -n ns1\n"; string(got) != want {
		t.Errorf("istioctl ran with %q, want %q", got, want)
	}
	if args := (Target{}).Args(); len(args) != 0 {
		t.Errorf("an empty target adds flags: %v", args)
	}
}
