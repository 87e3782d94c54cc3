//go:build e2e

package ambient_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// Seed, "Interaction with Kubernetes NetworkPolicy": deny everything with a
// NetworkPolicy, allow identities with an AuthorizationPolicy. Ambient also
// needs HBONE (15008), DNS and the kubelet's probes from 169.254.7.127
// allowed (istio.io docs/ambient/usage/networkpolicy).
var _ = Describe("Policy and security basics: NetworkPolicy with AuthorizationPolicy (defense in depth)", Ordered, ContinueOnFailure, func() {
	var (
		w        *l4World
		enforced error // nil once the control proved the CNI enforces NetworkPolicy
		peer     traffic.Request
	)
	const dropTimeout = 3 * time.Second

	BeforeAll(func(ctx SpecContext) {
		w = newL4World(ctx, "netpol")
		Expect(w.outside.Deploy(ctx, fixtures.Workload{Name: "peer", Service: "peer"})).To(Succeed())
		peer = traffic.Request{URL: w.outside.HTTP("peer", "/"), Timeout: dropTimeout}
		enforced = errNotYetChecked
	})
	requireEnforcement := func() {
		if enforced != nil {
			Skip("NetworkPolicy is not enforced by this cluster's CNI, so defense in depth cannot be judged: " + enforced.Error())
		}
	}

	spec("L4-NETPOL-CNI-CONTROL", func(ctx SpecContext) {
		expectTraffic(ctx, w.clients["outside"], peer, traffic.And(traffic.OK(), traffic.ServedBy("peer")))
		Expect(w.outside.Apply(ctx, fixtures.NetpolDefaultDeny)).To(Succeed())
		_, enforced = w.clients["outside"].Until(ctx, peer, traffic.Timeout(), env.Config.PolicyTimeout)
		requireEnforcement()
	})

	spec("L4-NETPOL-ALLOWED-IDENTITY", func(ctx SpecContext) {
		requireEnforcement()
		for _, p := range []string{fixtures.NetpolDefaultDeny, fixtures.NetpolAmbientAllows, fixtures.AllowFrontendToBackend} {
			Expect(w.mesh.Apply(ctx, p)).To(Succeed())
		}
		// The denied identity first: proves both policies are in force.
		_, _ = w.clients["other"].Until(ctx, w.backend(), traffic.ZtunnelRefused(), env.Config.PolicyTimeout)
		expectTraffic(ctx, w.clients["frontend"], w.backend(), traffic.And(traffic.OK(), traffic.ServedBy("backend")))
	})

	spec("L4-NETPOL-DISALLOWED-REFUSED-BY-AUTHZ", func(ctx SpecContext) {
		requireEnforcement()
		since := time.Now()
		expectTraffic(ctx, w.clients["other"], w.backend(), traffic.ZtunnelRefused())
		expectRefusedByPolicy(ctx, w.clients["other"], w.pod(ctx, "backend"), evidence.ReasonNotAllowed, since, 1)
	})

	spec("L4-NETPOL-UNALLOWED-FLOW-DROPPED", func(ctx SpecContext) {
		requireEnforcement()
		// A CNI that also blocks the kubelet's probes leaves peer NotReady,
		// and a client then sees a refusal for want of an endpoint, not the
		// drop this row is about: judge only a Ready peer (docs/review-findings.md #12).
		p, err := w.outside.Pod(ctx, "peer")
		Expect(err).NotTo(HaveOccurred())
		Expect(kube.PodReady(p)).To(BeTrue(), "cannot judge: peer %s is not Ready under the NetworkPolicies (do they block the kubelet's probes?): %v", p.Name, p.Status.Conditions)
		expectTraffic(ctx, w.clients["frontend"], peer, traffic.Timeout())
	})
})
