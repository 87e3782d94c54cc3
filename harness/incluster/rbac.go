package incluster

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Rule is one rule of the runner's ClusterRole and what needs it.
type Rule struct {
	APIGroups     []string
	Resources     []string
	Verbs         []string
	ResourceNames []string // "" = any; the mesh's objects by name
	// NeededBy names the specs and harness steps that need the rule.
	NeededBy string
}

// The mesh objects the runner may touch by name, for the default revision;
// RulesFor names those of another.
const (
	meshConfigMap = "istio"
	istiodName    = "istiod"
)

// Rules is the runner's least-privileged role: what the suite does against
// the API server when it judges a mesh that is already installed
// (CLUSTER_MODE=existing, MESH_MODE=preinstalled, PROBE_IMAGE given), from
// a review of every call the suite makes (client-go and e2e-framework;
// every wait polls, so no watch; server-side apply is create and patch;
// traffic is the probe run by exec). It is a ClusterRole because the
// suite's namespaces are created during the run, so no RoleBinding can
// name them beforehand. The README's table is this table; a test fails
// when the Job's objects grant the runner anything it does not list.
var Rules = []Rule{
	{[]string{""}, []string{"namespaces"}, []string{"get", "list", "create", "patch", "delete"}, nil,
		"every spec's own namespace (created, labelled to enroll or to use a waypoint, deleted; the teardown's sweep of the run's)"},
	{[]string{""}, []string{"pods"}, []string{"get", "list", "create", "delete"}, nil,
		"every spec (its pods, enrollment, no-restart snapshots); the wire sniffer pod; the ztunnel on a node; mesh health; bundles, doctor"},
	{[]string{""}, []string{"pods/exec"}, []string{"create"}, nil,
		"every request (the probe run in the client pod), loads, held connections, probe stop; istiod's active mesh config (L7-EXTAUTHZ-PROVIDER-LOADED)"},
	{[]string{""}, []string{"pods/log"}, []string{"get"}, nil,
		"ztunnel's access log (mTLS and policy evidence), the sniffer's capture, ext-authz decisions; bundles"},
	{[]string{""}, []string{"pods/proxy"}, []string{"get"}, nil,
		"ztunnel and waypoint metrics on :15020 (L4-MTLS-METRIC-*, L4-AUTHZ-DENIED-METRIC, L7-WAYPOINT-TELEMETRY); the probe's /stats"},
	{[]string{""}, []string{"nodes"}, []string{"list"}, nil,
		"client and server placement; one ztunnel and istio-cni per node (INSTALL-*-PER-NODE); the report's node platforms"},
	{[]string{""}, []string{"nodes/proxy"}, []string{"get"}, nil,
		"the kubelets' cAdvisor through the API server (PERF-CONTROL-RESOURCES-READ, resource budgets)"},
	{[]string{""}, []string{"events"}, []string{"list"}, nil,
		"why a Deployment is not ready; waypoint image pulls; bundles"},
	{[]string{""}, []string{"services"}, []string{"get", "list", "create", "patch"}, nil,
		"the fixtures' Services (server-side apply); istio.io/use-waypoint on a Service; the waypoint's Service and its WaypointBound condition"},
	{[]string{""}, []string{"serviceaccounts"}, []string{"create", "patch"}, nil,
		"the fixtures' ServiceAccounts (server-side apply)"},
	{[]string{""}, []string{"configmaps"}, []string{"get", "update"}, []string{meshConfigMap},
		"the mesh config: the ext-authz provider registered and restored (Phase 4 CUSTOM ext-authz)"},
	{[]string{"apps"}, []string{"deployments"}, []string{"list", "create", "patch"}, nil,
		"the fixtures' Deployments (server-side apply); the waypoint scaled to 0 (L7-WAYPOINT-MISSING-SCALED-TO-ZERO); the mesh's revision"},
	{[]string{"apps"}, []string{"deployments"}, []string{"get"}, []string{istiodName},
		"istiod ready and its image (INSTALL-ISTIOD-READY, INSTALL-VERSION)"},
	{[]string{"apps"}, []string{"daemonsets"}, []string{"list"}, nil,
		"the cluster's CNI for the report (kube-system's DaemonSets)"},
	{[]string{"apps"}, []string{"daemonsets"}, []string{"get"}, []string{"ztunnel", "istio-cni-node"},
		"ztunnel and istio-cni on every node (INSTALL-*-PER-NODE), their images; doctor"},
	{[]string{"apps"}, []string{"daemonsets"}, []string{"patch"}, []string{"ztunnel"},
		"ztunnel restarted under traffic (UPGRADE-ZTUNNEL-RESTART-*, disruptive)"},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, []string{"list"}, nil,
		"a stopped waypoint has no ready endpoint"},
	{[]string{"networking.k8s.io"}, []string{"networkpolicies"}, []string{"list", "create", "patch"}, nil,
		"defense in depth (L4-NETPOL-*); bundles"},
	{[]string{"security.istio.io"}, []string{"authorizationpolicies"}, []string{"get", "list", "create", "patch"}, nil,
		"L4 and L7 policy (server-side apply), a policy's ZtunnelAccepted status; doctor, bundles"},
	{[]string{"security.istio.io"}, []string{"peerauthentications", "requestauthentications"}, []string{"list", "create", "patch"}, nil,
		"STRICT mTLS, JWT; doctor, bundles"},
	{[]string{"gateway.networking.k8s.io"}, []string{"gateways"}, []string{"get", "list", "create", "patch", "delete"}, nil,
		"waypoints: created, Programmed, deleted (L7-WAYPOINT-MISSING-DELETED)"},
	{[]string{"gateway.networking.k8s.io"}, []string{"httproutes"}, []string{"list", "create", "patch"}, nil,
		"HTTPRoute on the Service (L7-ROUTE-*); bundles"},
	{[]string{"gateway.networking.k8s.io"}, []string{"gatewayclasses"}, []string{"get"}, []string{"istio-waypoint"},
		"doctor's waypoint step (DEBUG-FLOW-*)"},
	{[]string{"apiextensions.k8s.io"}, []string{"customresourcedefinitions"}, []string{"get"}, []string{"gateways.gateway.networking.k8s.io"},
		"the Gateway API CRDs waypoints need (INSTALL-GATEWAY-API-CRDS)"},
}

