//go:build e2e

package ambient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// A Service bound to a waypoint must not be reachable around it: when the
// waypoint is missing, its L7 policy must not be silently bypassed
// (istio/istio.io#17520). The specs assert that expectation; they are not
// bent to what Istio does. What Istio does, read at 1.28.10, 1.29.6, 1.30.3
// and release-1.31 (ztunnel at the same tags and release-1.31):
//
//   - A waypoint whose proxy cannot run FAILS CLOSED. Once istiod has put an
//     address in the Gateway's status it never removes it
//     (pilot/pkg/config/kube/gateway/conversion.go@release-1.31 L1927), so the
//     Gateway stays a waypoint (pilot/pkg/serviceregistry/ambient/
//     waypoints.go@release-1.31 L341-352) and the Service keeps it
//     (fetchWaypointForTarget L99-149; services.go L279-297, L699). ztunnel
//     then finds no healthy endpoint of the waypoint's Service and refuses
//     the connection with "unknown waypoint: … not found" instead of going
//     to the server (ztunnel src/state.rs@release-1.31 L334-346, L971-1028;
//     src/proxy/outbound.rs@release-1.31 L197-205, L609-643).
//   - A waypoint that no longer exists FAILS OPEN. istiod finds no Waypoint
//     for the name in istio.io/use-waypoint, reports WaypointBound=False
//     (WaypointIsNotReady) and sends ztunnel the Service with no waypoint
//     (waypoints.go@release-1.31 L113-126; services.go L279-295; model/
//     service.go L1396-1402); ztunnel then routes to the endpoints directly
//     (state.rs@release-1.31 L1041-1043; outbound.rs L644-646). The same code
//     is at 1.28.10, 1.29.6 (pilot/pkg/serviceregistry/kube/controller/
//     ambient/) and 1.30.3. Istio's own TestBogusUseWaypoint expects 200 at
//     L4 for a use-waypoint naming no waypoint (tests/integration/ambient/
//     baseline_test.go@release-1.31 L546), and istio.io#17520 documents it,
//     with the workaround of a ztunnel ALLOW policy for the waypoint's
//     identity only. So the third spec fails against Istio: that is its
//     finding, not a bug of the spec.
//
// "No request reaches the server" passes trivially where traffic fails
// anyway (a mesh with no ztunnel) or where nothing can fail closed (no mesh).
// The negative specs therefore judge only after the control of this
// container passed (the server answers, unbound, and counts what it served)
// and the namespace enrolled; otherwise they fail as a precondition.
var _ = Describe("Phase 4: a Service whose waypoint is missing fails closed", Ordered, ContinueOnFailure, func() {
	const (
		name = "waypoint"
		n    = 5 // requests per judgement, each on a new connection
	)
	var (
		w          *l7World
		controlErr = errors.New("it has not run")
		gatewayErr = errors.New("no spec created it") // nil once the waypoint Gateway had an address
	)
	BeforeAll(func(ctx SpecContext) { w = newL7World(ctx, "wpmissing") })

	direct := traffic.And(traffic.OK(), traffic.ServedBy("api"), traffic.NotViaWaypoint())
	// A request that must not reach api: a failure is quick (ztunnel closes
	// the connection), so a short bound keeps a black hole from slowing the
	// judgement down.
	blocked := func() traffic.Request {
		q := w.api("GET", "/")
		q.Timeout = 3 * time.Second
		return q
	}
	served := func(ctx context.Context) int64 {
		GinkgoHelper()
		got, err := w.s.Served(ctx, "api")
		Expect(err).NotTo(HaveOccurred(), "api's own count of the echo replies it served (/stats through the API server)")
		return got
	}
	expectNoneServed := func(ctx context.Context, before int64, while string) {
		GinkgoHelper()
		after := served(ctx)
		Expect(after-before).To(BeZero(), "a request reached the server without passing a waypoint: api counted %d echo replies %s", after-before, while)
	}
	judgeable := func() {
		GinkgoHelper()
		if controlErr != nil {
			Fail("precondition failed: the control did not pass in this container (" + controlErr.Error() + "): " +
				"where traffic fails anyway, \"no request reaches api\" would pass without proving anything")
		}
		if w.enrolled != nil {
			Fail("precondition failed: the namespace never enrolled (" + w.enrolled.Error() + "): " +
				"with no ztunnel taking its traffic there is no waypoint to fail closed on")
		}
	}
	bind := func(ctx context.Context) {
		GinkgoHelper()
		v := name
		Expect(w.s.LabelService(ctx, "api", waypoint.UseLabel, &v)).To(Succeed())
	}
	// What istiod says of the binding, for the report (Istio: WaypointBound
	// True for the stopped waypoint, False with WaypointIsNotReady once it
	// is deleted); it decides nothing.
	reportBinding := func(ctx context.Context) {
		if _, all, err := waypoint.ServiceCondition(ctx, env.Kube, w.s.Namespace, "api", waypoint.BoundCondition); err == nil {
			AddReportEntry("Service api's conditions (istiod)", all)
		}
	}

	spec("L7-WAYPOINT-MISSING-CONTROL", func(ctx SpecContext) {
		controlErr = errors.New("it failed")
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), direct)
		before := served(ctx)
		expectEach(ctx, w.frontend, w.api("GET", "/"), n, direct)
		// The server counts a reply once it is written: wait for the count.
		Expect(wait.For(ctx, fmt.Sprintf("api to count the %d requests frontend sent", n), env.Config.PolicyTimeout, func(ctx context.Context) (bool, string, error) {
			got, err := w.s.Served(ctx, "api")
			return got-before >= n, fmt.Sprintf("%d counted", got-before), err
		})).To(Succeed(), "the server's count does not see the requests it serves, so it could not show one that bypassed the waypoint")
		controlErr = nil
	})

	spec("L7-WAYPOINT-MISSING-SCALED-TO-ZERO", func(ctx SpecContext) {
		judgeable()
		ns := w.s.Namespace
		Expect(waypoint.Create(ctx, env.Kube, waypoint.Gateway(ns, name, ""))).To(Succeed())
		if _, err := waypoint.WaitGatewayProgrammed(ctx, env.Kube, ns, name, env.Config.WaypointTimeout); err != nil {
			Fail("precondition failed: the waypoint Gateway was never Programmed, so nothing made it a waypoint to bind to: " + err.Error())
		}
		gw, err := waypoint.Get(ctx, env.Kube, ns, name)
		Expect(err).NotTo(HaveOccurred())
		if len(waypoint.Addresses(gw)) == 0 {
			Fail(fmt.Sprintf("precondition failed: Gateway %s/%s is Programmed but has no address in its status, and istiod takes a Gateway as a waypoint only with one", ns, name))
		}
		gatewayErr = nil
		deps, err := waypoint.Stop(ctx, env.Kube, ns, name)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("waypoint stopped", fmt.Sprintf("Deployment(s) %s scaled to 0; Gateway addresses %v", strings.Join(deps, ", "), waypoint.Addresses(gw)))
		Expect(waypoint.WaitStopped(ctx, env.Kube, ns, name, env.Config.WaypointTimeout)).To(Succeed())

		bind(ctx)
		defer reportBinding(ctx)
		// Until the binding reaches the data plane requests still go to api
		// directly: wait (POLICY_TIMEOUT) for the first that does not, then
		// judge n more and the server's own count.
		expectTraffic(ctx, w.frontend, blocked(), failClosed("api"))
		before := served(ctx)
		expectEach(ctx, w.frontend, blocked(), n, failClosed("api"))
		expectNoneServed(ctx, before, "while its waypoint could not run")
	})

	// The deletion takes a moment to reach the data plane, and the state it
	// leaves may differ from the one before (for Istio it does: see above). A
	// request failing while it propagates proves nothing, so no request may
	// reach api for the whole POLICY_TIMEOUT after the Gateway is gone.
	spec("L7-WAYPOINT-MISSING-DELETED", func(ctx SpecContext) {
		judgeable()
		if gatewayErr != nil {
			Fail("precondition failed: no waypoint Gateway with an address was created for api, so there is none to delete: " + gatewayErr.Error())
		}
		bind(ctx) // already bound if the spec before ran through; the deletion must find it bound
		before := served(ctx)
		Expect(waypoint.Delete(ctx, env.Kube, w.s.Namespace, name, env.Config.WaypointTimeout)).To(Succeed())
		defer reportBinding(ctx)
		holdClosed(ctx, w, blocked(), n, env.Config.PolicyTimeout)
		expectNoneServed(ctx, before, "after its waypoint was deleted")
	})

	spec("L7-WAYPOINT-MISSING-RESTORED", func(ctx SpecContext) {
		Expect(w.s.LabelService(ctx, "api", waypoint.UseLabel, nil)).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), direct)
		expectEach(ctx, w.frontend, w.api("GET", "/"), n, direct)
	})
})

