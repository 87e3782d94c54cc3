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
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// expectation is one row of an L4 table: a caller and what it must see.
type expectation struct {
	Source string // frontend | other | outside (not in the mesh)
	Want   string // "200" or "refused"
	ID     string // the row's conformance test (suites/catalogue)
}

func (e expectation) check() traffic.Check {
	if e.Want == "refused" {
		return traffic.ZtunnelRefused()
	}
	return traffic.And(traffic.OK(), traffic.ServedBy("backend"))
}

// denyReason is the reason the destination ztunnel logs for the policy's
// refusals (ztunnel src/proxy.rs AuthorizationRejectionError).
type denyReason func(policyNamespace string) string

var (
	noAllowMatched denyReason = func(string) string { return evidence.ReasonNotAllowed }
	deniedBy                  = func(name string) denyReason {
		return func(ns string) string { return evidence.ReasonExplicitlyDeniedPrefix + ns + "/" + name }
	}
)

// l4PolicyCases are the seed's "Policy and Security Basics" as data. In each
// case the refused rows come first and are retried until POLICY_TIMEOUT: a
// refusal seen proves the policy reached ztunnel, so the allowed rows after
// it cannot pass just because the policy was not there yet. A refusal counts
// only with the destination ztunnel's access line naming the policy's
// reason: a reset alone could have another cause.
var l4PolicyCases = []struct {
	Policy string
	About  string
	Reason denyReason
	Rows   []expectation
}{
	{fixtures.AllowFrontendToBackend, "the seed's allow-frontend-to-backend, applied verbatim", noAllowMatched,
		[]expectation{
			{"other", "refused", "L4-AUTHZ-ALLOW-FRONTEND-OTHER-REFUSED"},
			{"outside", "refused", "L4-AUTHZ-ALLOW-FRONTEND-OUTSIDE-REFUSED"},
			{"frontend", "200", "L4-AUTHZ-ALLOW-FRONTEND-FRONTEND-OK"},
		}},
	{fixtures.DenyOtherToBackend, "an explicit DENY of the identity other", deniedBy(fixtures.DenyOtherToBackend),
		[]expectation{
			{"other", "refused", "L4-AUTHZ-DENY-OTHER-OTHER-REFUSED"},
			{"frontend", "200", "L4-AUTHZ-DENY-OTHER-FRONTEND-OK"},
			{"outside", "200", "L4-AUTHZ-DENY-OTHER-OUTSIDE-OK"},
		}},
	{fixtures.AllowInternal, "the seed's namespace-scoped allow-internal (source.namespaces)", noAllowMatched,
		[]expectation{
			{"outside", "refused", "L4-AUTHZ-ALLOW-NAMESPACE-OUTSIDE-REFUSED"},
			{"frontend", "200", "L4-AUTHZ-ALLOW-NAMESPACE-FRONTEND-OK"},
			{"other", "200", "L4-AUTHZ-ALLOW-NAMESPACE-OTHER-OK"},
		}},
}

var _ = Describe("Policy and security basics: L4 AuthorizationPolicy enforced by ztunnel", func() {
	for _, pc := range l4PolicyCases {
		Describe(pc.About, Ordered, ContinueOnFailure, func() {
			var w *l4World
			BeforeAll(func(ctx SpecContext) {
				w = newL4World(ctx, "authz")
				Expect(w.mesh.Apply(ctx, pc.Policy)).To(Succeed())
			})
			for _, row := range pc.Rows {
				if row.Want == "200" {
					spec(row.ID, func(ctx SpecContext) {
						expectEach(ctx, w.clients[row.Source], w.backend(), 5, row.check())
					})
					continue
				}
				spec(row.ID, func(ctx SpecContext) {
					client := w.clients[row.Source]
					since := time.Now()
					expectTraffic(ctx, client, w.backend(), row.check())
					// Then it must hold for several fresh connections, each
					// refused by the policy at the backend's ztunnel.
					const n = 5
					expectEach(ctx, client, w.backend(), n, row.check())
					expectRefusedByPolicy(ctx, client, w.pod(ctx, "backend"), pc.Reason(w.mesh.Namespace), since, n)
				})
			}
		})
	}
})

