// Package ambient holds Istio ambient's enrollment vocabulary (labels and
// annotations from Istio's sources, docs/istio-facts.md §2) and the pure logic the specs
// judge pods with: who is enrolled, and whether anything restarted.
package ambient

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations of ambient enrollment (istio pkg/config/constants).
const (
	DataplaneModeLabel    = "istio.io/dataplane-mode" // on a Namespace or Pod
	DataplaneModeAmbient  = "ambient"
	DataplaneModeNone     = "none"                         // pod opt-out
	RedirectionAnnotation = "ambient.istio.io/redirection" // written by istio-cni only
	RedirectionEnabled    = "enabled"                      // rules in place and ztunnel accepted the netns
	RedirectionPending    = "pending"                      // 1.25+: rules in place, no ztunnel yet
)

// Redirection returns the pod's redirection annotation ("" when absent).
func Redirection(p *corev1.Pod) string { return p.Annotations[RedirectionAnnotation] }

// Enrolled reports whether istio-cni fully enrolled the pod.
func Enrolled(p *corev1.Pod) bool { return Redirection(p) == RedirectionEnabled }

// HostNetwork reports whether the pod runs in the node's network namespace.
// Such a pod has no network namespace of its own to redirect, so it is
// never enrolled and never annotated; enrollment checks must ignore it
// (istio/istio#61168 restored that filter in istio-cni's enablement
// selector, cni/pkg/util/enablement_selector.go@master: releases 1.27-1.31
// considered hostNetwork pods eligible).
func HostNetwork(p *corev1.Pod) bool { return p.Spec.HostNetwork }

// Capturable drops the pods istio-cni cannot enroll (hostNetwork ones).
func Capturable(pods []corev1.Pod) []corev1.Pod {
	out := make([]corev1.Pod, 0, len(pods))
	for i := range pods {
		if !HostNetwork(&pods[i]) {
			out = append(out, pods[i])
		}
	}
	return out
}

// OptedOut reports whether the pod carries istio.io/dataplane-mode=none.
func OptedOut(p *corev1.Pod) bool { return p.Labels[DataplaneModeLabel] == DataplaneModeNone }

// Enrollment splits pods into enrolled and not enrolled, by name.
func Enrollment(pods []corev1.Pod) (enrolled, not []string) {
	for i := range pods {
		p := &pods[i]
		if Enrolled(p) {
			enrolled = append(enrolled, p.Name)
		} else {
			s := p.Name
			if r := Redirection(p); r != "" {
				s += " (" + r + ")"
			}
			not = append(not, s)
		}
	}
	sort.Strings(enrolled)
	sort.Strings(not)
	return enrolled, not
}

// PodState is what must not change when a namespace is enrolled or rolled
// back: the pod object, its containers and their restart counts.
type PodState struct {
	UID          string
	ContainerIDs map[string]string // container name → container ID
	Restarts     map[string]int32
}

// Snapshot records the state of each pod, keyed by pod name.
func Snapshot(pods []corev1.Pod) map[string]PodState {
	out := make(map[string]PodState, len(pods))
	for _, p := range pods {
		st := PodState{UID: string(p.UID), ContainerIDs: map[string]string{}, Restarts: map[string]int32{}}
		for _, cs := range p.Status.ContainerStatuses {
			st.ContainerIDs[cs.Name] = cs.ContainerID
			st.Restarts[cs.Name] = cs.RestartCount
		}
		out[p.Name] = st
	}
	return out
}

// Restarted lists every difference between two snapshots that means a pod
// was replaced or a container restarted. Empty means nothing restarted.
func Restarted(before, after map[string]PodState) []string {
	var diffs []string
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("pod %s is gone (replaced?)", name))
			continue
		}
		if a.UID != b.UID {
			diffs = append(diffs, fmt.Sprintf("pod %s UID changed %s → %s", name, b.UID, a.UID))
		}
		for c, id := range b.ContainerIDs {
			if a.ContainerIDs[c] != id {
				diffs = append(diffs, fmt.Sprintf("pod %s container %s ID changed %s → %s", name, c, short(id), short(a.ContainerIDs[c])))
			}
			if a.Restarts[c] != b.Restarts[c] {
				diffs = append(diffs, fmt.Sprintf("pod %s container %s restarted (%d → %d)", name, c, b.Restarts[c], a.Restarts[c]))
			}
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("new pod %s appeared", name))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func short(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		id = id[i+3:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// CannotComplete says whether an enrollment cannot complete as things are:
// every pod of pods that is not enrolled is ambient.istio.io/redirection=
// pending (istio-cni wrote its rules and no ztunnel accepted it) and no
// ztunnel of ztunnels is ready on its node. istio-cni hands a pending pod
// to a ztunnel only once one connects (cni/pkg/nodeagent/
// meshdataplane_linux.go@release-1.31 AddPodToMesh retries), so waiting
// longer cannot help until a ztunnel is ready; with one ready, pending is a
// moment of a healthy mesh and not this. It returns why, naming the nodes.
func CannotComplete(pods, ztunnels []corev1.Pod) (string, bool) {
	ready := map[string]bool{}
	for _, z := range ztunnels {
		if z.DeletionTimestamp == nil && podReady(z) {
			ready[z.Spec.NodeName] = true
		}
	}
	var pending []string
	nodes := map[string]bool{}
	for i := range pods {
		p := &pods[i]
		if Enrolled(p) {
			continue
		}
		if Redirection(p) != RedirectionPending || ready[p.Spec.NodeName] {
			return "", false
		}
		pending = append(pending, p.Name)
		nodes[p.Spec.NodeName] = true
	}
	if len(pending) == 0 {
		return "", false
	}
	sort.Strings(pending)
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprintf("%s is %s=%s and no ztunnel is ready on %s: istio-cni cannot hand the pods to a ztunnel, so the enrollment cannot complete",
		strings.Join(pending, ", "), RedirectionAnnotation, RedirectionPending, strings.Join(names, ", ")), true
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
