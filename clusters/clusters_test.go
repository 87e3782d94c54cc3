package clusters

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func TestNodeImagesArePinnedByDigestAndSorted(t *testing.T) {
	imgs, err := NodeImages()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) == 0 {
		t.Fatal("no node images")
	}
	seen := map[string]bool{}
	for i, im := range imgs {
		if seen[im.Kubernetes] {
			t.Errorf("Kubernetes %s listed twice", im.Kubernetes)
		}
		seen[im.Kubernetes] = true
		if !strings.Contains(im.Image, "@sha256:") || !strings.Contains(im.Image, ":v"+im.Kubernetes+".") {
			t.Errorf("image %q for %s is not a digest-pinned kindest/node of that minor", im.Image, im.Kubernetes)
		}
		if i > 0 && !minorLess(imgs[i-1].Kubernetes, im.Kubernetes) {
			t.Errorf("not sorted at %s", im.Kubernetes)
		}
	}
}

func TestNodeImageForUnknownMinorListsPinned(t *testing.T) {
	if _, err := NodeImageFor("1.35"); err != nil {
		t.Fatal(err)
	}
	_, err := NodeImageFor("1.20")
	if err == nil || !strings.Contains(err.Error(), "1.34, 1.35") {
		t.Fatalf("want an error listing the pinned minors, got %v", err)
	}
}

func TestKindConfigIsOneControlPlaneTwoWorkers(t *testing.T) {
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(KindConfig, &c); err != nil {
		t.Fatal(err)
	}
	roles := map[v1alpha4.NodeRole]int{}
	for _, n := range c.Nodes {
		roles[n.Role]++
	}
	if roles[v1alpha4.ControlPlaneRole] != 1 || roles[v1alpha4.WorkerRole] != 2 {
		t.Fatalf("roles = %v, want 1 control-plane and 2 workers", roles)
	}
}
