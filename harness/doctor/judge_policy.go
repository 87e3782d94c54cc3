package doctor

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	securityv1beta1api "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// reasonUnsupported is the ZtunnelAccepted reason istiod writes when
// ztunnel cannot enforce (part of) a policy: HTTP attributes, the CUSTOM or
// AUDIT action, a dry-run policy
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master convertAuthorizationPolicy).
const reasonUnsupported = "UnsupportedValue"

// autoAllowWaypointEnv on istiod makes it allow each waypoint's identity
// itself (istio/istio:pilot/pkg/features/ambient.go@master DefaultAllowFromWaypoint, default false).
const autoAllowWaypointEnv = "PILOT_AUTO_ALLOW_WAYPOINT_POLICY"

// l7Next is the fix the seed's selector-bound L7 policies need.
const l7Next = "bind L7 rules to a waypoint with targetRefs (https://istio.io/latest/docs/ambient/usage/l7-features/)"

// --- step 5 ---------------------------------------------------------------

func (v *view) policies() Step {
	st := Step{Number: 5, Check: CheckPolicies, State: Pass}
	ns, root := v.o.Namespace, v.o.MeshNamespace
	for _, e := range v.s.PolicyErrs {
		st.State = Fail
		st.Evidence = append(st.Evidence, e)
	}
	if len(v.s.PolicyErrs) > 0 {
		st.Next = append(st.Next, "kubectl get crd authorizationpolicies.security.istio.io; kubectl auth can-i list authorizationpolicies -n "+ns)
	}
	aps := v.applicablePolicies()
	pas := v.applicablePeerAuthentications()
	if len(aps) == 0 && len(pas) == 0 && len(v.s.PolicyErrs) == 0 {
		st.Evidence = append(st.Evidence, fmt.Sprintf("no AuthorizationPolicy or PeerAuthentication applies to %s (none in %s, none mesh-wide in %s)", ns, ns, root))
		return st
	}
	for _, ap := range aps {
		st.Evidence = append(st.Evidence, v.describePolicy(ap))
		v.judgeStatus(ap, &st)
	}
	for _, pa := range pas {
		st.Evidence = append(st.Evidence, v.describePeerAuthentication(pa))
	}
	v.judgeWaypointIdentity(aps, &st)
	return st
}

// applicablePolicies are the namespace's AuthorizationPolicies and, from
// the root namespace, the mesh-wide ones, those selecting a pod of the
// namespace, and those bound to every waypoint (targetRefs GatewayClass).
func (v *view) applicablePolicies() []*securityv1.AuthorizationPolicy {
	ns, root := v.o.Namespace, v.o.MeshNamespace
	var out []*securityv1.AuthorizationPolicy
	for _, ap := range v.s.AuthorizationPolicies {
		switch {
		case ap.Namespace == ns:
		case ap.Namespace != root:
			continue
		case len(targetRefs(&ap.Spec)) > 0:
			if !refsKind(ap, "GatewayClass") {
				continue
			}
		case len(ap.Spec.GetSelector().GetMatchLabels()) > 0:
			if len(v.selected(ap.Spec.GetSelector().GetMatchLabels())) == 0 {
				continue
			}
		}
		out = append(out, ap)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].Namespace, out[i].Name) < key(out[j].Namespace, out[j].Name) })
	return out
}

func refsKind(ap *securityv1.AuthorizationPolicy, kind string) bool {
	for _, r := range targetRefs(&ap.Spec) {
		if r.GetKind() == kind {
			return true
		}
	}
	return false
}

func (v *view) applicablePeerAuthentications() []*securityv1.PeerAuthentication {
	ns, root := v.o.Namespace, v.o.MeshNamespace
	var out []*securityv1.PeerAuthentication
	for _, pa := range v.s.PeerAuthentications {
		sel := pa.Spec.GetSelector().GetMatchLabels()
		switch {
		case pa.Namespace == ns:
		case pa.Namespace != root:
			continue
		case len(sel) > 0 && len(v.selected(sel)) == 0:
			continue
		}
		out = append(out, pa)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].Namespace, out[i].Name) < key(out[j].Namespace, out[j].Name) })
	return out
}

// selected names the namespace's pods a selector matches.
func (v *view) selected(sel map[string]string) []string {
	s := labels.SelectorFromSet(sel)
	var out []string
	for i := range v.s.Pods {
		if s.Matches(labels.Set(v.s.Pods[i].Labels)) {
			out = append(out, v.s.Pods[i].Name)
		}
	}
	return out
}

