package doctor

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// The questions of the steps: 0 is Kubernetes itself, 1–6 the seed's.
const (
	CheckKubernetes = "Does the API server answer and the namespace exist?"
	CheckLabelled   = "Is the namespace labelled?"
	CheckIdentity   = "Are pods getting identity?"
	CheckZtunnel    = "Is ztunnel intercepting traffic?"
	CheckWaypoint   = "Is the waypoint running?"
	CheckPolicies   = "Are policies blocking traffic?"
	CheckCNI        = "Is the CNI working?"
)

// maxNames bounds the names listed in one evidence line.
const maxNames = 8

// Judge turns a Snapshot into the seven steps of the debug flow. It reads
// nothing but the Snapshot.
func Judge(s Snapshot) Report {
	v := newView(s)
	return Report{
		Namespace:     v.o.Namespace,
		MeshNamespace: v.o.MeshNamespace,
		Server:        s.Server,
		Steps: []Step{
			v.kubernetes(), v.labelled(), v.identity(), v.intercepting(), v.waypoint(), v.policies(), v.cniReady(),
		},
	}
}

// GatherFailed is the report of a Gather that failed: step 0 fails with
// its error, and nothing else could be checked.
func GatherFailed(opts Options, err error) Report {
	o, _ := opts.WithDefaults()
	r := Report{Namespace: o.Namespace, MeshNamespace: o.MeshNamespace}
	r.Steps = append(r.Steps, Step{
		Number: 0, Check: CheckKubernetes, State: Fail, Evidence: []string{err.Error()},
		Next: []string{"kubectl version; kubectl get namespace " + o.Namespace},
	})
	for i, c := range []string{CheckLabelled, CheckIdentity, CheckZtunnel, CheckWaypoint, CheckPolicies, CheckCNI} {
		r.Steps = append(r.Steps, Step{Number: i + 1, Check: c, State: NotApplicable,
			Evidence: []string{"not checked: the cluster could not be read (step 0)"}})
	}
	return r
}

// view is a Snapshot with what several steps derive from it.
type view struct {
	s Snapshot
	o Options
	// meant are the pods istio-cni must capture; ignored the others, by reason.
	meant   []*corev1.Pod
	ignored map[string][]string
	// nodes host the meant pods, sorted.
	nodes []string
}

func newView(s Snapshot) *view {
	o := s.Options
	if o.MeshNamespace == "" {
		o.MeshNamespace = DefaultMeshNamespace
	}
	if o.TrustDomain == "" {
		o.TrustDomain = evidence.DefaultTrustDomain
	}
	if o.Namespace == "" && s.Namespace != nil {
		o.Namespace = s.Namespace.Name
	}
	v := &view{s: s, o: o, ignored: map[string][]string{}}
	nodes := map[string]bool{}
	for i := range s.Pods {
		p := &s.Pods[i]
		ok, why := meantForMesh(p, s.Namespace)
		if !ok {
			v.ignored[why] = append(v.ignored[why], p.Name)
			continue
		}
		v.meant = append(v.meant, p)
		nodes[p.Spec.NodeName] = true
	}
	sort.Slice(v.meant, func(i, j int) bool { return v.meant[i].Name < v.meant[j].Name })
	for n := range nodes {
		v.nodes = append(v.nodes, n)
	}
	sort.Strings(v.nodes)
	return v
}

// podsUnknown is the evidence of a step that needs the pods when they
// could not be listed.
func (v *view) podsUnknown(n int, check string) (Step, bool) {
	if v.s.PodsErr == "" {
		return Step{}, false
	}
	return Step{Number: n, Check: check, State: NotApplicable,
		Evidence: []string{"not checked: the pods of " + v.o.Namespace + " could not be listed (step 0)"}}, true
}

// --- step 0 ---------------------------------------------------------------

func (v *view) kubernetes() Step {
	st := Step{Number: 0, Check: CheckKubernetes, State: Pass}
	if v.s.ServerVersion == "" {
		st.State = Fail
		st.Evidence = append(st.Evidence, "no answer of the API server recorded (GET /version)")
		st.Next = append(st.Next, "kubectl version")
	} else {
		st.Evidence = append(st.Evidence, fmt.Sprintf("API server %s answered: Kubernetes %s", v.s.Server, v.s.ServerVersion))
	}
	switch {
	case v.s.Namespace != nil:
		st.Evidence = append(st.Evidence, "namespace "+v.o.Namespace+" exists")
	case v.s.NamespaceErr != "":
		st.Evidence = append(st.Evidence, v.s.NamespaceErr+" (its pods are read anyway)")
	}
	if v.s.PodsErr != "" {
		st.State = Fail
		st.Evidence = append(st.Evidence, v.s.PodsErr)
		st.Next = append(st.Next, "kubectl auth can-i list pods -n "+v.o.Namespace)
	} else {
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s listed in %s", count(len(v.s.Pods), "pod"), v.o.Namespace))
	}
	return st
}

// --- step 1 ---------------------------------------------------------------

