//go:build e2e

package ambient_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/jwt"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/meshconfig"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// l7Row is one request of an L7 table and what the client must see.
type l7Row struct {
	ID      string // the row's conformance test (suites/catalogue): its text
	Method  string
	Path    string
	Headers func() []string // request headers, made when the row runs
	Want    traffic.Check
}

// forbidden is the waypoint's RBAC deny (docs/istio-facts.md §4.3).
var forbidden = traffic.Forbidden()

// runL7Rows turns rows into specs. Each row is retried until POLICY_TIMEOUT
// (a policy just applied takes a moment to reach the waypoint), then must
// hold for three more requests.
func runL7Rows(w func() *l7World, rows []l7Row) {
	for _, r := range rows {
		spec(r.ID, func(ctx SpecContext) {
			var h []string
			if r.Headers != nil {
				h = r.Headers()
			}
			q := w().api(r.Method, r.Path, h...)
			expectTraffic(ctx, w().frontend, q, r.Want)
			expectEach(ctx, w().frontend, q, 3, r.Want)
		})
	}
}

// getAPIRows are the rows of the L7 ALLOW "GET /api/* only": the allowed
// request first (it also proves the waypoint is in the path), then the
// denied ones; ids are the three rows' conformance tests, in that order.
func getAPIRows(ids [3]string) []l7Row {
	return []l7Row{
		{ID: ids[0], Method: "GET", Path: "/api/items", Want: viaWaypoint("api")},
		{ID: ids[1], Method: "POST", Path: "/api/items", Want: forbidden},
		{ID: ids[2], Method: "GET", Path: "/admin", Want: forbidden},
	}
}

var _ = Describe("Phase 4: L7 AuthorizationPolicy enforced by the waypoint", func() {
	for _, pc := range []struct {
		About, Policy string
		IDs           [3]string
	}{
		{"bound to the Service with targetRefs", fixtures.L7AllowGetAPIService,
			[3]string{"L7-AUTHZ-SERVICE-GET-API-OK", "L7-AUTHZ-SERVICE-POST-API-DENIED", "L7-AUTHZ-SERVICE-GET-ADMIN-DENIED"}},
		{"bound to the waypoint Gateway with targetRefs", fixtures.L7AllowGetAPIWaypoint,
			[3]string{"L7-AUTHZ-GATEWAY-GET-API-OK", "L7-AUTHZ-GATEWAY-POST-API-DENIED", "L7-AUTHZ-GATEWAY-GET-ADMIN-DENIED"}},
	} {
		Describe(pc.About, Ordered, ContinueOnFailure, func() {
			var w *l7World
			BeforeAll(func(ctx SpecContext) {
				w = newL7World(ctx, "l7authz")
				w.withWaypoint(ctx, "waypoint")
				Expect(w.s.ApplyWith(ctx, pc.Policy, fixtures.PolicyData{Waypoint: "waypoint"})).To(Succeed())
			})
			runL7Rows(func() *l7World { return w }, getAPIRows(pc.IDs))
		})
	}

	// Waypoints do not impersonate the client (docs/istio-facts.md §4.1): a selector
	// policy at the destination sees the waypoint's identity.
	Describe("a selector ALLOW at the destination must also allow the waypoint's identity", Ordered, ContinueOnFailure, func() {
		var (
			w       *l7World
			through = errors.New("the precondition spec did not run")
		)
		BeforeAll(func(ctx SpecContext) {
			w = newL7World(ctx, "l7dest")
			w.withWaypoint(ctx, "waypoint")
		})
		spec("L7-AUTHZ-SELECTOR-PRECONDITION", func(ctx SpecContext) {
			through = errors.New("it failed")
			expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
			through = nil
		})
		// Where traffic fails anyway (a waypoint whose proxy cannot run: real
		// ztunnel fails it closed), "the policy breaks it" would pass without
		// the policy doing anything: seen on the self-test's ztunnel mesh.
		spec("L7-AUTHZ-SELECTOR-BREAKS-WAYPOINT", func(ctx SpecContext) {
			if through != nil {
				Fail("precondition failed: traffic never went through the waypoint (" + through.Error() + "), so a break would prove nothing")
			}
			Expect(w.s.Apply(ctx, fixtures.AllowFrontendToAPI)).To(Succeed())
			expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.Or(traffic.Status(503), traffic.Reset(), traffic.EOF()))
		})
		spec("L7-AUTHZ-SELECTOR-ALLOW-WAYPOINT-RESTORES", func(ctx SpecContext) {
			Expect(w.s.ApplyWith(ctx, fixtures.AllowFrontendAndWaypointToAPI, fixtures.PolicyData{Waypoint: "waypoint"})).To(Succeed())
			expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
		})
	})
})

