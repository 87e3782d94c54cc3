//go:build e2e

package ambient_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/versions"
	"github.com/ambient-e2e/ambient-e2e/harness/ztunnel"
)

// expectation is one row of an L4 table: a caller and what it must see.
type expectation struct {
	Source string // frontend | other | outside (not in the mesh)
	Want   string // "200" or "reset"
}

func (e expectation) check() traffic.Check {
	if e.Want == "reset" {
		return traffic.Reset()
	}
	return traffic.And(traffic.OK(), traffic.ServedBy("backend"))
}

// l4PolicyCases are the seed's "Policy and Security Basics" as data. In each
// case the denied rows come first and are retried until POLICY_TIMEOUT: a
// deny seen proves the policy reached ztunnel, so the allowed rows after it
// cannot pass just because the policy was not there yet.
var l4PolicyCases = []struct {
	Policy string
	About  string
	Rows   []expectation
}{
	{fixtures.AllowFrontendToBackend, "the seed's allow-frontend-to-backend, applied verbatim",
		[]expectation{{"other", "reset"}, {"outside", "reset"}, {"frontend", "200"}}},
	{fixtures.DenyOtherToBackend, "an explicit DENY of the identity other",
		[]expectation{{"other", "reset"}, {"frontend", "200"}, {"outside", "200"}}},
	{fixtures.AllowInternal, "the seed's namespace-scoped allow-internal (source.namespaces)",
		[]expectation{{"outside", "reset"}, {"frontend", "200"}, {"other", "200"}}},
}

var _ = Describe("Policy and security basics: L4 AuthorizationPolicy enforced by ztunnel", Label(labelL4), func() {
	for _, pc := range l4PolicyCases {
		Describe(pc.About, Ordered, ContinueOnFailure, func() {
			var w *l4World
			BeforeAll(func(ctx SpecContext) {
				w = newL4World(ctx, "authz")
				Expect(w.mesh.Apply(ctx, pc.Policy)).To(Succeed())
			})
			for _, row := range pc.Rows {
				It(fmt.Sprintf("%s → backend gets %s, each request on a new connection", row.Source, row.Want), func(ctx SpecContext) {
					client := w.clients[row.Source]
					if row.Want == "reset" {
						_, err := client.Until(ctx, w.backend(), row.check(), env.Config.PolicyTimeout)
						Expect(err).NotTo(HaveOccurred())
					}
					// Then it must hold for several fresh connections.
					expectEach(ctx, client, w.backend(), 5, row.check())
				})
			}
		})
	}
})

// Seed: PeerAuthentication is not in the article, but "mTLS by default"
// only means plaintext is refused under STRICT (facts §4.4, §5.4).
var _ = Describe("Policy and security basics: STRICT mTLS rejects plaintext", Label(labelL4), Ordered, ContinueOnFailure, func() {
	var w *l4World
	BeforeAll(func(ctx SpecContext) { w = newL4World(ctx, "strict") })

	It("control: without a PeerAuthentication (PERMISSIVE) a client outside the mesh gets 200", func(ctx SpecContext) {
		expectTraffic(ctx, w.clients["outside"], w.backend(), traffic.And(traffic.OK(), traffic.ServedBy("backend")))
	})

	It("with PeerAuthentication STRICT a client outside the mesh gets a reset", func(ctx SpecContext) {
		Expect(w.mesh.Apply(ctx, fixtures.PeerAuthStrict)).To(Succeed())
		_, err := w.clients["outside"].Until(ctx, w.backend(), traffic.Reset(), env.Config.PolicyTimeout)
		Expect(err).NotTo(HaveOccurred())
	})

	It("with PeerAuthentication STRICT a client in the mesh gets 200", func(ctx SpecContext) {
		expectTraffic(ctx, w.clients["frontend"], w.backend(), traffic.And(traffic.OK(), traffic.ServedBy("backend")))
	})
})

// ztunnel re-checks open connections when policy changes and closes the
// ones no longer allowed (ztunnel connection_manager.rs, facts §4.2).
// Waypoints check per request instead; this is the ztunnel half.
var _ = Describe("Policy and security basics: a policy change and connections already open", Label(labelL4), Ordered, func() {
	var w *l4World
	BeforeAll(func(ctx SpecContext) { w = newL4World(ctx, "openconn") })

	It("a new DENY closes an open connection it no longer allows, and the time to close is reported", func(ctx SpecContext) {
		hold := w.clients["other"].Hold(ctx, w.mesh.TCP("backend"), env.Config.PolicyTimeout+10*time.Second)
		select {
		case <-hold.Ready:
		case out := <-hold.Done:
			Fail(fmt.Sprintf("the connection other → backend never carried a ping: %+v %v", out.Result, out.Err))
		case <-ctx.Done():
			Fail("interrupted before the connection was up")
		}
		applied := time.Now()
		Expect(w.mesh.Apply(ctx, fixtures.DenyOtherToBackend)).To(Succeed())
		out := <-hold.Done
		Expect(out.Err).NotTo(HaveOccurred())
		r := out.Result
		Expect(r.Broken).To(BeTrue(), "the connection stayed open for %s after the DENY was applied (%d pings came back)",
			out.Ended.Sub(applied).Round(time.Second), r.Pings)
		Expect(r.ErrorClass).To(BeElementOf(wire.ClassReset, wire.ClassEOF), "closed with %s (%s)", r.ErrorClass, r.Error)
		AddReportEntry("time to close an open connection after a DENY", out.Ended.Sub(applied).String())
	})
})

// Version-gated: istio_tcp_connections_failed_total exists from Istio 1.29
// (facts §5.2). Older releases report this spec as skipped, with the reason.
var _ = Describe("Policy and security basics: denied connections are counted", Label(labelL4), Ordered, func() {
	It("a connection denied by ztunnel increments istio_tcp_connections_failed_total at the destination", func(ctx SpecContext) {
		if on, err := env.Release.Feature(versions.FeatureTCPConnectionsFailedMetric); err != nil || !on {
			Skip(fmt.Sprintf("istio_tcp_connections_failed_total exists only from Istio 1.29; this run expects %s (gate %s)", env.Release.Istio, versions.FeatureTCPConnectionsFailedMetric))
		}
		w := newL4World(ctx, "failedmetric")
		backend, err := w.mesh.Pod(ctx, "backend")
		Expect(err).NotTo(HaveOccurred())
		zt := ztunnel.Reader{Kube: env.Kube}
		before, err := zt.Metrics(ctx, backend.Spec.NodeName)
		Expect(err).NotTo(HaveOccurred(), "scraping the ztunnel on the backend's node")
		Expect(w.mesh.Apply(ctx, fixtures.DenyOtherToBackend)).To(Succeed())
		_, err = w.clients["other"].Until(ctx, w.backend(), traffic.Reset(), env.Config.PolicyTimeout)
		Expect(err).NotTo(HaveOccurred())
		match := map[string]string{evidence.LabelReporter: evidence.ReporterDestination}
		Eventually(func(ctx context.Context) (float64, error) {
			after, err := zt.Metrics(ctx, backend.Spec.NodeName)
			return evidence.Delta(before, after, evidence.MetricTCPFailed, match), err
		}).WithContext(ctx).WithTimeout(env.Config.PolicyTimeout).Should(BeNumerically(">=", 1))
	})
})
