//go:build e2e

package ambient_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/sniffverdict"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// Seed, Phase 5: "kubectl label namespace test-app istio.io/dataplane-mode-
// … immediately disables ambient mode for that namespace. Pods continue
// running. No restarts needed." Checked under load: the label goes, the
// redirection annotation goes, nothing restarts, requests go on; and back.
var _ = Describe("Phase 5: roll back without restarts", Ordered, ContinueOnFailure, func() {
	const loadDuration = 20 * time.Second
	var (
		s         *scenario.Scenario
		client    traffic.Client
		enrollErr error
		before    map[string]ambient.PodState
		nodes     []string
	)

	BeforeAll(func(ctx SpecContext) {
		var err error
		nodes, err = env.Kube.WorkerNodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(nodes)).To(BeNumerically(">=", 2), "needs two schedulable nodes, found %v", nodes)
		s = newScenario(ctx, "rollback")
		Expect(s.Deploy(ctx,
			fixtures.Workload{Name: "server", Service: "server", NodeName: nodes[0]},
			fixtures.Workload{Name: "client", NodeName: nodes[1]},
		)).To(Succeed())
		client, err = s.Client(ctx, "client")
		Expect(err).NotTo(HaveOccurred())
		enrollErr = s.Enroll(ctx)
		before, err = s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
	})

	// underLoad runs a fortio load from client to server, makes the change
	// once the load is reaching the server, and returns the disruption.
	underLoad := func(ctx context.Context, change func(context.Context) error) traffic.Disruption {
		GinkgoHelper()
		served, err := s.Served(ctx, "server")
		Expect(err).NotTo(HaveOccurred())
		type result struct {
			d   traffic.Disruption
			err error
		}
		done := make(chan result, 1)
		go func() {
			defer GinkgoRecover()
			r, err := client.RunLoad(ctx, traffic.Load{URL: s.HTTP("server", "/"), QPS: 50, Connections: 2, Duration: loadDuration})
			if err != nil {
				done <- result{err: err}
				return
			}
			done <- result{d: traffic.Disrupted(r)}
		}()
		Expect(s.WaitServed(ctx, "server", served+10, loadDuration)).To(Succeed(), "the load never reached the server")
		Expect(change(ctx)).To(Succeed())
		r := <-done
		Expect(r.err).NotTo(HaveOccurred(), "the load run")
		return r.d
	}

	spec("ROLLBACK-PRECONDITION-ENROLLED", func() {
		Expect(enrollErr).NotTo(HaveOccurred())
	})

	spec("ROLLBACK-UNLABEL-REMOVES-REDIRECTION", func(ctx SpecContext) {
		Expect(enrollErr).NotTo(HaveOccurred(), "precondition: the namespace was never enrolled, so a rollback cannot be judged")
		d := underLoad(ctx, func(ctx context.Context) error {
			if err := s.SetDataplaneMode(ctx, ""); err != nil {
				return err
			}
			return s.WaitUnenrolled(ctx, env.Config.EnrollTimeout)
		})
		AddReportEntry("disruption while rolling back", d.String())
		Expect(traffic.Budget(env.Config.RollbackBudget, d)).To(Succeed())
	})

	spec("ROLLBACK-NO-RESTART", func(ctx SpecContext) {
		after, err := s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(before, after)).To(BeEmpty())
	})

	spec("ROLLBACK-TRAFFIC-AFTER", func(ctx SpecContext) {
		expectTraffic(ctx, client, traffic.Request{URL: s.HTTP("server", "/")}, traffic.And(traffic.OK(), traffic.ServedBy("server")))
	})

	var plaintextSeen bool // the rollback capture: proves the sniffer sees this very pair
	spec("ROLLBACK-PLAINTEXT-AFTER", func(ctx SpecContext) {
		Expect(enrollErr).NotTo(HaveOccurred(), "precondition: the namespace was never enrolled, so plaintext after a rollback proves nothing")
		since := time.Now()
		sum, err := capturePair(ctx, s, "server", "client", 3)
		Expect(err).NotTo(HaveOccurred())
		v := sniffverdict.AssertPlaintextVisible(sum)
		Expect(v.State).To(Equal(sniffverdict.Pass), "no canary seen after the rollback: %s", v.Reason)
		plaintextSeen = true

		server, err := s.Pod(ctx, "server")
		Expect(err).NotTo(HaveOccurred())
		entries, err := env.Ztunnel().AccessLog(ctx, server.Spec.NodeName, since)
		Expect(err).NotTo(HaveOccurred())
		var mtls []string
		for _, e := range evidence.Match(entries, evidence.ConnQuery{SrcIP: podIP(ctx, client), DstIP: server.Status.PodIP}) {
			if e.IsMTLS() {
				mtls = append(mtls, e.Raw)
			}
		}
		Expect(mtls).To(BeEmpty(), "the server's ztunnel still logs mTLS connections to %s after the rollback", server.Name)
	})

	spec("ROLLBACK-RELABEL-ENROLLS", func(ctx SpecContext) {
		Expect(enrollErr).NotTo(HaveOccurred(), "precondition: the namespace was never enrolled, so enrolling it again cannot be judged")
		d := underLoad(ctx, s.Enroll)
		AddReportEntry("disruption while enrolling again", d.String())
		Expect(traffic.Budget(env.Config.RollbackBudget, d)).To(Succeed())
		after, err := s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(before, after)).To(BeEmpty())
	})

	spec("ROLLBACK-RELABEL-ENCRYPTED", func(ctx SpecContext) {
		Expect(plaintextSeen).To(BeTrue(), "sniffer blind: the rollback capture did not see this pair's plaintext, so no verdict")
		server, err := s.Pod(ctx, "server")
		Expect(err).NotTo(HaveOccurred())
		warmUpMTLS(ctx, client, nodes[1], server, s.TCP("server"))
		sum, err := capturePair(ctx, s, "server", "client", 3)
		Expect(err).NotTo(HaveOccurred())
		v := sniffverdict.AssertEncrypted(sum, sniffverdict.Expect{Port: sniffverdict.HBONEPort, MinTLSRecords: 1})
		Expect(v.State).To(Equal(sniffverdict.Pass), v.Reason)
	})
})