// The seed's require-jwt, bound with targetRefs, with a per-run issuer and
// inline JWKS: the expectations of Istio's TestL7JWT (docs/istio-facts.md §4.5).
var _ = Describe("Phase 4: JWT at the waypoint (the seed's require-jwt, bound with targetRefs)", Ordered, ContinueOnFailure, func() {
	var (
		w      *l7World
		issuer *jwt.Issuer
	)
	const subject = "frontend"
	bearer := func(mint func() (string, error)) func() []string {
		return func() []string {
			tok, err := mint()
			Expect(err).NotTo(HaveOccurred())
			return []string{"Authorization: Bearer " + tok}
		}
	}
	BeforeAll(func(ctx SpecContext) {
		w = newL7World(ctx, "jwt")
		var err error
		issuer, err = jwt.NewIssuer("https://ambient-e2e.invalid/" + env.Shared.RunID)
		Expect(err).NotTo(HaveOccurred())
		jwks, err := issuer.JWKS()
		Expect(err).NotTo(HaveOccurred())
		w.withWaypoint(ctx, "waypoint")
		d := fixtures.PolicyData{Issuer: issuer.Name(), JWKS: jwks, RequestPrincipal: issuer.RequestPrincipal(subject)}
		Expect(w.s.ApplyWith(ctx, fixtures.RequestAuthenticationJWT, d)).To(Succeed())
		Expect(w.s.ApplyWith(ctx, fixtures.RequireJWT, d)).To(Succeed())
		AddReportEntry("JWT issuer", issuer.String())
	})
	runL7Rows(func() *l7World { return w }, []l7Row{
		{ID: "L7-JWT-VALID-OK", Method: "GET", Path: "/",
			Headers: bearer(func() (string, error) { return issuer.Valid(subject) }), Want: viaWaypoint("api")},
		{ID: "L7-JWT-MISSING-DENIED", Method: "GET", Path: "/", Want: traffic.Status(403)},
		{ID: "L7-JWT-UNKNOWN-ISSUER-UNAUTHORIZED", Method: "GET", Path: "/",
			Headers: bearer(func() (string, error) { return issuer.WrongIssuer(subject) }), Want: traffic.Status(401)},
		{ID: "L7-JWT-EXPIRED-UNAUTHORIZED", Method: "GET", Path: "/",
			Headers: bearer(func() (string, error) { return issuer.Expired(subject) }), Want: traffic.Status(401)},
		{ID: "L7-JWT-OTHER-SUBJECT-DENIED", Method: "GET", Path: "/",
			Headers: bearer(func() (string, error) { return issuer.OtherSubject(subject) }), Want: traffic.Status(403)},
	})
})

// The seed's rate-limit-api: CUSTOM with provider envoy-ext-authz-http, here
// bound with targetRefs. The provider is registered in the mesh config for
// the spec (and the mesh config restored after) and points at the probe's
// `authz` server, which allows a request only with x-ext-authz: allow.
// Serial: it edits the mesh config (istio-system/istio), which istiod pushes
// to every proxy of the mesh; no other spec runs while it is changed.
var _ = Describe("Phase 4: CUSTOM ext-authz at the waypoint (the seed's rate-limit-api)", Serial, Ordered, ContinueOnFailure, func() {
	var (
		w     *l7World
		since time.Time
	)
	const authzPort = 8000
	BeforeAll(func(ctx SpecContext) {
		w = newL7World(ctx, "extauthz", l7Setting{Extra: []fixtures.Workload{{Name: "ext-authz", Service: "ext-authz", HTTPPort: authzPort,
			Args: []string{"authz", fmt.Sprintf("--port=%d", authzPort)}}}})
		p := meshconfig.Provider{Name: fixtures.ExtAuthzProvider, Service: w.s.FQDN("ext-authz"),
			Port: authzPort, IncludeRequestHeadersInCheck: []string{"x-ext-authz"}}
		restore, err := meshconfig.Register(ctx, env.Kube, env.Shared.Mesh.Namespace, env.Shared.Mesh.MeshConfigMap(), p)
		if err != nil {
			AddReportEntry("ext-authz provider not registered", err.Error())
			GinkgoWriter.Printf("%v; the specs below judge traffic anyway\n", err)
		} else {
			DeferCleanup(func(ctx SpecContext) { Expect(restore(ctx)).To(Succeed(), "restoring the mesh config") })
		}
		w.withWaypoint(ctx, "waypoint")
		since = time.Now()
		Expect(w.s.Apply(ctx, fixtures.RateLimitAPI)).To(Succeed())
	})
	spec("L7-EXTAUTHZ-PROVIDER-LOADED", func(ctx SpecContext) {
		var last string
		Expect(wait.For(ctx, "istiod's active mesh config to list "+fixtures.ExtAuthzProvider, env.Config.PolicyTimeout, func(ctx context.Context) (bool, string, error) {
			b, err := mesh.ActiveMeshConfig(ctx, env.Kube, env.Shared.Mesh)
			if err != nil {
				if strings.Contains(err.Error(), "no istiod") {
					return false, "", wait.Permanent(err)
				}
				return false, "", err
			}
			names, err := meshconfig.ActiveProviders(b)
			if err != nil {
				return false, "", err
			}
			last = fmt.Sprintf("providers %v", names)
			return slices.Contains(names, fixtures.ExtAuthzProvider), last, nil
		})).To(Succeed())
		AddReportEntry("istiod's extension providers", last)
	})
	runL7Rows(func() *l7World { return w }, []l7Row{
		{ID: "L7-EXTAUTHZ-API-DENIED", Method: "GET", Path: "/api/items",
			Want: traffic.And(traffic.Status(403), traffic.BodyText(wire.AuthzDenyBody))},
		{ID: "L7-EXTAUTHZ-API-ALLOWED", Method: "GET", Path: "/api/items",
			Headers: func() []string { return []string{"x-ext-authz: allow"} }, Want: viaWaypoint("api")},
		{ID: "L7-EXTAUTHZ-OTHER-PATHS-OK", Method: "GET", Path: "/other", Want: viaWaypoint("api")},
	})
	spec("L7-EXTAUTHZ-ASKED-ONLY-FOR-API", func(ctx SpecContext) {
		ds, err := authzDecisions(ctx, w, since)
		Expect(err).NotTo(HaveOccurred())
		var api, other int
		for _, d := range ds {
			if strings.HasPrefix(d.Path, "/api/") {
				api++
			} else {
				other++
			}
		}
		Expect(api).To(BeNumerically(">", 0), "the ext-authz server was never asked (%d decisions)", len(ds))
		Expect(other).To(BeZero(), "the ext-authz server was asked about paths the policy does not name: %+v", ds)
	})
})

