package setup

import (
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
)

func cfg(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	c, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolvePicksNewestPinnedImageInsideTheRange(t *testing.T) {
	rel, img, err := Resolve(cfg(t, map[string]string{"ISTIO_VERSION": "1.29"}))
	if err != nil {
		t.Fatal(err)
	}
	// Istio 1.29 supports Kubernetes 1.31–1.35: the newest pinned image in range is 1.35.
	if rel.Istio != "1.29.8" || !strings.Contains(img, "kindest/node:v1.35.") {
		t.Fatalf("rel=%s img=%s", rel.Istio, img)
	}
}

func TestResolveHonoursK8sVersionAndOverride(t *testing.T) {
	_, img, err := Resolve(cfg(t, map[string]string{"K8S_VERSION": "v1.34.4"}))
	if err != nil || !strings.Contains(img, ":v1.34.") {
		t.Fatalf("img=%s err=%v", img, err)
	}
	_, img, err = Resolve(cfg(t, map[string]string{"KIND_NODE_IMAGE": "ambient-e2e/kind-node:v1.34.4"}))
	if err != nil || img != "ambient-e2e/kind-node:v1.34.4" {
		t.Fatalf("img=%s err=%v", img, err)
	}
}

func TestResolveRejectsUnknownVersionsListingSupported(t *testing.T) {
	_, _, err := Resolve(cfg(t, map[string]string{"ISTIO_VERSION": "1.19.0"}))
	if err == nil || !strings.Contains(err.Error(), "supported: 1.28") {
		t.Fatalf("err=%v", err)
	}
	_, _, err = Resolve(cfg(t, map[string]string{"K8S_VERSION": "1.20"}))
	if err == nil || !strings.Contains(err.Error(), "no kind node image pinned") {
		t.Fatalf("err=%v", err)
	}
}

func TestResolveExistingModeNeedsNoNodeImage(t *testing.T) {
	_, img, err := Resolve(cfg(t, map[string]string{"CLUSTER_MODE": "existing", "K8S_VERSION": "1.20"}))
	if err != nil || img != "" {
		t.Fatalf("img=%q err=%v", img, err)
	}
}

func TestSharedRoundTrip(t *testing.T) {
	in := Shared{RunID: "ab12", Kubeconfig: "/k", KindCluster: "c", ClusterCreated: true, ProbeImage: "p:1", Warnings: []string{"w"}}
	out, err := Decode(in.Encode())
	if err != nil || out.RunID != in.RunID || !out.ClusterCreated || out.Warnings[0] != "w" {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestMinorOf(t *testing.T) {
	for in, want := range map[string]string{"v1.34.4": "1.34", "v1.35.0-rc.1": "1.35", "garbage": ""} {
		if got := minorOf(in); got != want {
			t.Errorf("minorOf(%q)=%q want %q", in, got, want)
		}
	}
}
