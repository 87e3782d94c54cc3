package kube

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What istio-cni 1.31-dev (istio.io/istio v0.0.0-20260827124520-eed52ebb66ad)
// made the kubelet report for a pod created in an ambient namespace with no
// ztunnel, seen on the self-test's control-plane-only mesh.
const noZtunnel = `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "7c4f": ` +
	`plugin type="istio-cni" name="istio-cni" failed (add): istio-cni cmdAdd failed to contact node Istio CNI agent: ` +
	`unable to push CNI event (status code 500): no ztunnel connection`

func podEvent(pod, reason, msg string, first, last time.Time, count int32) corev1.Event {
	return corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: msg, Count: count,
		FirstTimestamp: metav1.NewTime(first), LastTimestamp: metav1.NewTime(last),
	}
}

func pendingPod(name string, phase corev1.PodPhase) corev1.Pod {
	p := corev1.Pod{}
	p.Name = name
	p.Status.Phase = phase
	return p
}

func TestPodTroublesSumsRepeatsAndKeepsTheLastMessage(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 21, 29, 47, 0, time.UTC)
	events := []corev1.Event{
		podEvent("ext-authz-1", ReasonFailedCreatePodSandBox, "Failed to create pod sandbox: first", t0, t0.Add(time.Second), 2),
		podEvent("ext-authz-1", ReasonFailedCreatePodSandBox, combinedPrefix+noZtunnel, t0.Add(12*time.Second), t0.Add(3*time.Minute), 7),
		podEvent("api-1", ReasonUnhealthy, `Readiness probe failed: Get "http://10.244.1.199:8080/healthz": connect: connection refused`, t0, t0.Add(time.Minute), 25),
		podEvent("api-1", "BackOff", "Back-off restarting failed container", t0, t0, 1), // not asked for
		{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "x"}, Type: corev1.EventTypeNormal, Reason: ReasonUnhealthy},
	}
	got := PodTroubles(events, ReasonFailedCreatePodSandBox, ReasonUnhealthy)
	if len(got) != 2 {
		t.Fatalf("troubles = %+v", got)
	}
	if a := got[0]; a.Pod != "api-1" || a.Reason != ReasonUnhealthy || a.Count != 25 || a.Span() != time.Minute {
		t.Errorf("api-1 = %+v", a)
	}
	e := got[1]
	if e.Pod != "ext-authz-1" || e.Count != 9 || e.Span() != 3*time.Minute || e.Message != noZtunnel {
		t.Errorf("ext-authz-1 = %+v", e)
	}
	if s := e.String(); !strings.HasPrefix(s, "ext-authz-1: FailedCreatePodSandBox ×9 in 3m0s: Failed to create pod sandbox:") {
		t.Errorf("String() = %q", s)
	}
}

func TestStuckSandboxesNeedsRepeatsOverTimeOnAPodStillPending(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 21, 29, 47, 0, time.UTC)
	cases := []struct {
		about  string
		phase  corev1.PodPhase
		count  int32
		span   time.Duration
		series *corev1.EventSeries
		stuck  bool
	}{
		{about: "four failures over 40s on a pending pod", phase: corev1.PodPending, count: 4, span: 40 * time.Second, stuck: true},
		{about: "one failure: the plugin was not ready yet", phase: corev1.PodPending, count: 1, stuck: false},
		{about: "many failures within seconds: too soon to call", phase: corev1.PodPending, count: 6, span: 5 * time.Second, stuck: false},
		{about: "the pod got its sandbox after all", phase: corev1.PodRunning, count: 9, span: time.Minute, stuck: false},
		{about: "a series event counts its series", phase: corev1.PodPending, count: 1, span: 0,
			series: &corev1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(t0.Add(45 * time.Second))}, stuck: true},
	}
	for _, c := range cases {
		e := podEvent("p", ReasonFailedCreatePodSandBox, noZtunnel, t0, t0.Add(c.span), c.count)
		e.Series = c.series
		got := StuckSandboxes([]corev1.Pod{pendingPod("p", c.phase)}, []corev1.Event{e})
		if (len(got) > 0) != c.stuck {
			t.Errorf("%s: stuck = %+v, want %v", c.about, got, c.stuck)
		}
	}
}

func TestEventHintNamesOnlyPodsThatAreNotReady(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 21, 30, 0, 0, time.UTC)
	ready := pendingPod("ready-1", corev1.PodRunning)
	ready.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	pods := []corev1.Pod{ready, pendingPod("api-1", corev1.PodRunning)}
	events := []corev1.Event{
		podEvent("ready-1", ReasonUnhealthy, "Readiness probe failed: old", t0, t0, 1),
		podEvent("api-1", ReasonUnhealthy, "Readiness probe failed: connection refused", t0, t0.Add(30*time.Second), 10),
	}
	got := EventHint(pods, events)
	if !strings.Contains(got, "api-1: Unhealthy ×10 in 30s: Readiness probe failed: connection refused") || strings.Contains(got, "ready-1") {
		t.Errorf("hint = %q", got)
	}
	if h := EventHint([]corev1.Pod{ready}, events); h != "" {
		t.Errorf("hint for ready pods = %q", h)
	}
}
