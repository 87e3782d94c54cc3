package ambient

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(name, uid, redirection, cid string, restarts int32) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid), Annotations: map[string]string{}}}
	if redirection != "" {
		p.Annotations[RedirectionAnnotation] = redirection
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "probe", ContainerID: cid, RestartCount: restarts}}
	return p
}

func TestEnrollment(t *testing.T) {
	en, not := Enrollment([]corev1.Pod{
		pod("server", "1", "enabled", "c1", 0),
		pod("client", "2", "pending", "c2", 0),
		pod("none", "3", "", "c3", 0),
	})
	if strings.Join(en, ",") != "server" || strings.Join(not, ",") != "client (pending),none" {
		t.Fatalf("enrolled=%v not=%v", en, not)
	}
}

func TestOptedOut(t *testing.T) {
	p := pod("x", "1", "", "c", 0)
	if OptedOut(&p) {
		t.Fatal("no label is not opted out")
	}
	p.Labels = map[string]string{DataplaneModeLabel: DataplaneModeNone}
	if !OptedOut(&p) {
		t.Fatal("none label is opted out")
	}
}

func TestRestarted(t *testing.T) {
	before := Snapshot([]corev1.Pod{pod("a", "u1", "", "containerd://aaaa", 0), pod("b", "u2", "", "containerd://bbbb", 0)})
	cases := []struct {
		name  string
		after []corev1.Pod
		want  []string
	}{
		{"unchanged, annotation added", []corev1.Pod{pod("a", "u1", "enabled", "containerd://aaaa", 0), pod("b", "u2", "enabled", "containerd://bbbb", 0)}, nil},
		{"container restarted", []corev1.Pod{pod("a", "u1", "", "containerd://cccc", 1), pod("b", "u2", "", "containerd://bbbb", 0)},
			[]string{"pod a container probe ID changed aaaa → cccc", "pod a container probe restarted (0 → 1)"}},
		{"pod replaced", []corev1.Pod{pod("a", "u1", "", "containerd://aaaa", 0), pod("b2", "u3", "", "containerd://dddd", 0)},
			[]string{"new pod b2 appeared", "pod b is gone (replaced?)"}},
		{"same name new UID", []corev1.Pod{pod("a", "u9", "", "containerd://aaaa", 0), pod("b", "u2", "", "containerd://bbbb", 0)},
			[]string{"pod a UID changed u1 → u9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Restarted(before, Snapshot(tc.after))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCapturableDropsHostNetworkPods(t *testing.T) {
	app := corev1.Pod{}
	app.Name = "server"
	sniffer := corev1.Pod{}
	sniffer.Name = "sniffer-x"
	sniffer.Spec.HostNetwork = true
	got := Capturable([]corev1.Pod{app, sniffer})
	if len(got) != 1 || got[0].Name != "server" {
		t.Fatalf("Capturable = %v", got)
	}
	// A sniffer that comes and goes between two snapshots is no new pod.
	before := Snapshot(Capturable([]corev1.Pod{app}))
	after := Snapshot(Capturable([]corev1.Pod{app, sniffer}))
	if d := Restarted(before, after); len(d) != 0 {
		t.Fatalf("Restarted = %v", d)
	}
}

func TestCannotCompleteNeedsEveryPodPendingAndNoReadyZtunnelOnItsNode(t *testing.T) {
	on := func(p corev1.Pod, node string) corev1.Pod { p.Spec.NodeName = node; return p }
	ztunnel := func(node string, ready bool) corev1.Pod {
		z := on(pod("ztunnel-"+node, "z", "", "", 0), node)
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		z.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		return z
	}
	pendingA := on(pod("client", "1", RedirectionPending, "c1", 0), "worker")
	pendingB := on(pod("server", "2", RedirectionPending, "c2", 0), "worker2")
	enabled := on(pod("other", "3", RedirectionEnabled, "c3", 0), "worker")
	unannotated := on(pod("late", "4", "", "c4", 0), "worker")
	noneReady := []corev1.Pod{ztunnel("worker", false), ztunnel("worker2", false)}
	cases := []struct {
		about    string
		pods     []corev1.Pod
		ztunnels []corev1.Pod
		want     bool
	}{
		{"every pod pending, no ztunnel at all (the control-plane mesh)", []corev1.Pod{pendingA, pendingB}, nil, true},
		{"every pod pending, ztunnels not ready", []corev1.Pod{pendingA, pendingB}, noneReady, true},
		{"enabled pods do not count against it", []corev1.Pod{pendingA, enabled}, noneReady, true},
		{"a pod istio-cni has not reached yet: it may still enroll", []corev1.Pod{pendingA, unannotated}, nil, false},
		{"a ready ztunnel on a pending pod's node: pending is a moment of a healthy mesh", []corev1.Pod{pendingA, pendingB}, []corev1.Pod{ztunnel("worker", false), ztunnel("worker2", true)}, false},
		{"nothing pending", []corev1.Pod{enabled}, nil, false},
		{"no pods", nil, nil, false},
	}
	for _, c := range cases {
		why, got := CannotComplete(c.pods, c.ztunnels)
		if got != c.want {
			t.Errorf("%s: %v (%s), want %v", c.about, got, why, c.want)
		}
		if got && (!strings.Contains(why, "client") || !strings.Contains(why, "no ztunnel is ready on worker")) {
			t.Errorf("%s: why = %q", c.about, why)
		}
	}
}
