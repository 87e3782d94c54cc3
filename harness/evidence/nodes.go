package evidence

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"

	corev1 "k8s.io/api/core/v1"
)

// ZtunnelFor picks, from the ztunnel DaemonSet's pods, the one serving
// nodeName: scheduled there, Running and not being deleted. ztunnel writes
// a connection's outbound line on the client's node and its inbound line on
// the server's node, so each side must be read from its own node's pod
// ("kubectl logs ds/ztunnel" picks an arbitrary one). When a rollout leaves
// two such pods on the node, a Ready one is preferred, then the newest.
func ZtunnelFor(ztunnelPods []corev1.Pod, nodeName string) (corev1.Pod, error) {
	if len(ztunnelPods) == 0 {
		return corev1.Pod{}, errors.New("no ztunnel pods: is the mesh installed?")
	}
	if nodeName == "" {
		return corev1.Pod{}, errors.New("no node name given: is the workload pod scheduled yet?")
	}
	var candidates []corev1.Pod
	for _, p := range ztunnelPods {
		if p.Spec.NodeName == nodeName && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		seen := make([]string, 0, len(ztunnelPods))
		for _, p := range ztunnelPods {
			seen = append(seen, describeZtunnel(p))
		}
		return corev1.Pod{}, fmt.Errorf("no ztunnel pod on node %s (ztunnel pods: %s)", nodeName, strings.Join(seen, ", "))
	}
	slices.SortStableFunc(candidates, func(a, b corev1.Pod) int {
		if ra, rb := kube.PodReady(a), kube.PodReady(b); ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return candidates[0], nil
}

// describeZtunnel renders "name on node", plus the reason it was not picked.
func describeZtunnel(p corev1.Pod) string {
	node := p.Spec.NodeName
	if node == "" {
		node = "<unscheduled>"
	}
	s := p.Name + " on " + node
	switch {
	case p.DeletionTimestamp != nil:
		s += " (terminating)"
	case p.Status.Phase == "":
		s += " (phase unknown)"
	case p.Status.Phase != corev1.PodRunning:
		s += " (" + string(p.Status.Phase) + ")"
	}
	return s
}