func key(ns, name string) string { return ns + "/" + name }

// describePolicy is one evidence line: action, attachment, who enforces
// it, and the status istiod wrote.
func (v *view) describePolicy(ap *securityv1.AuthorizationPolicy) string {
	root := v.o.MeshNamespace
	action := ap.Spec.GetAction().String()
	if ap.Spec.GetAction() == securityv1beta1api.AuthorizationPolicy_CUSTOM {
		action += " (provider " + ap.Spec.GetProvider().GetName() + ")"
	}
	refs := targetRefs(&ap.Spec)
	sel := ap.Spec.GetSelector().GetMatchLabels()
	s := fmt.Sprintf("AuthorizationPolicy %s: %s, %s", key(ap.Namespace, ap.Name), action, attachment(ap.Namespace, sel, refs, root))
	switch {
	case len(refs) > 0:
		s += ", enforced by the waypoint"
	case len(sel) > 0:
		if pods := v.selected(sel); len(pods) > 0 {
			s += ", enforced by ztunnel on " + names(pods)
		} else {
			s += ", selects no pod of " + v.o.Namespace
		}
	default:
		s += ", enforced by ztunnel"
	}
	if ap.Annotations[dryRunAnnotation] == "true" {
		s += ", dry-run"
	}
	return s + "; " + istioConditions(ap.Status.GetConditions())
}