// failClosed passes when the request got no echo reply from app, and says
// why it fails: the request reached the server around the missing waypoint
// (no X-Request-Id), or through a waypoint that should not be running.
func failClosed(app string) traffic.Check {
	return func(r wire.Result) error {
		err := traffic.NotServedBy(app)(r)
		switch {
		case err == nil:
			return nil
		case traffic.ViaWaypoint()(r) == nil:
			return fmt.Errorf("a request reached the server through a waypoint that should not be running: %w", err)
		default:
			return fmt.Errorf("a request reached the server without passing a waypoint: %w", err)
		}
	}
}

// holdClosed sends batches of n requests (each on a new connection) from the
// world's frontend until hold has passed (at least one batch), and fails at
// the first request that gets a reply from api.
func holdClosed(ctx context.Context, w *l7World, q traffic.Request, n int, hold time.Duration) {
	GinkgoHelper()
	q.Count = n
	start := time.Now()
	batches := 0
	what := fmt.Sprintf("%s of requests %s → %s in batches of %d, none answered by api", hold, w.frontend.Pod, q.URL, n)
	// The bound leaves room for the batch that is running when hold ends.
	bound := hold + time.Duration(n)*q.PerRequest() + 30*time.Second
	err := wait.For(ctx, what, bound, func(ctx context.Context) (bool, string, error) {
		rs, err := w.frontend.Send(ctx, q)
		if err != nil {
			return false, "", err // the probe did not run: shown, retried
		}
		batches++
		if err := traffic.Each(failClosed("api"), rs); err != nil {
			return false, "", wait.Permanent(fmt.Errorf("%s after the change: %w", time.Since(start).Round(time.Second), err))
		}
		return time.Since(start) >= hold, fmt.Sprintf("%d batches, none answered by api", batches), nil
	})
	Expect(err).NotTo(HaveOccurred())
}