// RulesFor is Rules for a mesh revision: its ConfigMap istio-<rev> and
// Deployment istiod-<rev> ("" or "default": istio and istiod).
func RulesFor(revision string) []Rule {
	out := make([]Rule, len(Rules))
	for i, r := range Rules {
		r.ResourceNames = slices.Clone(r.ResourceNames)
		for j, n := range r.ResourceNames {
			if revision != "" && revision != "default" && (n == meshConfigMap || n == istiodName) {
				r.ResourceNames[j] = n + "-" + revision
			}
		}
		out[i] = r
	}
	return out
}

// RulesMarkdown is the table of Rules for the README.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("| API group | resources | verbs | only these | needed by |\n|---|---|---|---|---|\n")
	for _, r := range Rules {
		groups := make([]string, len(r.APIGroups))
		for i, g := range r.APIGroups {
			if g == "" {
				g = "core"
			}
			groups[i] = "`" + g + "`"
		}
		names := "any"
		if len(r.ResourceNames) > 0 {
			names = "`" + strings.Join(r.ResourceNames, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", strings.Join(groups, ", "), strings.Join(r.Resources, "`, `"), strings.Join(r.Verbs, ", "), names, r.NeededBy)
	}
	return b.String()
}

// Grants reports every (group, resource, verb) a set of policy rules
// allows beyond the table's rules for revision, and any wildcard or
// non-resource URL: what a role grants the runner that the table does not
// list. A rule limited to resource names is within a table rule for those
// names or for any.
func Grants(rules []rbacv1.PolicyRule, revision string) []string {
	table := RulesFor(revision)
	var extra []string
	for _, pr := range rules {
		if len(pr.NonResourceURLs) > 0 {
			extra = append(extra, fmt.Sprintf("non-resource URLs %v", pr.NonResourceURLs))
		}
		for _, g := range pr.APIGroups {
			for _, res := range pr.Resources {
				for _, v := range pr.Verbs {
					if g == "*" || res == "*" || v == "*" || slices.Contains(pr.ResourceNames, "*") {
						extra = append(extra, fmt.Sprintf("wildcard: group %q resource %q verb %q", g, res, v))
						continue
					}
					if !listed(table, g, res, v, pr.ResourceNames) {
						what := fmt.Sprintf("group %q resource %q verb %q", g, res, v)
						if len(pr.ResourceNames) > 0 {
							what += fmt.Sprintf(" names %v", pr.ResourceNames)
						}
						extra = append(extra, what)
					}
				}
			}
		}
	}
	return extra
}

func listed(table []Rule, group, resource, verb string, names []string) bool {
	for _, r := range table {
		if !slices.Contains(r.APIGroups, group) || !slices.Contains(r.Resources, resource) || !slices.Contains(r.Verbs, verb) {
			continue
		}
		if len(r.ResourceNames) == 0 {
			return true
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return !slices.Contains(r.ResourceNames, n) }) {
			return true
		}
	}
	return false
}
