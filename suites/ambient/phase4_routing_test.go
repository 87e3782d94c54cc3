//go:build e2e

package ambient_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// An HTTPRoute whose parent is the Service api (GAMMA) is applied by the
// waypoint the Service uses (facts §6.1). The route (fixtures
// httproute-api.yaml): /v2 → api-v2, /split → api-v1 80 % / api-v2 20 %,
// anything else → api-v1 with the header x-ambient-e2e-route: default added.
var _ = Describe("Phase 4: HTTPRoute on the Service, applied by the waypoint", Label(labelL7), Ordered, ContinueOnFailure, func() {
	var w *l7World
	BeforeAll(func(ctx SpecContext) {
		w = newL7World(ctx, "route", l7Setting{Versions: []string{"v1", "v2"}})
		w.withWaypoint(ctx, "waypoint")
		Expect(w.s.Apply(ctx, fixtures.HTTPRouteAPI)).To(Succeed())
	})

	It("control: api-v1 and api-v2 answer on their own Services", observed, claim("httproute"), func(ctx SpecContext) {
		for _, v := range []string{"v1", "v2"} {
			expectTraffic(ctx, w.frontend, traffic.Request{URL: w.s.HTTP("api-"+v, "/")},
				traffic.And(traffic.OK(), traffic.Version(v)))
		}
	})

	It("a path rule sends /v2/… to api-v2", observed, claim("httproute"), func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/v2/items"), traffic.And(viaWaypoint("api"), traffic.Version("v2")))
		expectEach(ctx, w.frontend, w.api("GET", "/v2/items"), 10, traffic.And(viaWaypoint("api"), traffic.Version("v2")))
	})

	It("every other path goes to api-v1 with the header the route's RequestHeaderModifier adds", observed, claim("httproute"), func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/items"),
			traffic.And(viaWaypoint("api"), traffic.Version("v1"), traffic.RequestHeaderValue("x-ambient-e2e-route", "default")))
	})

	It("an 80/20 weighted split lands within its binomial bound", observed, claim("httproute"), func(ctx SpecContext) {
		check := stats.DefaultSplitCheck()
		lo, hi := check.Interval()
		AddReportEntry("80/20 split bound", fmt.Sprintf("N=%d requests, api-v1 must serve %d–%d (false-failure rate %.1e)", check.N, lo, hi, check.FalseFailureRate()))
		// The route is in force once /v2 is routed; only then count.
		expectTraffic(ctx, w.frontend, w.api("GET", "/v2/ready"), traffic.And(viaWaypoint("api"), traffic.Version("v2")))
		rs := expectEach(ctx, w.frontend, w.api("GET", "/split/items"), check.N, viaWaypoint("api"))
		n := traffic.Versions(rs)
		AddReportEntry("80/20 split", fmt.Sprintf("api-v1 %d, api-v2 %d of %d", n["v1"], n["v2"], check.N))
		Expect(n["v1"]+n["v2"]).To(Equal(check.N), "replies from other versions: %v", n)
		Expect(check.Check(n["v1"])).To(Succeed())
	})
})
