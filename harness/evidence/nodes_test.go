package evidence

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type podOpt func(*corev1.Pod)

func terminating(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
func notReady(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
}
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(ago time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(time.Now().Add(-ago)) }
}

func ztunnelPod(name, node string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "istio-system", Labels: map[string]string{"app": "ztunnel"},
			CreationTimestamp: metav1.NewTime(time.Now().Add(-time.Hour))},
		Spec: corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func TestZtunnelFor(t *testing.T) {
	threeNodes := []corev1.Pod{
		ztunnelPod("ztunnel-cp001", "kind-control-plane"),
		ztunnelPod("ztunnel-abc12", "kind-worker"),
		ztunnelPod("ztunnel-def34", "kind-worker2"),
	}
	tests := []struct {
		name    string
		pods    []corev1.Pod
		node    string
		want    string
		wantErr []string
	}{
		{"worker", threeNodes, "kind-worker", "ztunnel-abc12", nil},
		{"worker2", threeNodes, "kind-worker2", "ztunnel-def34", nil},
		{"control plane", threeNodes, "kind-control-plane", "ztunnel-cp001", nil},
		{"node without ztunnel", threeNodes[:2], "kind-worker2", "", []string{
			"no ztunnel pod on node kind-worker2 (ztunnel pods: ztunnel-cp001 on kind-control-plane, ztunnel-abc12 on kind-worker)",
		}},
		{"only a terminating pod", []corev1.Pod{ztunnelPod("ztunnel-old", "kind-worker", terminating), threeNodes[2]}, "kind-worker", "", []string{
			"no ztunnel pod on node kind-worker", "ztunnel-old on kind-worker (terminating)", "ztunnel-def34 on kind-worker2",
		}},
		{"rollout: terminating old, running new", []corev1.Pod{ztunnelPod("ztunnel-old", "kind-worker", terminating), ztunnelPod("ztunnel-new", "kind-worker", created(time.Minute))}, "kind-worker", "ztunnel-new", nil},
		{"pending pod", []corev1.Pod{ztunnelPod("ztunnel-pend", "kind-worker", phase(corev1.PodPending))}, "kind-worker", "", []string{"ztunnel-pend on kind-worker (Pending)"}},
		{"failed pod", []corev1.Pod{ztunnelPod("ztunnel-crash", "kind-worker", phase(corev1.PodFailed))}, "kind-worker", "", []string{"(Failed)"}},
		{"unscheduled pod", []corev1.Pod{ztunnelPod("ztunnel-x", "", phase(corev1.PodPending))}, "kind-worker", "", []string{"ztunnel-x on <unscheduled> (Pending)"}},
		{"two running: ready wins", []corev1.Pod{ztunnelPod("ztunnel-unready", "kind-worker", notReady, created(time.Second)), ztunnelPod("ztunnel-ready", "kind-worker")}, "kind-worker", "ztunnel-ready", nil},
		{"two running and ready: newest wins", []corev1.Pod{ztunnelPod("ztunnel-older", "kind-worker", created(2*time.Hour)), ztunnelPod("ztunnel-newer", "kind-worker", created(time.Minute))}, "kind-worker", "ztunnel-newer", nil},
		{"no ztunnel pods", nil, "kind-worker", "", []string{"no ztunnel pods: is the mesh installed?"}},
		{"no node", threeNodes, "", "", []string{"no node name given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ZtunnelFor(tt.pods, tt.node)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got.Name != tt.want {
					t.Errorf("got %s, want %s", got.Name, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error, got pod %s", got.Name)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q: %v", s, err)
				}
			}
		})
	}
}
