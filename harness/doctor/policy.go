package doctor

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	securityv1beta1api "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// peer is a connection's source as the destination ztunnel sees it.
type peer struct {
	TrustDomain, Namespace, ServiceAccount string
	IPs                                    []netip.Addr
}

// principal is the identity the way AuthorizationPolicy writes it
// (td/ns/<ns>/sa/<sa>; ztunnel strips spiffe:// before matching,
// istio/ztunnel:src/rbac.rs@62d82653 StringMatch::matches_principal).
func (p peer) principal() string {
	return p.TrustDomain + "/ns/" + p.Namespace + "/sa/" + p.ServiceAccount
}

// targetRefs are the policy's targetRef and targetRefs together
// (istio/istio:pilot/pkg/model/policyattachment.go@master GetTargetRefs).
func targetRefs(spec interface {
	GetTargetRef() *typev1beta1.PolicyTargetReference
	GetTargetRefs() []*typev1beta1.PolicyTargetReference
}) []*typev1beta1.PolicyTargetReference {
	refs := spec.GetTargetRefs()
	if r := spec.GetTargetRef(); r != nil {
		refs = append([]*typev1beta1.PolicyTargetReference{r}, refs...)
	}
	return refs
}

// atZtunnel says whether ztunnel enforces the policy on pod p: istiod sends
// ztunnel every policy without targetRefs, by selector or for the whole
// namespace, and from the root namespace for the whole mesh
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master
// convertAuthorizationPolicy: "TargetRef is not intended for ztunnel";
// Scope_NAMESPACE, Scope_GLOBAL), dry-run policies excepted.
func atZtunnel(ap *securityv1.AuthorizationPolicy, p *corev1.Pod, root string) bool {
	if len(targetRefs(&ap.Spec)) > 0 || ap.Annotations[dryRunAnnotation] == "true" {
		return false
	}
	if ap.Namespace != p.Namespace && ap.Namespace != root {
		return false
	}
	sel := ap.Spec.GetSelector().GetMatchLabels()
	if len(sel) == 0 {
		return true
	}
	return labels.SelectorFromSet(sel).Matches(labels.Set(p.Labels))
}

// isAllow reports an ALLOW policy (ALLOW is the default action).
func isAllow(ap *securityv1.AuthorizationPolicy) bool {
	return ap.Spec.GetAction() == securityv1beta1api.AuthorizationPolicy_ALLOW
}

// ztunnelAllows reports whether an ALLOW policy, as ztunnel enforces it,
// lets a connection from src in. It follows istiod's conversion (rules
// with HTTP attributes are dropped from an ALLOW, so they never match;
// istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master
// handleRule) and ztunnel's matching (a rule matches when every clause —
// to, from, each when — matches; a clause when any of its matches does;
// istio/ztunnel:src/rbac.rs@62d82653 Authorization::matches). Ports and
// destination attributes are taken as matching: the question is only
// whether the identity is let in.
func ztunnelAllows(ap *securityv1.AuthorizationPolicy, src peer) bool {
	for _, rule := range ap.Spec.GetRules() {
		if len(l7Fields(rule)) > 0 {
			continue
		}
		if ruleAdmits(rule, ap.Namespace, src) {
			return true
		}
	}
	return false
}

