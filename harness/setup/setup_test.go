package setup

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

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

func TestCheckReleaseStopsWhatAnInstallCannotDo(t *testing.T) {
	cases := []struct {
		about string
		env   map[string]string
		want  string // "" = passes
		log   string // a line the log must have
	}{
		{about: "install into another namespace", env: map[string]string{"ISTIO_VERSION": "1.30", "ISTIO_NAMESPACE": "mesh"},
			want: "installs Istio into istio-system, but ISTIO_NAMESPACE=mesh"},
		{about: "another namespace is fine for a preinstalled mesh", env: map[string]string{"ISTIO_VERSION": "1.30", "ISTIO_NAMESPACE": "mesh", "MESH_MODE": "preinstalled"}},
		{about: "the development row without a local istioctl", env: map[string]string{"ISTIO_VERSION": "dev"},
			want: "no istioctl release to download; build it with clusters/offline/istio-build"},
		{about: "the development row with a local istioctl", env: map[string]string{"ISTIO_VERSION": "dev", "ISTIOCTL": "/tmp/istioctl"}},
		{about: "an end-of-life release is judged, with a warning", env: map[string]string{"ISTIO_VERSION": "1.28", "MESH_MODE": "preinstalled"},
			log: "warning: Istio 1.28 reached end of life on 2026-06-28"},
	}
	for _, c := range cases {
		cf := cfg(t, c.env)
		rel, _, err := Resolve(cf)
		if err != nil {
			t.Fatalf("%s: %v", c.about, err)
		}
		var log []string
		err = CheckRelease(t.Context(), cf, rel, func(s string) { log = append(log, s) })
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.about, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", c.about, err, c.want)
		}
		if c.log != "" && !strings.Contains(strings.Join(log, "\n"), c.log) {
			t.Errorf("%s: log %q, want %q", c.about, log, c.log)
		}
	}
}

func TestStaleFor(t *testing.T) {
	const ref = "localhost/istio/ztunnel:1.31-dev-distroless"
	pod := func(node, image, waiting string) corev1.Pod {
		p := corev1.Pod{Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "istio-proxy", Image: image}}}}
		st := corev1.ContainerStatus{Name: "istio-proxy", Image: image}
		if waiting != "" {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
		return p
	}
	for _, c := range []struct {
		pod      corev1.Pod
		replaced []string
		want     string
	}{
		{pod("w1", ref, ""), nil, ""},
		{pod("w1", ref, ""), []string{"w2"}, ""},
		{pod("w1", ref, ""), []string{"w1"}, "its node w1 held another image as " + ref},
		{pod("w1", ref, "ImagePullBackOff"), nil, "it waits in ImagePullBackOff"},
		{pod("w1", ref, "ErrImagePull"), nil, "it waits in ErrImagePull"},
		{pod("w1", ref, "CrashLoopBackOff"), nil, ""},
		{pod("w1", "localhost/istio/pilot:1.31-dev-distroless", "ImagePullBackOff"), []string{"w1"}, ""},
	} {
		if got := staleFor(c.pod, ref, c.replaced); got != c.want {
			t.Errorf("pod on %s running %s (%v), replaced on %v: got %q, want %q",
				c.pod.Spec.NodeName, c.pod.Spec.Containers[0].Image, c.pod.Status.ContainerStatuses[0].State.Waiting, c.replaced, got, c.want)
		}
	}
}