// istioConditions renders Istio status conditions as "Type=Status
// (Reason)"; a failure names the message on its own line.
func istioConditions(cs []*metav1alpha1.IstioCondition) string {
	if len(cs) == 0 {
		return "no status conditions from istiod"
	}
	var out []string
	for _, c := range cs {
		s := c.GetType() + "=" + c.GetStatus()
		if c.GetReason() != "" {
			s += " (" + c.GetReason() + ")"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func condition(cs []*metav1alpha1.IstioCondition, t string) *metav1alpha1.IstioCondition {
	for _, c := range cs {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// judgeStatus fails a policy whose status says it is not enforced as
// written: ztunnel cannot enforce it (ZtunnelAccepted reason
// UnsupportedValue) or a waypoint does not take it (WaypointAccepted=False;
// istio/istio:pilot/pkg/model/service.go@master WorkloadAuthorization and
// WaypointPolicyStatus GetConditions; written with status "True"/"False",
// pilot/pkg/serviceregistry/ambient/statusqueue/conversion.go@master
// translateToPatch). A condition older than the policy's generation is
// reported, not judged.
func (v *view) judgeStatus(ap *securityv1.AuthorizationPolicy, st *Step) {
	name := key(ap.Namespace, ap.Name)
	cs := ap.Status.GetConditions()
	stale := func(c *metav1alpha1.IstioCondition) bool {
		if c.GetObservedGeneration() != 0 && c.GetObservedGeneration() < ap.Generation {
			st.Evidence = append(st.Evidence, fmt.Sprintf("%s: %s is for generation %d, the policy is at %d: not judged until istiod catches up",
				name, c.GetType(), c.GetObservedGeneration(), ap.Generation))
			return true
		}
		return false
	}
	if c := condition(cs, waypoint.ZtunnelAccepted); c != nil && c.GetReason() == reasonUnsupported && !stale(c) {
		st.State = Fail
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s: ztunnel cannot enforce it as written: %s=%s (%s: %s)",
			name, c.GetType(), c.GetStatus(), c.GetReason(), c.GetMessage()))
		if ap.Annotations[dryRunAnnotation] == "true" {
			st.Next = appendOnce(st.Next, fmt.Sprintf("%s: ztunnel ignores dry-run policies; remove %s or enforce it at a waypoint with targetRefs", name, dryRunAnnotation))
		} else {
			st.Next = appendOnce(st.Next, l7Next)
		}
	}
	if c := condition(cs, waypoint.WaypointAccepted); c != nil && c.GetStatus() == "False" && !stale(c) {
		st.State = Fail
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s: no waypoint enforces it: %s=False (%s: %s)", name, c.GetType(), c.GetReason(), c.GetMessage()))
		st.Next = appendOnce(st.Next, fmt.Sprintf("%s: bind its target to a waypoint (%s=<waypoint> on the Service) or correct its targetRefs", name, waypoint.UseLabel))
	}
}

// judgeWaypointIdentity fails when a pod reached through a waypoint has
// ALLOW policies at its ztunnel of which none admits the waypoint's
// identity: waypoints do not impersonate the client, so the destination
// ztunnel sees the waypoint and denies (istio/istio:tests/integration/ambient/baseline_test.go@master
// TestAuthorizationL4 allows the waypoint's SA next to the client's).
func (v *view) judgeWaypointIdentity(aps []*securityv1.AuthorizationPolicy, st *Step) {
	behind := v.behindWaypoint()
	if len(behind) == 0 {
		return
	}
	if v.autoAllowWaypoint() {
		st.Evidence = append(st.Evidence, fmt.Sprintf("istiod sets %s=true: it allows each waypoint's identity at ztunnel itself", autoAllowWaypointEnv))
		return
	}
	type finding struct {
		waypoint  string
		principal string
		policies  []string
		pods      []string
	}
	found := map[string]*finding{}
	pods := make([]string, 0, len(behind))
	for p := range behind {
		pods = append(pods, p)
	}
	sort.Strings(pods)
	for _, name := range pods {
		pod := v.podByName(name)
		var allows []*securityv1.AuthorizationPolicy
		for _, ap := range aps {
			if isAllow(ap) && atZtunnel(ap, pod, v.o.MeshNamespace) {
				allows = append(allows, ap)
			}
		}
		if len(allows) == 0 {
			continue
		}
		var polNames []string
		for _, ap := range allows {
			polNames = append(polNames, key(ap.Namespace, ap.Name))
		}
		for _, w := range behind[name] {
			for _, src := range v.waypointPeers(w) {
				admitted := false
				for _, ap := range allows {
					if ztunnelAllows(ap, src) {
						admitted = true
						break
					}
				}
				if admitted {
					continue
				}
				k := w.Key() + "|" + src.principal() + "|" + strings.Join(polNames, ",")
				f, ok := found[k]
				if !ok {
					f = &finding{waypoint: w.Key(), principal: src.principal(), policies: polNames}
					found[k] = f
				}
				f.pods = append(f.pods, name)
			}
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := found[k]
		st.State = Fail
		st.Evidence = append(st.Evidence, fmt.Sprintf("pods %s are reached through waypoint %s, but no ALLOW policy that selects them (%s) admits the waypoint's identity %s: their ztunnel denies that traffic (waypoints do not impersonate the client)",
			names(f.pods), f.waypoint, strings.Join(f.policies, ", "), f.principal))
		st.Next = appendOnce(st.Next, fmt.Sprintf("add %q to from.source.principals of %s, or bind the policy to the waypoint with targetRefs",
			f.principal, strings.Join(f.policies, ", ")))
	}
}

// autoAllowWaypoint reports PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true on an istiod.
func (v *view) autoAllowWaypoint() bool {
	for _, d := range v.s.Istiod {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == autoAllowWaypointEnv && strings.EqualFold(e.Value, "true") {
					return true
				}
			}
		}
	}
	return false
}

// describePeerAuthentication is one evidence line: the mode and what it
// means in ambient. PERMISSIVE and DISABLE are treated alike
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master convertPeerAuthentication).
func (v *view) describePeerAuthentication(pa *securityv1.PeerAuthentication) string {
	mode := pa.Spec.GetMtls().GetMode()
	s := fmt.Sprintf("PeerAuthentication %s: %s, %s", key(pa.Namespace, pa.Name), mode,
		attachment(pa.Namespace, pa.Spec.GetSelector().GetMatchLabels(), nil, v.o.MeshNamespace))
	switch mode {
	case securityv1beta1api.PeerAuthentication_MutualTLS_STRICT:
		s += ": plaintext from outside the mesh is refused"
	case securityv1beta1api.PeerAuthentication_MutualTLS_DISABLE:
		s += ": ambient treats DISABLE as PERMISSIVE (to turn mTLS off, take the namespace out of the mesh)"
	case securityv1beta1api.PeerAuthentication_MutualTLS_PERMISSIVE:
		s += ": plaintext is accepted"
	}
	if pl := pa.Spec.GetPortLevelMtls(); len(pl) > 0 {
		ports := make([]string, 0, len(pl))
		for port, m := range pl {
			ports = append(ports, fmt.Sprintf("%d=%s", port, m.GetMode()))
		}
		sort.Strings(ports)
		s += "; portLevelMtls " + strings.Join(ports, ", ")
	}
	return s
}

// parseIPs keeps the addresses that parse.
func parseIPs(ips []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}