func ruleAdmits(rule *securityv1beta1api.Rule, policyNamespace string, src peer) bool {
	if from := rule.GetFrom(); len(from) > 0 {
		admitted := false
		for _, f := range from {
			if sourceAdmits(f.GetSource(), policyNamespace, src) {
				admitted = true
				break
			}
		}
		if !admitted {
			return false
		}
	}
	for _, w := range rule.GetWhen() {
		var ok bool
		switch w.GetKey() {
		case "source.principal":
			ok = matchesAll(w.GetValues(), w.GetNotValues(), src.principal())
		case "source.namespace":
			ok = matchesAll(w.GetValues(), w.GetNotValues(), src.Namespace)
		case "source.ip":
			ok = ipMatches(w.GetValues(), w.GetNotValues(), src.IPs)
		default: // destination.ip, destination.port
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

// sourceAdmits is one from.source: every field set must match.
func sourceAdmits(s *securityv1beta1api.Source, policyNamespace string, src peer) bool {
	if s == nil {
		return true
	}
	return matchesAll(s.GetPrincipals(), s.GetNotPrincipals(), src.principal()) &&
		matchesAll(s.GetNamespaces(), s.GetNotNamespaces(), src.Namespace) &&
		serviceAccountsMatch(s.GetServiceAccounts(), s.GetNotServiceAccounts(), policyNamespace, src) &&
		ipMatches(s.GetIpBlocks(), s.GetNotIpBlocks(), src.IPs)
}

// matchesAll is ztunnel's positive/negative rule: any positive must match
// (when there are any) and no negative may.
func matchesAll(positive, negative []string, v string) bool {
	if len(positive) > 0 && !anyMatch(positive, v) {
		return false
	}
	return !anyMatch(negative, v)
}

func anyMatch(patterns []string, v string) bool {
	for _, p := range patterns {
		if stringMatches(p, v) {
			return true
		}
	}
	return false
}

// stringMatches is Istio's string match: "*" any non-empty value, "*x" a
// suffix, "x*" a prefix, otherwise exact
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master stringToMatch).
func stringMatches(pattern, v string) bool {
	switch {
	case pattern == "*":
		return v != ""
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(v, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(v, pattern[:len(pattern)-1])
	}
	return pattern == v
}

// serviceAccountsMatch: "ns/sa", or "sa" in the policy's namespace
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master stringToServiceAccountMatch).
func serviceAccountsMatch(positive, negative []string, policyNamespace string, src peer) bool {
	is := func(list []string) bool {
		for _, v := range list {
			ns, sa, ok := strings.Cut(v, "/")
			if !ok {
				ns, sa = policyNamespace, v
			}
			if ns == src.Namespace && sa == src.ServiceAccount {
				return true
			}
		}
		return false
	}
	if len(positive) > 0 && !is(positive) {
		return false
	}
	return !is(negative)
}

// ipMatches: a positive list needs one of the source's IPs inside a block;
// with no known IP it does not match.
func ipMatches(positive, negative []string, ips []netip.Addr) bool {
	in := func(blocks []string) bool {
		for _, b := range blocks {
			pfx, err := netip.ParsePrefix(b)
			if err != nil {
				a, aerr := netip.ParseAddr(b)
				if aerr != nil {
					continue
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			for _, ip := range ips {
				if pfx.Contains(ip) {
					return true
				}
			}
		}
		return false
	}
	if len(positive) > 0 && !in(positive) {
		return false
	}
	return !in(negative)
}

// l4WhenKeys are the when keys ztunnel can evaluate
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master l4WhenAttributes).
var l4WhenKeys = map[string]bool{
	"source.ip": true, "source.namespace": true, "source.principal": true,
	"destination.ip": true, "destination.port": true,
}

// l7Fields lists the HTTP attributes of a rule, which ztunnel cannot see
// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master
// httpOperations, httpSources, handleRule).
func l7Fields(rule *securityv1beta1api.Rule) []string {
	found := map[string]bool{}
	for _, to := range rule.GetTo() {
		op := to.GetOperation()
		for name, v := range map[string][]string{
			"hosts": op.GetHosts(), "notHosts": op.GetNotHosts(), "methods": op.GetMethods(),
			"notMethods": op.GetNotMethods(), "paths": op.GetPaths(), "notPaths": op.GetNotPaths(),
		} {
			if len(v) > 0 {
				found[name] = true
			}
		}
	}
	for _, from := range rule.GetFrom() {
		s := from.GetSource()
		for name, v := range map[string][]string{
			"remoteIpBlocks": s.GetRemoteIpBlocks(), "notRemoteIpBlocks": s.GetNotRemoteIpBlocks(),
			"requestPrincipals": s.GetRequestPrincipals(), "notRequestPrincipals": s.GetNotRequestPrincipals(),
		} {
			if len(v) > 0 {
				found[name] = true
			}
		}
	}
	for _, w := range rule.GetWhen() {
		if !l4WhenKeys[w.GetKey()] {
			found[w.GetKey()] = true
		}
	}
	out := make([]string, 0, len(found))
	for f := range found {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// attachment describes where a policy attaches: "selector app=api",
// "targetRefs Service/api", "namespace-wide" or "mesh-wide".
func attachment(namespace string, sel map[string]string, refs []*typev1beta1.PolicyTargetReference, root string) string {
	if len(refs) > 0 {
		var parts []string
		for _, r := range refs {
			s := r.GetKind() + "/" + r.GetName()
			if r.GetNamespace() != "" && r.GetNamespace() != namespace {
				s = r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
			}
			parts = append(parts, s)
		}
		return "targetRefs " + strings.Join(parts, ", ")
	}
	if len(sel) > 0 {
		return "selector " + labels.SelectorFromSet(sel).String()
	}
	if namespace == root {
		return fmt.Sprintf("mesh-wide (root namespace %s)", root)
	}
	return "namespace-wide"
}
