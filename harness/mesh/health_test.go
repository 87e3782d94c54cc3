package mesh

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, taints ...corev1.Taint) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/os": "linux"}}, Spec: corev1.NodeSpec{Taints: taints}}
}

func pod(name, nodeName string, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

var controlPlaneTaint = corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}

// ztunnelLike tolerates everything, as Istio's ztunnel DaemonSet does.
func ztunnelLike() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
		Tolerations: []corev1.Toleration{
			{Effect: corev1.TaintEffectNoSchedule, Operator: corev1.TolerationOpExists},
			{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
			{Effect: corev1.TaintEffectNoExecute, Operator: corev1.TolerationOpExists},
		},
	}}}}
}

func TestCoverage(t *testing.T) {
	nodes := []corev1.Node{node("cp", controlPlaneTaint), node("w1"), node("w2")}
	cordoned := node("w3")
	cordoned.Spec.Unschedulable = true
	noToleration := &appsv1.DaemonSet{}
	cases := []struct {
		name    string
		ds      *appsv1.DaemonSet
		nodes   []corev1.Node
		pods    []corev1.Pod
		ok      bool
		missing []string
		extra   []string
		expect  int
	}{
		{"one ready per node", ztunnelLike(), nodes, []corev1.Pod{pod("a", "cp", true), pod("b", "w1", true), pod("c", "w2", true)}, true, nil, nil, 3},
		{"one not ready", ztunnelLike(), nodes, []corev1.Pod{pod("a", "cp", true), pod("b", "w1", false), pod("c", "w2", true)}, false, []string{"w1"}, nil, 3},
		{"two on one node", ztunnelLike(), nodes, []corev1.Pod{pod("a", "cp", true), pod("b", "w1", true), pod("b2", "w1", true), pod("c", "w2", true)}, false, nil, []string{"w1"}, 3},
		{"cordoned node not expected", ztunnelLike(), append(nodes, cordoned), []corev1.Pod{pod("a", "cp", true), pod("b", "w1", true), pod("c", "w2", true)}, true, nil, nil, 3},
		{"untolerated taint not expected", noToleration, nodes, []corev1.Pod{pod("b", "w1", true), pod("c", "w2", true)}, true, nil, nil, 2},
		{"no pods at all", ztunnelLike(), nodes, nil, false, []string{"cp", "w1", "w2"}, nil, 3},
		{"no nodes is never OK", ztunnelLike(), nil, nil, false, nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Coverage(tc.ds, tc.nodes, tc.pods)
			if c.OK() != tc.ok || len(c.Expected) != tc.expect || !equal(c.Missing, tc.missing) || !equal(c.Extra, tc.extra) {
				t.Fatalf("got %+v (%s)", c, c)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/istio/ztunnel:1.30.8-distroless":           "1.30.8",
		"docker.io/istio/pilot:1.31.4":                        "1.31.4",
		"registry.example:5000/istio/install-cni:1.29.6-solo": "1.29.6-solo",
		"gcr.io/x/pilot:1.30.8@sha256:abc":                    "1.30.8",
		"localhost/istio/pilot:1.32-dev-distroless":           "1.32-dev",
		"localhost:5000/pilot":                                "",
	} {
		if got := ImageVersion(in); got != want {
			t.Errorf("ImageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunsVersion(t *testing.T) {
	for _, tc := range []struct {
		image, want string
		ok          bool
	}{
		{"docker.io/istio/ztunnel:1.30.8-distroless", "1.30.8", true},
		{"docker.io/istio/pilot:1.31.4", "1.31.4", true},
		{"registry.example:5000/istio/install-cni:1.29.6-solo", "1.29.6", true},
		{"gcr.io/x/pilot:1.30.8@sha256:abc", "1.30.8", true},
		{"localhost/istio/pilot:1.32-dev-distroless", "1.32-dev", true},
		{"docker.io/istio/pilot:1.30.80", "1.30.8", false},
		{"docker.io/istio/pilot:1.30.8", "1.30", false},
		{"docker.io/istio/pilot:1.31.4", "1.30.8", false},
		{"localhost:5000/pilot", "1.30.8", false},
		{"docker.io/istio/pilot:1.30.8", "", false},
	} {
		if got := RunsVersion(tc.image, tc.want); got != tc.ok {
			t.Errorf("RunsVersion(%q, %q) = %v, want %v", tc.image, tc.want, got, tc.ok)
		}
	}
}

func TestControlPlaneNames(t *testing.T) {
	for _, tc := range []struct {
		cp                ControlPlane
		istiod, configMap string
	}{
		{ControlPlane{Namespace: DefaultNamespace}, "istiod", "istio"},
		{ControlPlane{Namespace: "istio-system", Revision: "canary"}, "istiod-canary", "istio-canary"},
	} {
		if got := tc.cp.IstiodName(); got != tc.istiod {
			t.Errorf("%+v IstiodName = %q, want %q", tc.cp, got, tc.istiod)
		}
		if got := tc.cp.MeshConfigMap(); got != tc.configMap {
			t.Errorf("%+v MeshConfigMap = %q, want %q", tc.cp, got, tc.configMap)
		}
	}
}

func TestRevisionOf(t *testing.T) {
	istiod := func(rev string) appsv1.Deployment {
		d := appsv1.Deployment{}
		d.Labels = map[string]string{"app": "istiod"}
		if rev != "" {
			d.Labels[RevisionLabel] = rev
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		in      []appsv1.Deployment
		want    string
		wantErr string
	}{
		{"no istiod", nil, "", ""},
		{"default install", []appsv1.Deployment{istiod("default")}, "", ""},
		{"label missing", []appsv1.Deployment{istiod("")}, "", ""},
		{"one revision", []appsv1.Deployment{istiod("ambient")}, "ambient", ""},
		{"canary next to the default", []appsv1.Deployment{istiod("canary"), istiod("default")}, "", ""},
		{"two revisions, no default", []appsv1.Deployment{istiod("1-31"), istiod("1-30")}, "", "istiod runs in 2 revisions in istio-system (1-30, 1-31) and none is the default: set ISTIO_REVISION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := revisionOf("istio-system", tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("revisionOf = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
