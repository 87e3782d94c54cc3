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

// manifestExcerpt has the shape `istioctl manifest generate --set
// profile=ambient` prints (documents separated by ---, Deployment istiod,
// DaemonSets istio-cni-node and ztunnel; other kinds carry no images that
// matter, a ConfigMap may mention an image in its data).
const manifestExcerpt = `apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data:
  values: '{"global":{"proxy":{"image":"proxyv2"}}}'
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.31.4-distroless
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: install-cni
        image: docker.io/istio/install-cni:1.31.4-distroless
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ztunnel, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/ztunnel:1.31.4-distroless
`

func TestManifestImages(t *testing.T) {
	got, err := ManifestImages([]byte(manifestExcerpt))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker.io/istio/install-cni:1.31.4-distroless",
		"docker.io/istio/pilot:1.31.4-distroless",
		"docker.io/istio/proxyv2:1.31.4-distroless",
		"docker.io/istio/ztunnel:1.31.4-distroless",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("images = %q\nwant     %q", got, want)
	}
	if _, err := ManifestImages([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")); err == nil || !strings.Contains(err.Error(), "no pilot") {
		t.Fatalf("a manifest without istiod: %v", err)
	}
	if _, err := ManifestImages([]byte("kind: [\n")); err == nil {
		t.Fatal("broken YAML accepted")
	}
}