func (v *view) labelled() Step {
	st := Step{Number: 1, Check: CheckLabelled}
	ns := v.o.Namespace
	label := ambient.DataplaneModeLabel + "=" + ambient.DataplaneModeAmbient
	var podLabelled, optedOut []string
	for i := range v.s.Pods {
		p := &v.s.Pods[i]
		switch p.Labels[ambient.DataplaneModeLabel] {
		case ambient.DataplaneModeAmbient:
			podLabelled = append(podLabelled, p.Name)
		case ambient.DataplaneModeNone:
			if !hasKey(p.Labels, waypoint.GatewayNameLabel) {
				optedOut = append(optedOut, p.Name)
			}
		}
	}
	fix := "kubectl label namespace " + ns + " " + label
	var nsState string
	if v.s.Namespace == nil {
		nsState = fmt.Sprintf("the labels of namespace %s could not be read: %s", ns, v.s.NamespaceErr)
	} else {
		val, ok := v.s.Namespace.Labels[ambient.DataplaneModeLabel]
		switch {
		case ok && val == ambient.DataplaneModeAmbient:
			st.State = Pass
			st.Evidence = append(st.Evidence, fmt.Sprintf("namespace %s has %s", ns, label))
		case ok:
			nsState = fmt.Sprintf("namespace %s has %s=%q, not %q", ns, ambient.DataplaneModeLabel, val, ambient.DataplaneModeAmbient)
		default:
			nsState = fmt.Sprintf("namespace %s has no %s label", ns, ambient.DataplaneModeLabel)
		}
	}
	if st.State == "" {
		if len(podLabelled) == 0 {
			st.State = Fail
			st.Evidence = append(st.Evidence, nsState, "no pod of "+ns+" carries "+label+" either")
			st.Next = append(st.Next, fix)
			return st
		}
		st.State = Pass
		st.Evidence = append(st.Evidence, nsState,
			fmt.Sprintf("%d/%d pods carry %s themselves: %s", len(podLabelled), len(v.s.Pods), label, names(podLabelled)))
	}
	if len(optedOut) > 0 {
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s opted out with %s=%s: %s",
			count(len(optedOut), "pod"), ambient.DataplaneModeLabel, ambient.DataplaneModeNone, names(optedOut)))
	}
	// istio-cni never captures pods of its excluded namespaces, kube-system
	// by default (istio/istio:manifests/charts/istio-cni/values.yaml@master excludeNamespaces).
	if ns == "kube-system" {
		st.State = Fail
		st.Evidence = append(st.Evidence, "istio-cni excludes kube-system by default (cni.excludeNamespaces): its pods are never captured")
		st.Next = append(st.Next, "run application workloads in their own namespace")
	}
	return st
}

// --- step 2 ---------------------------------------------------------------

func (v *view) identity() Step {
	if st, ok := v.podsUnknown(2, CheckIdentity); ok {
		return st
	}
	st := Step{Number: 2, Check: CheckIdentity, State: Pass}
	ns, mns := v.o.Namespace, v.o.MeshNamespace
	if len(v.s.Pods) == 0 {
		st.State = NotApplicable
		st.Evidence = append(st.Evidence, "no pods in "+ns)
		return st
	}
	if len(v.meant) == 0 {
		st.State = NotApplicable
		st.Evidence = append(st.Evidence, "no pod of "+ns+" is meant to be in the mesh (step 1)")
		st.Evidence = append(st.Evidence, v.ignoredLines()...)
		return st
	}
	annotation := ambient.RedirectionAnnotation + "=" + ambient.RedirectionEnabled
	var enabled []string
	var problems []string
	nextCNI := false
	for _, p := range v.meant {
		node := p.Spec.NodeName
		switch ambient.Redirection(p) {
		case ambient.RedirectionEnabled:
			enabled = append(enabled, p.Name)
		case ambient.RedirectionPending:
			problems = append(problems, fmt.Sprintf("%s on %s is %s=%s: rules in place, no ztunnel accepted the pod (%s)",
				p.Name, node, ambient.RedirectionAnnotation, ambient.RedirectionPending, v.ztunnelOn(node)))
			if zp, err := evidence.ZtunnelFor(v.s.Ztunnel.Pods, node); err == nil {
				st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s logs %s --tail=50 (the ztunnel on %s; step 3)", mns, zp.Name, node))
			} else {
				st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s get pods -l %s -o wide (no ztunnel for %s; step 3)", mns, ztunnelPodSelector, node))
			}
		default:
			if r := ambient.Redirection(p); r != "" {
				problems = append(problems, fmt.Sprintf("%s on %s has %s=%q, which Istio does not write", p.Name, node, ambient.RedirectionAnnotation, r))
			} else {
				problems = append(problems, fmt.Sprintf("%s on %s has no %s annotation (%s)", p.Name, node, ambient.RedirectionAnnotation, v.cniOn(node)))
			}
			if cp := podOnNode(v.s.CNI.Pods, node); cp != nil {
				st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s logs %s --tail=50 (istio-cni on %s enrolls its pods; step 6)", mns, cp.Name, node))
			} else {
				nextCNI = true
			}
		}
	}
	st.Evidence = append(st.Evidence, fmt.Sprintf("%d/%d pods have %s", len(enabled), len(v.meant), annotation))
	if len(problems) > 0 {
		st.State = Fail
		st.Evidence = append(st.Evidence, capped(problems)...)
	}
	if nextCNI {
		if v.s.CNI.Object == nil && len(v.s.CNI.Pods) == 0 {
			st.Evidence = append(st.Evidence, fmt.Sprintf("no %s DaemonSet or pods in %s: istio-cni writes this annotation (is the mesh installed?)", mesh.CNI, mns))
		}
		st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s get pods -l %s -o wide (istio-cni enrolls the pods; step 6)", mns, cniPodSelector))
	}
	// istiod issues the workload certificates the identities are carried in.
	if line, ok := v.istiodLine(); !ok {
		st.State = Fail
		st.Evidence = append(st.Evidence, line)
		st.Next = append(st.Next, fmt.Sprintf("kubectl -n %s get deployments -l %s; kubectl -n %s logs -l %s --tail=50", mns, istiodSelector, mns, istiodSelector))
	} else {
		st.Evidence = append(st.Evidence, line)
	}
	st.Evidence = append(st.Evidence, v.identityLines()...)
	st.Evidence = append(st.Evidence, v.ignoredLines()...)
	return st
}

