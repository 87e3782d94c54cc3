package incluster

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Rule is one rule of the runner's ClusterRole and what needs it.
type Rule struct {
	APIGroups []string
	Resources []string
	Verbs     []string
	// NeededBy names the specs and harness steps that need the rule.
	NeededBy string
}

// Rules is the runner's least-privileged role: what the suite does against
// the API server when it judges a mesh that is already installed
// (CLUSTER_MODE=existing, MESH_MODE=preinstalled, PROBE_IMAGE given). It is
// a ClusterRole because the suite's namespaces are created during the run.
// The README's table is this table (ambient-e2e in-cluster rbac); a test
// fails when the Job's objects grant the runner anything it does not list.
var Rules = []Rule{
	{[]string{""}, []string{"namespaces"}, []string{"get", "list", "watch", "create", "patch", "delete"},
		"every spec: its own labelled namespaces (kube.CreateNamespace, enrollment labels, clean-up and the run's teardown sweep)"},
	{[]string{""}, []string{"pods"}, []string{"get", "list", "watch", "create", "patch", "delete"},
		"the probe fixtures, the sniffer and load pods; enrollment and no-restart checks (annotations, UIDs); mesh health (istiod, ztunnel, istio-cni pods)"},
	{[]string{""}, []string{"pods/exec"}, []string{"create"},
		"traffic: every request runs the probe in a client pod; the sniffer; probe stop"},
	{[]string{""}, []string{"pods/log"}, []string{"get"},
		"mTLS and policy evidence from ztunnel's access log; failure bundles"},
	{[]string{""}, []string{"services", "serviceaccounts", "configmaps"}, []string{"get", "list", "create", "patch", "delete"},
		"the fixtures (Services, ServiceAccounts); the waypoint Service; the mesh config (the ext-authz provider, added and removed)"},
	{[]string{""}, []string{"endpoints", "events"}, []string{"get", "list"},
		"ready endpoints of a pending pod (fail-closed); failure bundles"},
	{[]string{""}, []string{"nodes"}, []string{"get", "list"},
		"one ztunnel per node; placement of clients and servers; the report's node platforms"},
	{[]string{""}, []string{"nodes/proxy"}, []string{"get"},
		"latency and resource budgets: the kubelets' cAdvisor endpoints through the API server"},
	{[]string{""}, []string{"pods/proxy"}, []string{"get"},
		"ztunnel and waypoint metrics (:15020) through the API server"},
	{[]string{"apps"}, []string{"deployments", "daemonsets"}, []string{"get", "list", "watch", "create", "patch", "delete"},
		"the fixtures' Deployments; the waypoint Deployment scaled to 0 (fail closed); the ztunnel DaemonSet rolled (restart under traffic); mesh health"},
	{[]string{"apps"}, []string{"deployments/scale"}, []string{"patch"},
		"the waypoint whose proxy cannot run (scaled to 0)"},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, []string{"get", "list"},
		"ready endpoints (fail closed); failure bundles"},
	{[]string{"networking.k8s.io"}, []string{"networkpolicies"}, []string{"get", "list", "create", "patch", "delete"},
		"defense in depth: NetworkPolicy with AuthorizationPolicy"},
	{[]string{"security.istio.io"}, []string{"authorizationpolicies", "peerauthentications", "requestauthentications"}, []string{"get", "list", "create", "patch", "delete"},
		"L4 and L7 policy, STRICT mTLS, JWT; policy status (ZtunnelAccepted); failure bundles"},
	{[]string{"gateway.networking.k8s.io"}, []string{"gateways", "httproutes"}, []string{"get", "list", "watch", "create", "patch", "delete"},
		"waypoints (Programmed), HTTPRoute; failure bundles"},
	{[]string{"gateway.networking.k8s.io"}, []string{"gatewayclasses"}, []string{"get", "list"},
		"the istio-waypoint GatewayClass"},
	{[]string{"apiextensions.k8s.io"}, []string{"customresourcedefinitions"}, []string{"get", "list"},
		"Phase 1: the Gateway API CRDs waypoints need are installed"},
}

// RulesMarkdown is the table of Rules for the README.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("| API group | resources | verbs | needed by |\n|---|---|---|---|\n")
	for _, r := range Rules {
		groups := make([]string, len(r.APIGroups))
		for i, g := range r.APIGroups {
			if g == "" {
				g = "core"
			}
			groups[i] = "`" + g + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", strings.Join(groups, ", "), strings.Join(r.Resources, "`, `"), strings.Join(r.Verbs, ", "), r.NeededBy)
	}
	return b.String()
}

// Grants reports every (group, resource, verb) a set of policy rules
// allows beyond Rules, and any wildcard: what a role grants the runner
// that the table does not list.
func Grants(rules []rbacv1.PolicyRule) []string {
	var extra []string
	for _, pr := range rules {
		if len(pr.NonResourceURLs) > 0 || len(pr.ResourceNames) > 0 {
			extra = append(extra, fmt.Sprintf("a rule with non-resource URLs or resource names: %+v", pr))
		}
		for _, g := range pr.APIGroups {
			for _, res := range pr.Resources {
				for _, v := range pr.Verbs {
					if g == "*" || res == "*" || v == "*" {
						extra = append(extra, fmt.Sprintf("wildcard: group %q resource %q verb %q", g, res, v))
						continue
					}
					if !listed(g, res, v) {
						extra = append(extra, fmt.Sprintf("group %q resource %q verb %q", g, res, v))
					}
				}
			}
		}
	}
	return extra
}

func listed(group, resource, verb string) bool {
	for _, r := range Rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}
