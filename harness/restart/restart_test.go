package restart

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

var t0 = time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)

// A stream of 20 samples a second for 10 s; the rollout runs from 3 s to
// 6 s into it.
func stream(failures ...wire.SampleFailure) (wire.RoundTrips, Rollout) {
	rt := wire.RoundTrips{QPS: 20, Attempts: 200, Errors: len(failures), Failures: failures, StartedUnixMicros: t0.UnixMicro()}
	return rt, Rollout{Started: t0.Add(3 * time.Second), Finished: t0.Add(6 * time.Second)}
}

func TestStreamSplitsSamplesByTheRolloutsWindow(t *testing.T) {
	rt, r := stream(
		wire.SampleFailure{Index: 70, AtMicros: 3_500_000, Class: wire.ClassReset},
		wire.SampleFailure{Index: 71, AtMicros: 3_550_000, Class: wire.ClassReset},
		wire.SampleFailure{Index: 100, AtMicros: 5_000_000, Class: wire.ClassRefused},
		wire.SampleFailure{Index: 150, AtMicros: 7_500_000, Class: wire.ClassTimeout},
	)
	n, err := Stream(rt, r)
	if err != nil {
		t.Fatal(err)
	}
	// Due at i × 50 ms: 0..59 before 3 s, 60..120 within [3 s, 6 s], the rest after.
	if n.AttemptsBefore != 60 || n.Attempts != 61 || n.AttemptsAfter != 79 {
		t.Errorf("attempts before/during/after %d/%d/%d, want 60/61/79", n.AttemptsBefore, n.Attempts, n.AttemptsAfter)
	}
	if n.FailedBefore != 0 || n.Failed != 3 || n.FailedAfter != 1 {
		t.Errorf("failed before/during/after %d/%d/%d, want 0/3/1", n.FailedBefore, n.Failed, n.FailedAfter)
	}
	if n.FirstFailure != 500*time.Millisecond || n.LastFailure != 4500*time.Millisecond {
		t.Errorf("failures from %s to %s, want +500ms to +4.5s", n.FirstFailure, n.LastFailure)
	}
	s := n.String()
	for _, want := range []string{"3 of 61 new connections failed during the rollout (4.92%)", "from +500ms to +4.5s", "refused 1, reset 2, timeout 1", "0 of 60 failed before it, 1 of 79 after it"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q does not say %q", s, want)
		}
	}
}

func TestStreamRefusesWhatCannotBeSplit(t *testing.T) {
	rt, r := stream()
	late := rt
	late.StartedUnixMicros = r.Started.Add(time.Second).UnixMicro()
	unpaced := rt
	unpaced.QPS = 0
	lost := rt
	lost.Errors = 3 // more failures than it kept
	for name, bad := range map[string]wire.RoundTrips{"started after the rollout": late, "not paced": unpaced, "failures not all kept": lost} {
		if _, err := Stream(bad, r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	n, err := Stream(rt, r)
	if err != nil || n.Failed != 0 || !strings.Contains(n.String(), "0 of 61 new connections failed") {
		t.Errorf("a clean stream: %v, %s", err, n)
	}
}

func TestFateOfAHeldConnection(t *testing.T) {
	_, r := stream()
	broke := Fate("client → server", wire.HoldResult{Connected: true, Broken: true, Pings: 40, EndedUnixMicros: t0.Add(4200 * time.Millisecond).UnixMicro(),
		ErrorClass: wire.ClassReset, Error: "connection reset by peer"}, r)
	if broke.Survived || broke.Closed != 1200*time.Millisecond || !strings.Contains(broke.String(), "closed +1.2s after the restart began (reset") {
		t.Errorf("a broken connection: %+v %s", broke, broke)
	}
	kept := Fate("client → server", wire.HoldResult{Connected: true, Pings: 90, EndedUnixMicros: t0.Add(9 * time.Second).UnixMicro()}, r)
	if !kept.Survived || !strings.Contains(kept.String(), "survived (90 pings)") {
		t.Errorf("a connection that lasted: %+v %s", kept, kept)
	}
	if never := Fate("x", wire.HoldResult{}, r); never.Survived {
		t.Error("a connection never established survived")
	}
}

func TestRolledOutWaitsForEveryOldPodToGoAndEveryNewOneToBeReady(t *testing.T) {
	ready := func(name string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	ds := func(observed int64, desired, updated, available int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
			UpdatedNumberScheduled: updated, NumberAvailable: available}}
	}
	old := []string{"zt-a", "zt-b"}
	for _, tt := range []struct {
		name string
		ds   *appsv1.DaemonSet
		pods []corev1.Pod
		done bool
	}{
		{"change not yet observed", ds(1, 2, 2, 2), []corev1.Pod{ready("zt-a"), ready("zt-b")}, false},
		{"one node updated, an old pod left (surge)", ds(2, 2, 1, 2), []corev1.Pod{ready("zt-a"), ready("zt-c"), ready("zt-b")}, false},
		{"status says done but an old pod still terminating", ds(2, 2, 2, 2), []corev1.Pod{ready("zt-a"), ready("zt-c"), ready("zt-d")}, false},
		{"a new pod not ready", ds(2, 2, 2, 2), []corev1.Pod{ready("zt-c"), {ObjectMeta: metav1.ObjectMeta{Name: "zt-d"}}}, false},
		{"rolled out", ds(2, 2, 2, 2), []corev1.Pod{ready("zt-c"), ready("zt-d")}, true},
	} {
		done, status := rolledOut(tt.ds, 2, old, tt.pods)
		if done != tt.done {
			t.Errorf("%s: done %v (%s), want %v", tt.name, done, status, tt.done)
		}
	}
}