// istiodLine describes istiod; ok is false when no istiod replica is ready.
func (v *view) istiodLine() (string, bool) {
	mns := v.o.MeshNamespace
	if v.s.IstiodErr != "" {
		return v.s.IstiodErr, false
	}
	if len(v.s.Istiod) == 0 {
		return fmt.Sprintf("no istiod Deployment (%s) in %s: nothing issues the pods' certificates (is the mesh installed?)", istiodSelector, mns), false
	}
	var parts []string
	ready := false
	for _, d := range v.s.Istiod {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d ready", d.Name, d.Status.ReadyReplicas, want))
		if d.Status.ReadyReplicas > 0 {
			ready = true
		}
	}
	if !ready {
		return "istiod is not ready (" + strings.Join(parts, ", ") + "): no certificates are issued", false
	}
	return "istiod issues the certificates: " + strings.Join(parts, ", "), true
}

// identityLines lists the SPIFFE identities the meant pods carry.
func (v *view) identityLines() []string {
	bySA := map[string][]string{}
	for _, p := range v.meant {
		sa := p.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		bySA[sa] = append(bySA[sa], p.Name)
	}
	sas := make([]string, 0, len(bySA))
	for sa := range bySA {
		sas = append(sas, sa)
	}
	sort.Strings(sas)
	var out []string
	for _, sa := range sas {
		out = append(out, fmt.Sprintf("identity %s: %s", evidence.SPIFFE(v.o.TrustDomain, v.o.Namespace, sa), names(bySA[sa])))
	}
	return capped(out)
}

func (v *view) ignoredLines() []string {
	reasons := make([]string, 0, len(v.ignored))
	for r := range v.ignored {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var out []string
	for _, r := range reasons {
		out = append(out, fmt.Sprintf("not judged, %s: %s", r, names(v.ignored[r])))
	}
	return out
}

// ztunnelOn and cniOn describe the mesh pod on a node, for hints.
func (v *view) ztunnelOn(node string) string {
	p, err := evidence.ZtunnelFor(v.s.Ztunnel.Pods, node)
	if err != nil {
		return err.Error()
	}
	if !kube.PodReady(p) {
		return "ztunnel pod " + p.Name + " on " + node + " is not ready"
	}
	return "ztunnel pod " + p.Name + " on " + node + " is ready"
}

func (v *view) cniOn(node string) string {
	if len(v.s.CNI.Pods) == 0 {
		return "no " + mesh.CNI + " pods: is the mesh installed?"
	}
	p := podOnNode(v.s.CNI.Pods, node)
	switch {
	case p == nil:
		return "no " + mesh.CNI + " pod on node " + node
	case !kube.PodReady(*p):
		return mesh.CNI + " pod " + p.Name + " on " + node + " is not ready"
	}
	return mesh.CNI + " pod " + p.Name + " on " + node + " is ready"
}

// podOnNode picks the DaemonSet pod serving node: not being deleted, a
// ready one first.
func podOnNode(pods []corev1.Pod, node string) *corev1.Pod {
	var found *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName != node || p.DeletionTimestamp != nil {
			continue
		}
		if found == nil || (!kube.PodReady(*found) && kube.PodReady(*p)) {
			found = p
		}
	}
	return found
}

// --- helpers --------------------------------------------------------------

// names joins a list, at most maxNames of it.
func names(list []string) string {
	sorted := append([]string(nil), list...)
	sort.Strings(sorted)
	if len(sorted) <= maxNames {
		return strings.Join(sorted, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(sorted[:maxNames], ", "), len(sorted)-maxNames)
}

// capped keeps at most maxNames lines and says how many were left out.
func capped(lines []string) []string {
	if len(lines) <= maxNames {
		return lines
	}
	return append(lines[:maxNames:maxNames], fmt.Sprintf("… and %d more like these", len(lines)-maxNames))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