// Seed: PeerAuthentication is not in the article, but "mTLS by default"
// only means plaintext is refused under STRICT (docs/istio-facts.md §4.4, §5.4).
var _ = Describe("Policy and security basics: STRICT mTLS rejects plaintext", Ordered, ContinueOnFailure, func() {
	var w *l4World
	BeforeAll(func(ctx SpecContext) { w = newL4World(ctx, "strict") })

	spec("L4-STRICT-CONTROL-PERMISSIVE", func(ctx SpecContext) {
		expectTraffic(ctx, w.clients["outside"], w.backend(), traffic.And(traffic.OK(), traffic.ServedBy("backend")))
	})

	spec("L4-STRICT-REFUSES-PLAINTEXT", func(ctx SpecContext) {
		Expect(w.mesh.Apply(ctx, fixtures.PeerAuthStrict)).To(Succeed())
		outside, refused := w.clients["outside"], traffic.ZtunnelRefused()
		since := time.Now()
		expectTraffic(ctx, outside, w.backend(), refused)
		// One refusal could be a transient: every fresh connection after it
		// must be refused too (docs/review-findings.md #9), by the static DENY istiod
		// adds in the root namespace once a PeerAuthentication exists
		// (pilot/pkg/serviceregistry/ambient/authorization.go@1.30.3:
		// staticStrictPolicyName; docs/istio-facts.md §4.4).
		const n = 5
		expectEach(ctx, outside, w.backend(), n, refused)
		expectRefusedByPolicy(ctx, outside, w.pod(ctx, "backend"),
			evidence.ReasonExplicitlyDeniedPrefix+env.Shared.Mesh.Namespace+"/istio_converted_static_strict", since, n)
	})

	spec("L4-STRICT-MESH-CLIENT-OK", func(ctx SpecContext) {
		expectTraffic(ctx, w.clients["frontend"], w.backend(), traffic.And(traffic.OK(), traffic.ServedBy("backend")))
	})
})

// ztunnel re-checks open connections when policy changes and closes the
// ones no longer allowed (ztunnel src/proxy/connection_manager.rs
// PolicyWatcher, docs/istio-facts.md §4.2). Waypoints check per request instead; this is
// the ztunnel half. Any break would pass a naive check (an idle timeout, a
// ztunnel restart, a bug that drops every connection on a push), so the
// break must come after the DENY, an allowed connection held beside it must
// survive, and the backend's ztunnel must say it closed exactly this one
// (docs/review-findings.md #2).
//
// Two scopes of the same DENY, because ztunnel treats them differently. The
// PolicyWatcher re-checks each open connection with assert_rbac against the
// destination workload as it was when the connection opened
// (ProxyRbacContext.dest_workload, captured by the inbound proxy), and a
// policy bound with a selector is listed on the workload
// (Workload.authorization_policies), while a namespace-wide one is looked up
// by namespace in the policy store (ztunnel src/state.rs assert_rbac,
// src/state/policy.rs PolicyStore.insert, release-1.31; the same on master
// of 2026-08-20). So a new namespace-wide DENY closes the open connection
// and a new selector-bound DENY, the seed's form, leaves it open until it
// ends: seen with a real ztunnel (release-1.31) on the self-test's ztunnel
// mesh, 2026-12-07, reports/ztunnel-mesh.yaml.
var _ = Describe("Policy and security basics: a policy change and connections already open", func() {
	for _, tc := range []struct{ scope, policy, prefix, id string }{
		{"bound to the backend with a selector (the seed's form)", fixtures.DenyOtherToBackend, "openconn", "L4-AUTHZ-CLOSES-OPEN-SELECTOR"},
		{"for the whole namespace (no selector)", fixtures.DenyOtherInNamespace, "openconn-ns", "L4-AUTHZ-CLOSES-OPEN-NAMESPACE"},
	} {
		Describe("a new DENY "+tc.scope, Ordered, func() {
			var w *l4World
			BeforeAll(func(ctx SpecContext) { w = newL4World(ctx, tc.prefix) })

			spec(tc.id, func(ctx SpecContext) {
				// Without enrollment no ztunnel carries these connections, so no
				// policy could close them: holding them to the bound proves nothing.
				Expect(w.enrolled).NotTo(HaveOccurred(), "precondition: the namespace never enrolled, so no ztunnel holds the connections a DENY could close")
				holdFor := env.Config.PolicyTimeout + 10*time.Second
				controlCtx, stopControl := context.WithCancel(ctx)
				defer stopControl()
				denied := w.clients["other"].Hold(ctx, w.mesh.TCP("backend"), holdFor)
				control := w.clients["frontend"].Hold(controlCtx, w.mesh.TCP("backend"), holdFor)
				for name, h := range map[string]*traffic.Held{"other → backend": denied, "frontend → backend (the control)": control} {
					select {
					case <-h.Ready:
					case out := <-h.Done:
						Fail(fmt.Sprintf("the connection %s never carried a ping: %+v %v", name, out.Result, out.Err))
					case <-ctx.Done():
						Fail("interrupted before the connections were up")
					}
				}
				// A break before the policy goes in proves nothing.
				for name, h := range map[string]*traffic.Held{"other → backend": denied, "frontend → backend": control} {
					select {
					case out := <-h.Done:
						Fail(fmt.Sprintf("the connection %s ended before the DENY was applied: %+v %v", name, out.Result, out.Err))
					default:
					}
				}
				applied := time.Now()
				Expect(w.mesh.Apply(ctx, tc.policy)).To(Succeed())
				out := <-denied.Done
				Expect(out.Err).NotTo(HaveOccurred())
				r := out.Result
				Expect(r.Broken).To(BeTrue(), "the connection stayed open for %s after the DENY was applied (%d pings came back)",
					out.Ended.Sub(applied).Round(time.Second), r.Pings)
				Expect(out.Ended).To(BeTemporally(">", applied), "the connection broke before the DENY was applied")
				Expect(r.ErrorClass).To(BeElementOf(wire.ClassReset, wire.ClassEOF), "closed with %s (%s)", r.ErrorClass, r.Error)
				AddReportEntry("time to close an open connection after a DENY", out.Ended.Sub(applied).String())

				// The control: the connection the DENY still allows must survive it.
				// A dead connection ends the hold within its 3 s ping timeout, so
				// watching it for longer than that is the proof.
				const controlWatch = 5 * time.Second
				select {
				case c := <-control.Done:
					Fail(fmt.Sprintf("the allowed connection frontend → backend ended too (%s %s, %d pings): the policy change cut connections it still allows",
						c.Result.ErrorClass, c.Result.Error, c.Result.Pings))
				case <-time.After(controlWatch):
				}

				// The cause: the backend's ztunnel closed this connection because
				// the policy update no longer allows it.
				backend := w.pod(ctx, "backend")
				otherIP := podIP(ctx, w.clients["other"])
				Expect(wait.For(ctx, "the PolicyWatcher's close line at the ztunnel on "+backend.Spec.NodeName, env.Config.PolicyTimeout, func(ctx context.Context) (bool, string, error) {
					entries, err := env.Ztunnel().Log(ctx, backend.Spec.NodeName, applied.Add(-time.Second))
					if err != nil {
						return false, "", notMeshed(err)
					}
					if err := evidence.CheckPolicyClosed(entries, otherIP, backend.Status.PodIP); err != nil {
						return false, err.Error(), nil
					}
					return true, "", nil
				})).To(Succeed())
			})
		})
	}
})

