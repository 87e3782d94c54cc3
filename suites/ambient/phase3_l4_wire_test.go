//go:build e2e

package ambient_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/sniffverdict"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/sniffer"
)

// Seed, Phase 3: "You should see TLS handshakes in the ztunnel logs". The
// proof that cannot be faked is on the wire: a random canary sent in a
// header and the body between two mesh pods must never appear in a captured
// packet, and TLS records must cross on 15008. The same sniffer, in the same
// run, must see another canary between two pods outside the mesh, or the
// verdict is "sniffer blind", never a pass (cilium's sniffer sanity mode).
var _ = Describe("Phase 3: verify L4 security — mTLS on the wire", Ordered, ContinueOnFailure, func() {
	var (
		sum         wire.SniffSummary
		sumErr      error
		mesh, plain *flow
	)

	BeforeAll(func(ctx SpecContext) {
		nodes, err := env.Kube.WorkerNodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(nodes)).To(BeNumerically(">=", 2), "needs two schedulable nodes, found %v", nodes)
		newNS := func(prefix string) *scenario.Scenario {
			s := newScenario(ctx, prefix)
			Expect(s.Deploy(ctx,
				fixtures.Workload{Name: "server", Service: "server", NodeName: nodes[0]},
				fixtures.Workload{Name: "client", NodeName: nodes[1]},
			)).To(Succeed())
			return s
		}
		mesh = &flow{s: newNS("wire"), server: "server", client: "client", canary: sniffer.Canary("mesh")}
		plain = &flow{s: newNS("wire-plain"), server: "server", client: "client", canary: sniffer.Canary("plain")}
		if err := mesh.s.Enroll(ctx); err != nil {
			AddReportEntry("not enrolled", err.Error())
		} else {
			client, err := mesh.s.Client(ctx, mesh.client)
			Expect(err).NotTo(HaveOccurred())
			server, err := mesh.s.Pod(ctx, mesh.server)
			Expect(err).NotTo(HaveOccurred())
			warmUpMTLS(ctx, client, nodes[1], server, mesh.s.TCP(mesh.server))
		}
		// One capture on the server's node for both pairs: the same sniffer,
		// the same run, is both the judge and its own sanity control.
		sum, sumErr = capture(ctx, nodes[0], []*flow{mesh, plain}, 5)
	})

	spec("L4-WIRE-SNIFFER-CONTROL", func() {
		Expect(sumErr).NotTo(HaveOccurred())
		v := sniffverdict.AssertPlaintextVisible(sniffverdict.Between(sum, plain.ips...))
		Expect(v.State).To(Equal(sniffverdict.Pass), "sniffer blind: %s", v.Reason)
	})

	spec("L4-WIRE-NO-PLAINTEXT", func() {
		Expect(sumErr).NotTo(HaveOccurred())
		expectEncryptedWithControl(sum, mesh, plain)
		AddReportEntry("TLS records on 15008", sum.TLSRecordsByPort)
	})
})
