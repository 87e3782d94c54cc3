//go:build e2e

package ambient_test

import (
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/sniffverdict"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/sniffer"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// Seed, Phase 3: "You should see TLS handshakes in the ztunnel logs". The
// proof that cannot be faked is on the wire: a random canary sent in a
// header and the body between two mesh pods must never appear in a captured
// packet, and TLS records must cross on 15008. The same sniffer, in the same
// run, must see another canary between two pods outside the mesh, or the
// verdict is "sniffer blind", never a pass (cilium's sniffer sanity mode).
var _ = Describe("Phase 3: verify L4 security — mTLS on the wire", Label(labelL4), Ordered, ContinueOnFailure, func() {
	const requests = 5
	var (
		sum                     wire.SniffSummary
		sumErr                  error
		meshIPs, plainIPs       []netip.Addr
		meshCanary, plainCanary string
	)

	BeforeAll(func(ctx SpecContext) {
		nodes, err := env.Kube.WorkerNodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(nodes)).To(BeNumerically(">=", 2), "needs two schedulable nodes, found %v", nodes)
		newNS := func(prefix string) *scenario.Scenario {
			s, err := scenario.New(ctx, env, prefix, nil)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func(ctx SpecContext) { Expect(s.Cleanup(ctx)).To(Succeed()) })
			Expect(s.Deploy(ctx,
				fixtures.Workload{Name: "server", Service: "server", NodeName: nodes[0]},
				fixtures.Workload{Name: "client", NodeName: nodes[1]},
			)).To(Succeed())
			return s
		}
		mesh, plain := newNS("wire"), newNS("wire-plain")
		if err := mesh.Enroll(ctx); err != nil {
			AddReportEntry("not enrolled", err.Error())
		}
		ips := func(s *scenario.Scenario) []netip.Addr {
			var out []netip.Addr
			for _, app := range []string{"server", "client"} {
				p, err := s.Pod(ctx, app)
				Expect(err).NotTo(HaveOccurred())
				out = append(out, netip.MustParseAddr(p.Status.PodIP))
			}
			return out
		}
		meshIPs, plainIPs = ips(mesh), ips(plain)
		meshCanary, plainCanary = sniffer.Canary("mesh"), sniffer.Canary("plain")

		var all []string
		for _, a := range append(append([]netip.Addr{}, meshIPs...), plainIPs...) {
			all = append(all, a.String())
		}
		sn, err := sniffer.Start(ctx, env.Kube, sniffer.Options{
			Namespace: plain.Namespace, Node: nodes[0], Image: env.Shared.ProbeImage,
			IPs: all, Canaries: []string{meshCanary, plainCanary}, Duration: 20 * time.Second,
		}, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(sn.Delete(ctx)).To(Succeed()) })

		send := func(s *scenario.Scenario, canary string) {
			client, err := s.Client(ctx, "client")
			Expect(err).NotTo(HaveOccurred())
			rs, err := client.Send(ctx, traffic.Request{URL: s.HTTP("server", "/"), Method: "POST",
				Headers: []string{"X-Canary: " + canary}, Body: canary, Count: requests})
			Expect(err).NotTo(HaveOccurred())
			Expect(traffic.Each(traffic.OK(), rs)).To(Succeed(), "the traffic the capture is about")
		}
		send(mesh, meshCanary)
		send(plain, plainCanary)
		sum, sumErr = sn.Wait(ctx)
	})

	It("sanity: the sniffer sees the plaintext canary between two pods outside the mesh", func() {
		Expect(sumErr).NotTo(HaveOccurred())
		v := sniffverdict.AssertPlaintextVisible(sniffverdict.Between(sum, plainIPs...))
		Expect(v.State).To(Equal(sniffverdict.Pass), "sniffer blind: %s", v.Reason)
	})

	It("no canary crosses the wire in plaintext between mesh pods, and TLS records cross on port 15008", func() {
		Expect(sumErr).NotTo(HaveOccurred())
		sanity := sniffverdict.AssertPlaintextVisible(sniffverdict.Between(sum, plainIPs...))
		Expect(sanity.State).To(Equal(sniffverdict.Pass), "sniffer blind, so no verdict on the mesh pair: %s", sanity.Reason)
		v := sniffverdict.AssertEncrypted(sniffverdict.Between(sum, meshIPs...), sniffverdict.Expect{Port: sniffverdict.HBONEPort, MinTLSRecords: 1})
		Expect(v.State).To(Equal(sniffverdict.Pass), v.Reason)
		AddReportEntry("TLS records on 15008", sum.TLSRecordsByPort)
	})
})
