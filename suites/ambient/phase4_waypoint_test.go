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
// until istio.io/use-waypoint says so (facts §3).
var _ = Describe("Phase 4: add a waypoint for L7 features", Label(labelL7), Ordered, ContinueOnFailure, func() {
	const name = "waypoint"
	var (
		w        *l7World
		l7Seen   bool // traffic went through the waypoint at least once
		snapshot map[string]ambient.PodState
	)
	BeforeAll(func(ctx SpecContext) { w = newL7World(ctx, "waypoint") })

	It("control: before any waypoint, frontend → api is L4 only (no X-Request-Id at the server)", observed, claim("waypoint"), func(ctx SpecContext) {
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.And(traffic.OK(), traffic.ServedBy("api"), traffic.NotViaWaypoint()))
	})

	// Programmed is istiod's gateway controller at work (it created the
	// Deployment and Service and assigned the address); a ready pod is the
	// waypoint proxy's. Two specs, so a control plane without proxies shows
	// which half holds.
	gatewayErr := errors.New("the Gateway was not created")
	It("a waypoint created through the API (Gateway, class istio-waypoint, listener mesh 15008 HBONE) is Programmed, with its Service on 15008", meshReported, claim("waypoint"), func(ctx SpecContext) {
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

	It("the waypoint's pod, selected by gateway.networking.k8s.io/gateway-name, becomes ready", observed, claim("waypoint"), func(ctx SpecContext) {
		Expect(gatewayErr).NotTo(HaveOccurred(), "cannot judge: the Gateway was never Programmed")
		pod, rd, err := waypoint.WaitPodReady(ctx, env.Kube, w.s.Namespace, name, env.Config.WaypointTimeout, env.Config.PullTimeout, waypoint.Readiness{})
		w.programmed[name] = err
		Expect(err).NotTo(HaveOccurred())
		recordWaypoint(pod, rd)
	})

	It("without istio.io/use-waypoint nothing uses it: traffic stays L4", observed, claim("waypoint"), func(ctx SpecContext) {
		Expect(w.programmed[name]).To(Succeed(), "cannot judge: the waypoint is not there to be ignored")
		expectEach(ctx, w.frontend, w.api("GET", "/"), 5, traffic.And(traffic.OK(), traffic.NotViaWaypoint()))
	})

	It("with istio.io/use-waypoint on the namespace, frontend → api goes through the waypoint (X-Request-Id at the server)", observed, claim("waypoint"), func(ctx SpecContext) {
		var err error
		snapshot, err = w.s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.useWaypoint(ctx, name)).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
		l7Seen = true
	})

	It("the Service api gets istio.io/WaypointBound=True", meshReported, claim("waypoint"), func(ctx SpecContext) {
		c, err := waypoint.WaitBound(ctx, env.Kube, w.s.Namespace, "api", env.Config.PolicyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry(waypoint.BoundCondition, fmt.Sprintf("%s: %s", c.Reason, c.Message))
	})

	// Item 7 of the issue: the waypoint's L7 telemetry matches what was sent
	// (the labels Istio's TestL7Telemetry asserts, facts §6.2).
	It("the waypoint counts the requests in istio_requests_total{reporter=\"waypoint\"} with both principals, the Service and response_code 200", meshReported, claim("waypoint-telemetry"), func(ctx SpecContext) {
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

	It("removing the label returns traffic to L4, and no pod restarted", observed, claim("waypoint"), func(ctx SpecContext) {
		if !l7Seen {
			Fail("precondition failed: traffic never went through the waypoint, so a return to L4 would prove nothing")
		}
		Expect(w.useWaypoint(ctx, "")).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), traffic.And(traffic.OK(), traffic.NotViaWaypoint()))
		after, err := w.s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(snapshot, after)).To(BeEmpty())
	})

	It("with istio.io/use-waypoint on the Service alone, traffic goes through the waypoint again", observed, claim("waypoint"), func(ctx SpecContext) {
		v := name
		Expect(w.s.LabelService(ctx, "api", waypoint.UseLabel, &v)).To(Succeed())
		expectTraffic(ctx, w.frontend, w.api("GET", "/"), viaWaypoint("api"))
	})
})

// The seed's `istioctl x waypoint apply` is `istioctl waypoint apply` since
// 1.23. Run the installed release's istioctl: install mode downloads it,
// preinstalled mode takes ISTIOCTL or skips with that reason.
var _ = Describe("Phase 4: the waypoint CLI", Label(labelL7), func() {
	It("istioctl waypoint apply creates the same Gateway, and it is Programmed", meshReported, observed, claim("waypoint-cli"), func(ctx SpecContext) {
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

// istio.io/waypoint-for decides which traffic a waypoint takes (facts §3.3):
// Service and namespace bindings need service or all, pod bindings need
// workload or all. Each waypoint's L7 row comes first; its L4 row is judged
// only once that waypoint has carried traffic, so a mesh without waypoints
// cannot pass it.
var waypointForRows = []struct {
	For, BindOn, Want string // BindOn: service (called by name) | pod (called by pod IP); Want: L7 | L4
}{
	{waypoint.ForService, "service", "L7"},
	{waypoint.ForService, "pod", "L4"},
	{waypoint.ForWorkload, "pod", "L7"},
	{waypoint.ForWorkload, "service", "L4"},
	{waypoint.ForAll, "service", "L7"},
	{waypoint.ForAll, "pod", "L7"},
}

var _ = Describe("Phase 4: istio.io/waypoint-for decides which traffic a waypoint takes", Label(labelL7), Ordered, ContinueOnFailure, func() {
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
		addressed := map[string]string{"service": "by Service name", "pod": "by pod IP"}[r.BindOn]
		It(fmt.Sprintf("waypoint-for=%s, use-waypoint on the %s, called %s → %s", r.For, r.BindOn, addressed, r.Want), observed, claim("waypoint-for"), func(ctx SpecContext) {
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
