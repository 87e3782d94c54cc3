//go:build e2e

package ambient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// Seed Phase 4: "Deploy a waypoint for the namespace", checked against what
// Istio does today: `istioctl waypoint apply` (not `istioctl x waypoint`,
// gone since 1.23), pods selected by gateway.networking.k8s.io/gateway-name
// (not istio.io/gateway-name, gone since 1.24), and nothing uses a waypoint
// until istio.io/use-waypoint says so (docs/istio-facts.md §3).
var _ = Describe("Phase 4: add a waypoint for L7 features", Ordered, ContinueOnFailure, func() {
	const name = "waypoint"
	var (
		w        *l7World
		l7Seen   bool // traffic went through the waypoint at least once
		snapshot map[string]ambient.PodState
	)
	BeforeAll(func(ctx SpecContext) { w = newL7World(ctx, "waypoint") })

	spec("L7-WAYPOINT-CONTROL-L4-ONLY", func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.And(traffic.OK(), traffic.ServedBy("api"), traffic.NotViaWaypoint()))
	})

	// Programmed is istiod's gateway controller at work (it created the
	// Deployment and Service and assigned the address); a ready pod is the
	// waypoint proxy's. Two specs, so a control plane without proxies shows
	// which half holds.
	gatewayErr := errors.New("the Gateway was not created")
	spec("L7-WAYPOINT-PROGRAMMED", func(ctx SpecContext) {
		w.programmed[name] = errors.New("its pod was not waited for")
		Expect(waypoint.Create(ctx, env.Kube, waypoint.Gateway(w.s.Namespace, name, ""))).To(Succeed())
		_, gatewayErr = waypoint.WaitGatewayProgrammed(ctx, env.Kube, w.s.Namespace, name, env.Config.WaypointTimeout)
		Expect(gatewayErr).NotTo(HaveOccurred())
		// The seed's second check: "kubectl get svc … waypoint". istiod
		// names the Deployment, Service and ServiceAccount after the Gateway.
		var svc corev1.Service
		Expect(env.Kube.Res().Get(ctx, name, w.s.Namespace, &svc)).To(Succeed(), "the waypoint's Service")
		var ports []int32
		for _, p := range svc.Spec.Ports {
			ports = append(ports, p.Port)
		}
		Expect(ports).To(ContainElement(int32(waypoint.HBONEPort)), "ports of Service %s", name)
	})

	spec("L7-WAYPOINT-POD-READY", func(ctx SpecContext) {
		Expect(gatewayErr).NotTo(HaveOccurred(), "cannot judge: the Gateway was never Programmed")
		pod, rd, err := waypoint.WaitPodReady(ctx, env.Kube, w.s.Namespace, name, env.Config.WaypointTimeout, env.Config.PullTimeout, waypoint.Readiness{})
		w.programmed[name] = err
		Expect(err).NotTo(HaveOccurred())
		recordWaypoint(pod, rd)
	})

	spec("L7-WAYPOINT-UNUSED-WITHOUT-LABEL", func(ctx SpecContext) {
		Expect(w.programmed[name]).To(Succeed(), "cannot judge: the waypoint is not there to be ignored")
		expectEach(ctx, w.frontend, w.api("GET", "/"), 5, traffic.And(traffic.OK(), traffic.NotViaWaypoint()))
	})

	spec("L7-WAYPOINT-NAMESPACE-USE", func(ctx SpecContext) {
		var err error
		snapshot, err = w.s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.useWaypoint(ctx, name)).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
		l7Seen = true
	})

	spec("L7-WAYPOINT-BOUND-CONDITION", func(ctx SpecContext) {
		c, err := waypoint.WaitBound(ctx, env.Kube, w.s.Namespace, "api", env.Config.PolicyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry(waypoint.BoundCondition, fmt.Sprintf("%s: %s", c.Reason, c.Message))
	})

	// Item 7 of the issue: the waypoint's L7 telemetry matches what was sent
	// (the labels Istio's TestL7Telemetry asserts, docs/istio-facts.md §6.2).
	spec("L7-WAYPOINT-TELEMETRY", func(ctx SpecContext) {
		pod, err := waypoint.Pod(ctx, env.Kube, w.s.Namespace, name)
		Expect(err).NotTo(HaveOccurred())
		before, err := waypoint.Metrics(ctx, env.Kube, pod)
		Expect(err).NotTo(HaveOccurred(), "scraping the waypoint")
		const sent = 10
		expectEach(ctx, w.frontend, w.api("GET", "/telemetry"), sent, viaWaypoint("api"))
		match := map[string]string{
			"reporter":                       "waypoint",
			"response_code":                  "200",
			"request_protocol":               "http",
			"source_principal":               w.principal("frontend"),
			"destination_principal":          w.principal("api"),
			"destination_service":            w.s.FQDN("api"),
			"connection_security_policy":     "mutual_tls",
			"destination_workload_namespace": w.s.Namespace,
		}
		Eventually(func(ctx context.Context) (float64, error) {
			after, err := waypoint.Metrics(ctx, env.Kube, pod)
			return evidence.Delta(before, after, "istio_requests_total", match), err
		}).WithContext(ctx).WithTimeout(env.Config.PolicyTimeout).WithPolling(2*time.Second).Should(BeNumerically(">=", sent),
			"istio_requests_total%v at %s", match, pod.Name)
	})

	spec("L7-WAYPOINT-UNLABEL-RETURNS-L4", func(ctx SpecContext) {
		if !l7Seen {
			Fail("precondition failed: traffic never went through the waypoint, so a return to L4 would prove nothing")
		}
		Expect(w.useWaypoint(ctx, "")).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.And(traffic.OK(), traffic.NotViaWaypoint()))
		after, err := w.s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(snapshot, after)).To(BeEmpty())
	})

	spec("L7-WAYPOINT-SERVICE-USE", func(ctx SpecContext) {
		v := name
		Expect(w.s.LabelService(ctx, "api", waypoint.UseLabel, &v)).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
	})
})

