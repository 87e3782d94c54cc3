package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/ztunnel"
)

// --- step 3 ---------------------------------------------------------------

func (v *view) intercepting() Step {
	st := Step{Number: 3, Check: CheckZtunnel, State: Pass}
	ns, mns := v.o.Namespace, v.o.MeshNamespace
	zt := v.s.Ztunnel
	listPods := fmt.Sprintf("kubectl -n %s get pods -l %s -o wide", mns, ztunnelPodSelector)
	if line, ok := v.daemonSetLine(zt); !ok {
		st.State = Fail
		st.Evidence = append(st.Evidence, line)
		st.Next = append(st.Next, listPods)
		return st
	} else if line != "" {
		st.Evidence = append(st.Evidence, line)
	}
	if s, ok := v.podsUnknown(3, CheckZtunnel); ok {
		return s
	}
	if len(v.meant) == 0 {
		st.State = NotApplicable
		st.Evidence = append(st.Evidence, "no pod of "+ns+" is meant to be in the mesh: nothing for ztunnel to intercept (step 1)")
		return st
	}
	for _, node := range v.nodes {
		var enrolled []string
		for _, p := range v.meant {
			if p.Spec.NodeName == node && ambient.Enrolled(p) {
				enrolled = append(enrolled, p.Name)
			}
		}
		zp, err := evidence.ZtunnelFor(zt.Pods, node)
		if err != nil {
			st.State = Fail
			st.Evidence = append(st.Evidence, err.Error())
			st.Next = appendOnce(st.Next, listPods)
			continue
		}
		if !kube.PodReady(zp) {
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("ztunnel pod %s on %s is not ready (%s)", zp.Name, node, zp.Status.Phase))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s describe pod %s", mns, zp.Name))
			continue
		}
		sc, ok := v.s.ZtunnelMetrics[node]
		switch {
		case !ok:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("the metrics of ztunnel pod %s on %s were not read", zp.Name, node))
		case sc.Err != "":
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("the metrics of ztunnel pod %s on %s could not be read: %s", zp.Name, node, sc.Err))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl get --raw /api/v1/namespaces/%s/pods/%s:%d/proxy%s", mns, zp.Name, ztunnel.MetricsPort, ztunnel.MetricsPath))
		case sc.ActiveProxies == nil:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("ztunnel pod %s on %s reports no %s: is it a ztunnel in in-pod mode?", zp.Name, node, MetricActiveProxies))
		case *sc.ActiveProxies < float64(len(enrolled)):
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("%s: ztunnel %s proxies %g pods (%s), fewer than the %s of %s enrolled there: %s",
				node, zp.Name, *sc.ActiveProxies, MetricActiveProxies, count(len(enrolled), "pod"), ns, names(enrolled)))
			st.Next = appendOnce(st.Next, fmt.Sprintf("istioctl ztunnel-config workload %s.%s --workload-namespace %s (enrolled pods show PROTOCOL HBONE)", zp.Name, mns, ns))
		default:
			line := fmt.Sprintf("%s: ztunnel %s ready, %s=%g covers the %s of %s enrolled there", node, zp.Name, MetricActiveProxies, *sc.ActiveProxies, count(len(enrolled), "pod"), ns)
			if len(enrolled) > 0 {
				line += ": " + names(enrolled)
			} else {
				line += " (step 2)"
			}
			st.Evidence = append(st.Evidence, line)
		}
		if ok && sc.PendingProxies != nil && *sc.PendingProxies > 0 {
			st.Evidence = append(st.Evidence, fmt.Sprintf("%s: ztunnel %s has %g pods waiting to be proxied (%s)", node, zp.Name, *sc.PendingProxies, MetricPendingProxies))
		}
		if ok && sc.Err == "" {
			st.Evidence = append(st.Evidence, trafficLine(node, ns, sc.Opened))
		}
	}
	return st
}

