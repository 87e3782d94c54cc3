package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// The kubelet's events about a pod that cannot start or is not ready
// (kubernetes pkg/kubelet/events/event.go@v1.34.4: FailedCreatePodSandBox,
// reported by pkg/kubelet/kuberuntime/kuberuntime_manager.go as "Failed to
// create pod sandbox: <the runtime's error>", retried at each pod sync;
// Unhealthy, reported by pkg/kubelet/prober/prober.go as "Readiness probe
// failed: <output>"). The event recorder folds repeats into one event with
// a count, and after many says "(combined from similar events): <message>".
const (
	ReasonFailedCreatePodSandBox = "FailedCreatePodSandBox"
	ReasonUnhealthy              = "Unhealthy"
	combinedPrefix               = "(combined from similar events): "
)

// PodTrouble is what a pod's Warning events of one reason say: how often,
// over what span, and the last message.
type PodTrouble struct {
	Pod         string
	Reason      string
	Count       int32
	First, Last time.Time
	Message     string
}

// Span is the time from the first to the last occurrence.
func (t PodTrouble) Span() time.Duration { return t.Last.Sub(t.First) }

// String is one line for a status: "api-1: FailedCreatePodSandBox ×7 in
// 1m30s: Failed to create pod sandbox: …".
func (t PodTrouble) String() string {
	return fmt.Sprintf("%s: %s ×%d in %s: %s", t.Pod, t.Reason, t.Count, t.Span().Round(time.Second), t.Message)
}

// PodTroubles sums the pods' Warning events of the given reasons, per pod
// and reason, sorted by pod.
func PodTroubles(events []corev1.Event, reasons ...string) []PodTrouble {
	want := map[string]bool{}
	for _, r := range reasons {
		want[r] = true
	}
	by := map[[2]string]*PodTrouble{}
	for _, e := range events {
		if e.InvolvedObject.Kind != "Pod" || e.Type != corev1.EventTypeWarning || !want[e.Reason] {
			continue
		}
		first, last := e.FirstTimestamp.Time, eventTime(e)
		if e.Series != nil && !e.Series.LastObservedTime.IsZero() {
			last = e.Series.LastObservedTime.Time
		}
		if first.IsZero() {
			first = last
		}
		count := max(e.Count, 1)
		if e.Series != nil && e.Series.Count > count {
			count = e.Series.Count
		}
		k := [2]string{e.InvolvedObject.Name, e.Reason}
		t, ok := by[k]
		if !ok {
			t = &PodTrouble{Pod: k[0], Reason: k[1], First: first, Last: last}
			by[k] = t
		}
		t.Count += count
		if first.Before(t.First) {
			t.First = first
		}
		if !last.Before(t.Last) {
			t.Last, t.Message = last, strings.TrimPrefix(e.Message, combinedPrefix)
		}
	}
	out := make([]PodTrouble, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pod != out[j].Pod {
			return out[i].Pod < out[j].Pod
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// SandboxStuck is when a pod that cannot get its sandbox counts as unable
// to start, not slow: the kubelet failed to create it this many times over
// at least this long. A network plugin that refuses a pod (istio-cni with
// no ztunnel on the node: "no ztunnel connection") does so on every retry,
// about every 12 s; a transient failure clears within a retry or two.
var SandboxStuck = struct {
	Count int32
	Span  time.Duration
}{Count: 4, Span: 30 * time.Second}

// StuckSandboxes returns, for pods that have not started, the sandbox
// failures that count as stuck (SandboxStuck).
func StuckSandboxes(pods []corev1.Pod, events []corev1.Event) []PodTrouble {
	waiting := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodPending {
			waiting[p.Name] = true
		}
	}
	var out []PodTrouble
	for _, t := range PodTroubles(events, ReasonFailedCreatePodSandBox) {
		if waiting[t.Pod] && t.Count >= SandboxStuck.Count && t.Span() >= SandboxStuck.Span {
			out = append(out, t)
		}
	}
	return out
}

// EventHint names, for pods not ready, the last sandbox failure or failed
// readiness probe, as " (pod: Reason ×n in d: message; …)", or "".
func EventHint(pods []corev1.Pod, events []corev1.Event) string {
	notReady := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil && !PodReady(p) {
			notReady[p.Name] = true
		}
	}
	var hints []string
	for _, t := range PodTroubles(events, ReasonFailedCreatePodSandBox, ReasonUnhealthy) {
		if notReady[t.Pod] {
			hints = append(hints, t.String())
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}

// PodTroublesOf reads a pod's Warning events of the given reasons.
func (k *Kube) PodTroublesOf(ctx context.Context, namespace, pod string, reasons ...string) ([]PodTrouble, error) {
	var l corev1.EventList
	sel := "involvedObject.kind=Pod,involvedObject.name=" + pod
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithFieldSelector(sel)); err != nil {
		return nil, fmt.Errorf("events of pod %s/%s: %w", namespace, pod, err)
	}
	return PodTroubles(l.Items, reasons...), nil
}

// ReadyEndpoint says whether a Service's EndpointSlices list the address
// as a ready endpoint.
func (k *Kube) ReadyEndpoint(ctx context.Context, namespace, service, address string) (bool, error) {
	sls, err := k.EndpointSlices(ctx, namespace, service)
	if err != nil {
		return false, err
	}
	for _, sl := range sls {
		for _, ep := range sl.Endpoints {
			if slices.Contains(ep.Addresses, address) {
				return EndpointReady(ep), nil
			}
		}
	}
	return false, nil
}

// EndpointSlices lists the EndpointSlices of a Service.
func (k *Kube) EndpointSlices(ctx context.Context, namespace, service string) ([]discoveryv1.EndpointSlice, error) {
	var l discoveryv1.EndpointSliceList
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithLabelSelector(discoveryv1.LabelServiceName+"="+service)); err != nil {
		return nil, fmt.Errorf("EndpointSlices of Service %s/%s: %w", namespace, service, err)
	}
	return l.Items, nil
}

// EndpointReady reads an endpoint's conditions.ready as discovery.k8s.io/v1
// defines it: nil means ready.
func EndpointReady(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}