// The seed's `istioctl x waypoint apply` is `istioctl waypoint apply` since
// 1.23. Run the installed release's istioctl: install mode downloads it,
// preinstalled mode takes ISTIOCTL or skips with that reason.
var _ = Describe("Phase 4: the waypoint CLI", func() {
	spec("L7-WAYPOINT-CLI-APPLY", func(ctx SpecContext) {
		bin := env.Shared.Istioctl
		if bin == "" {
			bin = env.Config.Istioctl
		}
		if bin == "" {
			Skip("no istioctl: MESH_MODE=preinstalled and ISTIOCTL is not set (set it to the installed release's istioctl)")
		}
		s := newScenario(ctx, "wpcli")
		Expect(mesh.Istioctl(ctx, bin, mesh.TargetOf(env.Kube), time.Minute, GinkgoWriter,
			"waypoint", "apply", "-n", s.Namespace, "--name", "waypoint", "--for", waypoint.ForService)).To(Succeed())
		gw, err := waypoint.Get(ctx, env.Kube, s.Namespace, "waypoint")
		Expect(err).NotTo(HaveOccurred())
		want := waypoint.Gateway(s.Namespace, "waypoint", waypoint.ForService)
		Expect(gw.Spec.GatewayClassName).To(Equal(want.Spec.GatewayClassName))
		Expect(gw.Spec.Listeners).To(HaveLen(1))
		l := gw.Spec.Listeners[0]
		Expect([]any{l.Name, l.Port, l.Protocol}).To(Equal([]any{want.Spec.Listeners[0].Name, want.Spec.Listeners[0].Port, want.Spec.Listeners[0].Protocol}))
		Expect(gw.Labels).To(HaveKeyWithValue(waypoint.ForLabel, waypoint.ForService))
		pod, rd, err := waypoint.WaitProgrammed(ctx, env.Kube, s.Namespace, "waypoint", env.Config.WaypointTimeout, env.Config.PullTimeout)
		Expect(err).NotTo(HaveOccurred())
		recordWaypoint(pod, rd)
	})
})

// istio.io/waypoint-for decides which traffic a waypoint takes (docs/istio-facts.md §3.3):
// Service and namespace bindings need service or all, pod bindings need
// workload or all. Each waypoint's L7 row comes first; its L4 row is judged
// only once that waypoint has carried traffic, so a mesh without waypoints
// cannot pass it.
var waypointForRows = []struct {
	For, BindOn, Want string // BindOn: service (called by name) | pod (called by pod IP); Want: L7 | L4
	ID                string // the row's conformance test (suites/catalogue)
}{
	{waypoint.ForService, "service", "L7", "L7-WAYPOINT-FOR-SERVICE-BY-SERVICE"},
	{waypoint.ForService, "pod", "L4", "L7-WAYPOINT-FOR-SERVICE-BY-POD-IP"},
	{waypoint.ForWorkload, "pod", "L7", "L7-WAYPOINT-FOR-WORKLOAD-BY-POD-IP"},
	{waypoint.ForWorkload, "service", "L4", "L7-WAYPOINT-FOR-WORKLOAD-BY-SERVICE"},
	{waypoint.ForAll, "service", "L7", "L7-WAYPOINT-FOR-ALL-BY-SERVICE"},
	{waypoint.ForAll, "pod", "L7", "L7-WAYPOINT-FOR-ALL-BY-POD-IP"},
}

var _ = Describe("Phase 4: istio.io/waypoint-for decides which traffic a waypoint takes", Ordered, ContinueOnFailure, func() {
	var (
		w       *l7World
		carried = map[string]error{} // waypoint-for → nil once its L7 row passed
	)
	server := func(bindOn, wpFor string) string { return bindOn + "-bound-to-" + wpFor }
	wpName := func(wpFor string) string { return "wp-" + wpFor }
	BeforeAll(func(ctx SpecContext) {
		var servers []fixtures.Workload
		for _, r := range waypointForRows {
			servers = append(servers, workloadBoundTo(server(r.BindOn, r.For), r.BindOn, wpName(r.For)))
			carried[r.For] = errors.New("its L7 row has not passed")
		}
		w = newL7World(ctx, "wpfor", l7Setting{Extra: servers})
		if err := w.addWaypoints(ctx, map[string]string{
			wpName(waypoint.ForService): waypoint.ForService, wpName(waypoint.ForWorkload): waypoint.ForWorkload, wpName(waypoint.ForAll): waypoint.ForAll,
		}); err != nil {
			GinkgoWriter.Printf("%v; the specs below judge traffic anyway\n", err)
		}
	})
	for _, r := range waypointForRows {
		spec(r.ID, func(ctx SpecContext) {
			app := server(r.BindOn, r.For)
			q := traffic.Request{URL: w.s.HTTP(app, "/")}
			if r.BindOn == "pod" {
				p, err := w.s.Pod(ctx, app)
				Expect(err).NotTo(HaveOccurred())
				q.URL = podURL(p, "/")
			}
			if r.Want == "L7" {
				expectTraffic(ctx, w.frontend, q, viaWaypoint(app))
				carried[r.For] = nil
				return
			}
			Expect(carried[r.For]).To(Succeed(), "cannot judge: the %s waypoint never carried traffic", wpName(r.For))
			expectEach(ctx, w.frontend, q, 5, traffic.And(traffic.OK(), traffic.ServedBy(app), traffic.NotViaWaypoint()))
		})
	}
})