// trafficLine summarizes the namespace's TCP connections a ztunnel
// counted, by reporter and security policy. None is not a failure.
func trafficLine(node, ns string, opened []evidence.Series) string {
	by := map[string]float64{}
	var total float64
	for _, s := range opened {
		k := s.Labels[evidence.LabelReporter] + "/" + s.Labels[evidence.LabelConnectionSecurityPolicy]
		by[k] += s.Value
		total += s.Value
	}
	if total == 0 {
		return fmt.Sprintf("%s: no connection of %s counted in %s yet (not a failure: no traffic?)", node, ns, evidence.MetricTCPOpened)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %g", k, by[k]))
	}
	return fmt.Sprintf("%s: %g connections of %s in %s (reporter/connection_security_policy: %s)", node, total, ns, evidence.MetricTCPOpened, strings.Join(parts, ", "))
}

// daemonSetLine describes a mesh DaemonSet as a whole; ok is false when it
// is missing, has no pods, or could not be read.
func (v *view) daemonSetLine(d DaemonSet) (string, bool) {
	mns := v.o.MeshNamespace
	switch {
	case d.Err != "":
		return d.Err, false
	case d.PodsErr != "":
		return d.PodsErr, false
	case d.Object == nil && len(d.Pods) == 0:
		what := d.Name
		if what == mesh.Ztunnel {
			// evidence.ZtunnelFor's words for the same fact.
			_, err := evidence.ZtunnelFor(nil, "")
			return fmt.Sprintf("%s (no DaemonSet %s/%s)", err, mns, d.Name), false
		}
		return fmt.Sprintf("no %s pods: is the mesh installed? (no DaemonSet %s/%s)", what, mns, d.Name), false
	case len(d.Pods) == 0:
		return fmt.Sprintf("no %s pods: DaemonSet %s/%s has none (%d desired)", d.Name, mns, d.Name, d.Object.Status.DesiredNumberScheduled), false
	}
	if d.Object == nil {
		return fmt.Sprintf("no DaemonSet %s/%s, but %s pods", mns, d.Name, count(len(d.Pods), "pod")), true
	}
	if v.s.NodesErr == "" && len(v.s.Nodes) > 0 {
		return fmt.Sprintf("DaemonSet %s: %s", d.Name, mesh.Coverage(d.Object, v.s.Nodes, d.Pods)), true
	}
	return fmt.Sprintf("DaemonSet %s: %d/%d scheduled pods ready", d.Name, d.Object.Status.NumberReady, d.Object.Status.DesiredNumberScheduled), true
}

func appendOnce(list []string, s string) []string {
	for _, l := range list {
		if l == s {
			return list
		}
	}
	return append(list, s)
}

// --- step 6 ---------------------------------------------------------------

func (v *view) cniReady() Step {
	st := Step{Number: 6, Check: CheckCNI, State: Pass}
	mns := v.o.MeshNamespace
	listPods := fmt.Sprintf("kubectl -n %s get pods -l %s -o wide", mns, cniPodSelector)
	line, ok := v.daemonSetLine(v.s.CNI)
	if !ok {
		st.State = Fail
		st.Evidence = append(st.Evidence, line)
		st.Next = append(st.Next, listPods)
		return st
	}
	st.Evidence = append(st.Evidence, line)
	if s, unknown := v.podsUnknown(6, CheckCNI); unknown {
		return s
	}
	if len(v.nodes) == 0 {
		// Nothing of the namespace to enroll: judge the DaemonSet as a whole.
		if d := v.s.CNI.Object; d != nil && d.Status.NumberReady < d.Status.DesiredNumberScheduled {
			st.State = Fail
			st.Next = append(st.Next, listPods)
		}
		return st
	}
	var readyOn []string
	for _, node := range v.nodes {
		p := podOnNode(v.s.CNI.Pods, node)
		switch {
		case p == nil:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("no %s pod on node %s, which hosts pods of %s", mesh.CNI, node, v.o.Namespace))
			st.Next = appendOnce(st.Next, listPods)
		case !kube.PodReady(*p):
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("%s pod %s on %s is not ready (%s)", mesh.CNI, p.Name, node, p.Status.Phase))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s logs %s --tail=50", mns, p.Name))
		default:
			readyOn = append(readyOn, node)
		}
	}
	st.Evidence = append(st.Evidence, fmt.Sprintf("%s ready on %d/%d nodes hosting pods of %s meant for the mesh: %s",
		mesh.CNI, len(readyOn), len(v.nodes), v.o.Namespace, names(readyOn)))
	return st
}