// authzDecisions reads the decisions `probe authz` logged since t.
func authzDecisions(ctx context.Context, w *l7World, since time.Time) ([]wire.AuthzDecision, error) {
	p, err := w.s.Pod(ctx, "ext-authz")
	if err != nil {
		return nil, err
	}
	b, err := env.Kube.Logs(ctx, w.s.Namespace, p.Name, "", since)
	if err != nil {
		return nil, err
	}
	var out []wire.AuthzDecision
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var d wire.AuthzDecision
		if json.Unmarshal(sc.Bytes(), &d) == nil && d.Path != "" {
			out = append(out, d)
		}
	}
	return out, sc.Err()
}

// The seed binds its L7 rules with `selector`. On a workload served only by
// ztunnel istiod drops ALLOW rules with HTTP attributes, so nothing is
// allowed (fail closed), and says so on the policy (docs/istio-facts.md §4.2).
var _ = Describe("Phase 4: the seed's L7 policy bound with selector fails closed", Ordered, ContinueOnFailure, func() {
	var w *l7World
	const fix = "bind L7 rules to a waypoint with targetRefs (kind Service or Gateway), not with selector: " +
		"ztunnel cannot see HTTP, so an ALLOW with methods/paths/requestPrincipals under selector matches nothing and denies every connection"
	BeforeAll(func(ctx SpecContext) { w = newL7World(ctx, "misbound") })

	spec("L7-MISBOUND-CONTROL", func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.And(traffic.OK(), traffic.ServedBy("api")))
	})

	spec("L7-MISBOUND-FAILS-CLOSED", func(ctx SpecContext) {
		AddReportEntry("fix", fix)
		Expect(w.s.Apply(ctx, fixtures.RequireJWTSelector)).To(Succeed())
		since := time.Now()
		refused := traffic.ZtunnelRefused()
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), refused)
		const n = 5
		expectEach(ctx, w.frontend, w.api("POST", "/api/items"), n, refused)
		// istiod dropped the ALLOW's only rule (HTTP attributes), so the
		// workload has an ALLOW that matches nothing (docs/istio-facts.md §4.2).
		api, err := w.s.Pod(ctx, "api")
		Expect(err).NotTo(HaveOccurred())
		expectRefusedByPolicy(ctx, w.frontend, api, evidence.ReasonNotAllowed, since, n)
	})

	spec("L7-MISBOUND-STATUS", func(ctx SpecContext) {
		AddReportEntry("fix", fix)
		const want = "ztunnel does not support HTTP attributes"
		var got string
		err := wait.For(ctx, "the ZtunnelAccepted condition on AuthorizationPolicy require-jwt", env.Config.PolicyTimeout, func(ctx context.Context) (bool, string, error) {
			cs, err := waypoint.PolicyConditions(ctx, env.Kube, waypoint.PolicyGVK, w.s.Namespace, "require-jwt")
			if err != nil {
				return false, "", err
			}
			got = waypoint.Conditions(cs)
			for _, c := range cs {
				if c.Type == waypoint.ZtunnelAccepted && c.Reason == "UnsupportedValue" && strings.Contains(c.Message, want) {
					return true, got, nil
				}
			}
			return false, "no ZtunnelAccepted condition with reason UnsupportedValue; " + got, nil
		})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("policy status", got)
	})
})
