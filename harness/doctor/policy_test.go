package doctor

import (
	"net/netip"
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// The waypoint of namespace shop, as the destination ztunnel sees it.
var wpPeer = peer{TrustDomain: "cluster.local", Namespace: testNS, ServiceAccount: wpPodSA, IPs: []netip.Addr{netip.MustParseAddr("10.244.1.9")}}

func TestZtunnelAllowsFollowsZtunnelMatching(t *testing.T) {
	cases := []struct {
		name  string
		rules string
		want  bool
	}{
		{"no rules: allows nothing", `rules: []`, false},
		{"an empty rule: allows everything", `rules: [{}]`, true},
		{"exact principal of the client only", `rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]}]`, false},
		{"exact principal of the waypoint", `rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend", "cluster.local/ns/shop/sa/waypoint"]}}]}]`, true},
		{"principal prefix", `rules: [{from: [{source: {principals: ["cluster.local/ns/shop/*"]}}]}]`, true},
		{"principal suffix", `rules: [{from: [{source: {principals: ["*/sa/waypoint"]}}]}]`, true},
		{"any principal", `rules: [{from: [{source: {principals: ["*"]}}]}]`, true},
		{"notPrincipals excludes it", `rules: [{from: [{source: {notPrincipals: ["*/sa/waypoint"]}}]}]`, false},
		{"namespace", `rules: [{from: [{source: {namespaces: ["shop"]}}]}]`, true},
		{"other namespace", `rules: [{from: [{source: {namespaces: ["other"]}}]}]`, false},
		{"namespace but not principal", `rules: [{from: [{source: {namespaces: ["shop"], notPrincipals: ["cluster.local/ns/shop/sa/waypoint"]}}]}]`, false},
		{"serviceAccounts relative to the policy", `rules: [{from: [{source: {serviceAccounts: ["waypoint"]}}]}]`, true},
		{"serviceAccounts elsewhere", `rules: [{from: [{source: {serviceAccounts: ["other/waypoint"]}}]}]`, false},
		{"ipBlocks with the waypoint's IP", `rules: [{from: [{source: {ipBlocks: ["10.244.1.0/24"]}}]}]`, true},
		{"ipBlocks without it", `rules: [{from: [{source: {ipBlocks: ["10.9.0.0/16"]}}]}]`, false},
		{"when source.principal", `rules: [{when: [{key: source.principal, values: ["cluster.local/ns/shop/sa/waypoint"]}]}]`, true},
		{"when source.namespace not", `rules: [{when: [{key: source.namespace, notValues: ["shop"]}]}]`, false},
		{"ports do not matter", `rules: [{to: [{operation: {ports: ["8080"]}}]}]`, true},
		{"a second source matches", `rules: [{from: [{source: {principals: ["x/ns/a/sa/b"]}}, {source: {namespaces: ["shop"]}}]}]`, true},
		{"a rule with HTTP attributes is dropped", `rules: [{to: [{operation: {methods: ["GET"]}}]}]`, false},
		{"requestPrincipals are HTTP too", `rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]`, false},
		{"an L7 when key is HTTP", `rules: [{when: [{key: "request.headers[x]", values: ["y"]}]}]`, false},
		{"an L4 rule next to a dropped L7 rule", `rules: [{to: [{operation: {paths: ["/x"]}}]}, {from: [{source: {namespaces: ["shop"]}}]}]`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ap := policyYAML(t, "metadata: {name: p, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  "+tc.rules+"\n")
			if got := ztunnelAllows(ap, wpPeer); got != tc.want {
				t.Fatalf("ztunnelAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAtZtunnel(t *testing.T) {
	api := appPod("api-1", worker2, "api")
	other := appPod("x", worker2, "x")
	cases := []struct {
		name string
		doc  string
		pod  corev1.Pod
		want bool
	}{
		{"selector match", "metadata: {name: p, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}}", api, true},
		{"selector miss", "metadata: {name: p, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}}", other, false},
		{"namespace-wide", "metadata: {name: p, namespace: shop}\nspec: {}", other, true},
		{"mesh-wide", "metadata: {name: p, namespace: istio-system}\nspec: {}", other, true},
		{"other namespace", "metadata: {name: p, namespace: other}\nspec: {}", other, false},
		{"targetRefs go to the waypoint", "metadata: {name: p, namespace: shop}\nspec: {targetRefs: [{kind: Service, group: \"\", name: api}]}", api, false},
		{"dry-run is ignored", "metadata: {name: p, namespace: shop, annotations: {istio.io/dry-run: \"true\"}}\nspec: {}", api, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := atZtunnel(policyYAML(t, tc.doc), &tc.pod, meshNS); got != tc.want {
				t.Fatalf("atZtunnel = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestL7FieldsAreIstiodsList(t *testing.T) {
	ap := policy(t, fixtures.RequireJWTSelector)
	got := l7Fields(ap.Spec.GetRules()[0])
	if len(got) != 2 || got[0] != "methods" || got[1] != "requestPrincipals" {
		t.Fatalf("l7Fields = %v, want [methods requestPrincipals]", got)
	}
}

func TestPolicies(t *testing.T) {
	t.Run("listed with how they attach", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{
			policy(t, fixtures.AllowFrontendAndWaypointToAPI, cond(waypoint.ZtunnelAccepted, "True", "Accepted", "attached to ztunnel", 1)),
			policy(t, fixtures.DenyOtherToBackend),
			policy(t, fixtures.L7AllowGetAPIService, cond(waypoint.WaypointAccepted, "True", "Accepted", "bound to shop/waypoint", 1)),
			policy(t, fixtures.RateLimitAPI),
			policyYAML(t, "metadata: {name: global-deny, namespace: istio-system}\nspec: {action: DENY, rules: [{from: [{source: {namespaces: [\"evil\"]}}]}]}"),
			policyYAML(t, "metadata: {name: elsewhere, namespace: istio-system}\nspec: {selector: {matchLabels: {app: nothing-here}}}"),
			policyYAML(t, "metadata: {name: other-ns, namespace: other}\nspec: {}"),
		}
		s.PeerAuthentications = []*securityv1.PeerAuthentication{peerAuth(t, fixtures.PeerAuthStrict)}
		st := step(t, s, 5)
		expect(t, st, Pass,
			"AuthorizationPolicy shop/allow-frontend-to-api: ALLOW, selector app=api, enforced by ztunnel on api-1, api-2; ZtunnelAccepted=True (Accepted)",
			"AuthorizationPolicy shop/deny-other-to-backend: DENY, selector app=backend, selects no pod of shop; no status conditions from istiod",
			"AuthorizationPolicy shop/l7-allow-get-api-service: ALLOW, targetRefs Service/api, enforced by the waypoint; WaypointAccepted=True (Accepted)",
			"AuthorizationPolicy shop/rate-limit-api: CUSTOM (provider envoy-ext-authz-http), targetRefs Service/api, enforced by the waypoint",
			"AuthorizationPolicy istio-system/global-deny: DENY, mesh-wide (root namespace istio-system), enforced by ztunnel",
			"PeerAuthentication shop/strict: STRICT, namespace-wide: plaintext from outside the mesh is refused")
		for _, e := range st.Evidence {
			if strings.Contains(e, "elsewhere") || strings.Contains(e, "other-ns") {
				t.Errorf("a policy that does not apply is listed: %s", e)
			}
		}
	})
	t.Run("UnsupportedValue: the seed's selector-bound L7 policy", func(t *testing.T) {
		s := healthy()
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.RequireJWTSelector,
			cond(waypoint.ZtunnelAccepted, "True", reasonUnsupported, "ztunnel does not support HTTP attributes (found: methods, requestPrincipals).", 1))}
		st := step(t, s, 5)
		expect(t, st, Fail, "shop/require-jwt: ztunnel cannot enforce it as written: ZtunnelAccepted=True (UnsupportedValue: ztunnel does not support HTTP attributes (found: methods, requestPrincipals).)")
		expectNext(t, st, "bind L7 rules to a waypoint with targetRefs")
	})
	t.Run("UnsupportedValue for an older generation is not judged", func(t *testing.T) {
		s := healthy()
		ap := policy(t, fixtures.RequireJWTSelector, cond(waypoint.ZtunnelAccepted, "True", reasonUnsupported, "ztunnel does not support HTTP attributes", 1))
		ap.Generation = 2
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{ap}
		expect(t, step(t, s, 5), Pass, "ZtunnelAccepted is for generation 1, the policy is at 2: not judged until istiod catches up")
	})
	t.Run("UnsupportedValue on a dry-run policy", func(t *testing.T) {
		s := healthy()
		ap := policyYAML(t, "metadata: {name: trial, namespace: shop, generation: 1, annotations: {istio.io/dry-run: \"true\"}}\nspec: {}")
		ap.Status.Conditions = append(ap.Status.Conditions, cond(waypoint.ZtunnelAccepted, "False", reasonUnsupported, "support for ambient dry-run authorizationPolicies isn't enabled", 1))
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{ap}
		st := step(t, s, 5)
		expect(t, st, Fail, "shop/trial: ztunnel cannot enforce it", ", dry-run;")
		expectNext(t, st, "ztunnel ignores dry-run policies")
	})
	t.Run("WaypointAccepted=False: not enforced", func(t *testing.T) {
		s := healthy()
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.L7AllowGetAPIService,
			cond(waypoint.WaypointAccepted, "False", "AncestorNotBound", "Service shop/api is not bound to a waypoint", 1))}
		st := step(t, s, 5)
		expect(t, st, Fail, "shop/l7-allow-get-api-service: no waypoint enforces it: WaypointAccepted=False (AncestorNotBound: Service shop/api is not bound to a waypoint)")
		expectNext(t, st, "bind its target to a waypoint")
	})
	t.Run("selector ALLOW without the waypoint's identity", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendToAPI)}
		st := step(t, s, 5)
		expect(t, st, Fail, "pods api-1, api-2 are reached through waypoint shop/waypoint, but no ALLOW policy that selects them (shop/allow-frontend-to-api) admits the waypoint's identity cluster.local/ns/shop/sa/waypoint")
		expectNext(t, st, `add "cluster.local/ns/shop/sa/waypoint" to from.source.principals of shop/allow-frontend-to-api`)
		// The same policy with no waypoint in the path is fine.
		s2 := healthy()
		s2.AuthorizationPolicies = s.AuthorizationPolicies
		expect(t, step(t, s2, 5), Pass)
		// Its fix (the waypoint's identity too) passes.
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendAndWaypointToAPI)}
		expect(t, step(t, s, 5), Pass)
		// Another ALLOW on the same pods that admits the waypoint is enough.
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendToAPI), policy(t, fixtures.AllowInternal)}
		expect(t, step(t, s, 5), Pass)
	})
	t.Run("a waypoint running under another ServiceAccount", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Pods[0].Spec.ServiceAccountName = "custom-sa"
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendAndWaypointToAPI)}
		expect(t, step(t, s, 5), Fail, "admits the waypoint's identity cluster.local/ns/shop/sa/custom-sa")
	})
	t.Run("waypoint identity without pods: the Gateway's name or annotation", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Pods = nil
		s.Waypoints[0].Gateway.Annotations = map[string]string{serviceAccountAnnotation: "wp-sa"}
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendAndWaypointToAPI)}
		expect(t, step(t, s, 5), Fail, "cluster.local/ns/shop/sa/wp-sa")
	})
	t.Run("workload waypoint by pod label", func(t *testing.T) {
		s := withWaypoint(healthy())
		delete(s.Namespace.Labels, waypoint.UseLabel)
		s.Waypoints[0].Gateway.Labels = map[string]string{waypoint.ForLabel: waypoint.ForWorkload}
		s.Pods[1].Labels[waypoint.UseLabel] = wpName
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendToAPI)}
		expect(t, step(t, s, 5), Fail, "pods api-1 are reached through waypoint shop/waypoint")
	})
	t.Run("only pods in the mesh are judged", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Gateway.Labels = map[string]string{waypoint.ForLabel: waypoint.ForAll}
		// A namespace-wide ALLOW for frontend only: the waypoint pod is not
		// captured, so it is not "behind" its own waypoint.
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policyYAML(t,
			"metadata: {name: only-frontend, namespace: shop}\nspec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/frontend]}}]}]}")}
		st := step(t, s, 5)
		expect(t, st, Fail, "pods api-1, api-2, frontend are reached through waypoint shop/waypoint")
		if strings.Contains(strings.Join(st.Evidence, "\n"), "waypoint-7d9") {
			t.Errorf("the waypoint's own pod was judged: %v", st.Evidence)
		}
	})
	t.Run("istiod allows the waypoint itself", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Istiod[0].Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: autoAllowWaypointEnv, Value: "true"}}
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendToAPI)}
		expect(t, step(t, s, 5), Pass, "istiod sets PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true")
	})
	t.Run("a bogus waypoint leaves traffic L4", func(t *testing.T) {
		s := healthy()
		s.Namespace.Labels[waypoint.UseLabel] = "bogus"
		s.AuthorizationPolicies = []*securityv1.AuthorizationPolicy{policy(t, fixtures.AllowFrontendToAPI)}
		expect(t, step(t, s, 5), Pass)
	})
	t.Run("lists that could not be read fail", func(t *testing.T) {
		s := healthy()
		s.PolicyErrs = []string{`listing AuthorizationPolicies in shop: no matches for kind "AuthorizationPolicyList" in version "security.istio.io/v1"`}
		st := step(t, s, 5)
		expect(t, st, Fail, `no matches for kind "AuthorizationPolicyList"`)
		expectNext(t, st, "kubectl get crd authorizationpolicies.security.istio.io")
	})
	t.Run("PeerAuthentication modes", func(t *testing.T) {
		s := healthy()
		s.PeerAuthentications = []*securityv1.PeerAuthentication{
			peerAuthYAML(t, "metadata: {name: mesh, namespace: istio-system}\nspec: {mtls: {mode: PERMISSIVE}}"),
			peerAuthYAML(t, "metadata: {name: disabled, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}, mtls: {mode: DISABLE}, portLevelMtls: {8080: {mode: STRICT}}}"),
		}
		expect(t, step(t, s, 5), Pass,
			"PeerAuthentication istio-system/mesh: PERMISSIVE, mesh-wide (root namespace istio-system): plaintext is accepted",
			"PeerAuthentication shop/disabled: DISABLE, selector app=api: ambient treats DISABLE as PERMISSIVE",
			"portLevelMtls 8080=STRICT")
	})
}

func peerAuth(t *testing.T, name string) *securityv1.PeerAuthentication {
	t.Helper()
	b, err := fixtures.Policy(name, fixtures.PolicyData{Namespace: testNS})
	if err != nil {
		t.Fatal(err)
	}
	return peerAuthYAML(t, string(b))
}

func peerAuthYAML(t *testing.T, doc string) *securityv1.PeerAuthentication {
	t.Helper()
	pa := &securityv1.PeerAuthentication{}
	if err := yaml.UnmarshalStrict([]byte(doc), pa); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return pa
}
