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
// waypoint the Service uses (docs/istio-facts.md §6.1). The route (fixtures
// httproute-api.yaml): /v2 → api-v2, /split → api-v1 80 % / api-v2 20 %,
// anything else → api-v1 with the header x-ambient-e2e-route: default added.
var _ = Describe("Phase 4: HTTPRoute on the Service, applied by the waypoint", Ordered, ContinueOnFailure, func() {
	var w *l7World
	BeforeAll(func(ctx SpecContext) {
		w = newL7World(ctx, "route", l7Setting{Versions: []string{"v1", "v2"}})
		w.withWaypoint(ctx, "waypoint")
		Expect(w.s.Apply(ctx, fixtures.HTTPRouteAPI)).To(Succeed())
	})

	spec("L7-ROUTE-CONTROL-BACKENDS", func(ctx SpecContext) {
		for _, v := range []string{"v1", "v2"} {
			expectTraffic(ctx, w.frontend, traffic.Request{URL: w.s.HTTP("api-"+v, "/")},
				traffic.And(traffic.OK(), traffic.Version(v)))
		}
	})

	spec("L7-ROUTE-PATH-MATCH", func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/v2/items"), traffic.And(viaWaypoint("api"), traffic.Version("v2")))
		expectEach(ctx, w.frontend, w.api("GET", "/v2/items"), 10, traffic.And(viaWaypoint("api"), traffic.Version("v2")))
	})

	spec("L7-ROUTE-HEADER-MODIFIER", func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/items"),
			traffic.And(viaWaypoint("api"), traffic.Version("v1"), traffic.RequestHeaderValue("x-ambient-e2e-route", "default")))
	})

	spec("L7-ROUTE-WEIGHTED-SPLIT", func(ctx SpecContext) {
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