// Version-gated: istio_tcp_connections_failed_total exists from Istio 1.29
// (docs/istio-facts.md §5.2). Older releases report this spec as skipped, with the reason.
var _ = Describe("Policy and security basics: denied connections are counted", Ordered, func() {
	spec("L4-AUTHZ-DENIED-METRIC", func(ctx SpecContext) {
		if on, err := env.Release.Feature(versions.FeatureTCPConnectionsFailedMetric); err != nil || !on {
			Skip(fmt.Sprintf("istio_tcp_connections_failed_total exists only from Istio 1.29; this run expects %s (gate %s)", env.Release.Istio, versions.FeatureTCPConnectionsFailedMetric))
		}
		w := newL4World(ctx, "failedmetric")
		backend := w.pod(ctx, "backend")
		zt := env.Ztunnel()
		before, err := zt.Metrics(ctx, backend.Spec.NodeName)
		Expect(err).NotTo(HaveOccurred(), "scraping the ztunnel on the backend's node")
		Expect(w.mesh.Apply(ctx, fixtures.DenyOtherToBackend)).To(Succeed())
		expectTraffic(ctx, w.clients["other"], w.backend(), traffic.ZtunnelRefused())
		// Only this spec's denies: the flag ztunnel sets on a policy denial
		// (src/proxy/metrics.rs ResponseFlags::AuthorizationPolicyDenied →
		// "DENY") and this namespace's destination (docs/review-findings.md #5).
		match := map[string]string{evidence.LabelReporter: evidence.ReporterDestination,
			evidence.LabelResponseFlags: evidence.ResponseFlagDeny, evidence.LabelDestinationWorkloadNamespace: w.mesh.Namespace}
		Eventually(func(ctx context.Context) (float64, error) {
			after, err := zt.Metrics(ctx, backend.Spec.NodeName)
			return evidence.Delta(before, after, evidence.MetricTCPFailed, match), err
		}).WithContext(ctx).WithTimeout(env.Config.PolicyTimeout).Should(BeNumerically(">=", 1), "%s%v at the ztunnel on %s", evidence.MetricTCPFailed, match, backend.Spec.NodeName)
	})
})
