//go:build e2e

package ambient_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/restart"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/sniffer"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// The shape of the restart under traffic. Istio's TestZtunnelRestart
// (istio tests/integration/ambient/baseline_test.go, release-1.31) calls
// once per 50 ms with no retry; so does the stream here, each call a new
// TCP connection carrying the canary. The chart rolls ztunnel one node at a
// time with maxSurge 1, maxUnavailable 0 and a 30 s termination grace
// (manifests/charts/ztunnel/values.yaml, release-1.31), so a three-node
// rollout can take about 3 × 30 s when every old pod waits out its grace:
// the rollout's bound. The traffic runs from the lead before the restart
// to the tail after it, and is stopped then (probe stop); its own duration
// is only the upper bound.
const (
	restartStreamQPS  = 20
	restartLead       = 5 * time.Second
	restartBound      = 150 * time.Second
	restartTail       = 10 * time.Second
	restartHeld       = 3
	restartCallBound  = 2 * time.Second
	restartTrafficFor = restartLead + restartBound + restartTail + time.Minute
)

// errRestartDidNotRun marks the restart as not (yet) run, so the specs that
// judge it fail with that reason instead of judging nothing.
var errRestartDidNotRun = errors.New("the restart-under-traffic spec did not run")

// Istio's upgrade docs: there is no canary upgrade of ztunnel, and an
// in-place upgrade "will cause all long-lived TCP connections on the
// upgraded node to reset" (istio.io docs/ambient/upgrade/helm). What an
// in-place upgrade does to the data plane is a rolling restart of the
// ztunnel DaemonSet: here it runs under held connections, a steady stream
// of new ones carrying a canary, and the wire sniffer on the server's node
// with its own plaintext control, and is judged by what each of them saw.
// Serial: restarting every ztunnel disrupts every other spec's traffic;
// disruptive: on a shared mesh it disrupts every workload's.
var _ = Describe("Upgrade: ztunnel restarted under traffic (the mechanism of an in-place ztunnel upgrade)", Serial, Ordered, ContinueOnFailure, func() {
	var (
		nodes       []string
		meshNS      *scenario.Scenario
		plain       *flow
		mflow       *flow
		client      traffic.Client
		server      corev1.Pod
		enrolled    error
		measured    = errRestartDidNotRun
		rollout     restart.Rollout
		rolloutErr  error
		stream      wire.RoundTrips
		held        []traffic.HoldOutcome
		sum         wire.SniffSummary
		sumErr      error
		newConns    restart.NewConnections
		newConnsErr error
	)

	BeforeAll(func(ctx SpecContext) {
		var err error
		nodes, err = env.Kube.WorkerNodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(nodes)).To(BeNumerically(">=", 2), "needs two schedulable nodes, found %v", nodes)
		deploy := func(prefix string) *scenario.Scenario {
			s := newScenario(ctx, prefix)
			Expect(s.Deploy(ctx,
				fixtures.Workload{Name: "server", Service: "server", ServiceAccount: "restart-server", NodeName: nodes[0]},
				fixtures.Workload{Name: "client", ServiceAccount: "restart-client", NodeName: nodes[1]},
			)).To(Succeed())
			return s
		}
		meshNS = deploy("restart")
		plainNS := deploy("restart-plain")
		mflow = &flow{s: meshNS, server: "server", client: "client", canary: sniffer.Canary("restart")}
		plain = &flow{s: plainNS, server: "server", client: "client", canary: sniffer.Canary("restart-plain")}
		client, err = meshNS.Client(ctx, "client")
		Expect(err).NotTo(HaveOccurred())
		server, err = meshNS.Pod(ctx, "server")
		Expect(err).NotTo(HaveOccurred())
		if enrolled = meshNS.Enroll(ctx); enrolled != nil {
			AddReportEntry("not enrolled", enrolled.Error())
			return
		}
		warmUpMTLS(ctx, client, nodes[1], server, meshNS.TCP("server"))
	})

	spec("UPGRADE-ZTUNNEL-RESTART-ROLLOUT", func(ctx SpecContext) {
		Expect(enrolled).NotTo(HaveOccurred(), "precondition: the namespace never enrolled, so no ztunnel carries the traffic a restart could disrupt")
		measured = fmt.Errorf("the restart under traffic did not finish")
		plainClient, err := plain.s.Client(ctx, plain.client)
		Expect(err).NotTo(HaveOccurred())
		var ips []string
		for _, f := range []*flow{mflow, plain} {
			f.ips = nil
			for _, app := range []string{f.server, f.client} {
				p, err := f.s.Pod(ctx, app)
				Expect(err).NotTo(HaveOccurred())
				ips = append(ips, p.Status.PodIP)
				f.ips = append(f.ips, netip.MustParseAddr(p.Status.PodIP))
			}
		}
		stopName := func(what string) string { return mflow.canary + "-" + what } // unique on the node and in the pods
		sn, err := sniffer.Start(ctx, env.Kube, sniffer.Options{Namespace: meshNS.Namespace, Node: nodes[0], Image: env.Shared.ProbeImage,
			IPs: ips, Canaries: []string{mflow.canary, plain.canary}, Duration: restartTrafficFor + 15*time.Second, StopName: stopName("sniff")}, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { _ = sn.Delete(ctx) })

		holds := make([]*traffic.Held, restartHeld)
		var holdNames []string
		for i := range holds {
			holdNames = append(holdNames, stopName(fmt.Sprintf("hold-%d", i+1)))
			holds[i] = client.HoldStoppable(ctx, mflow.s.TCP(mflow.server), restartTrafficFor, holdNames[i])
		}
		for i, h := range holds {
			select {
			case <-h.Ready:
			case out := <-h.Done:
				Fail(fmt.Sprintf("held connection %d never carried a ping: %+v %v", i+1, out.Result, out.Err))
			case <-ctx.Done():
				Fail("interrupted before the held connections were up")
			}
		}
		type streamOut struct {
			rt  wire.RoundTrips
			err error
		}
		streams := map[string]chan streamOut{"mesh": make(chan streamOut, 1), "plain": make(chan streamOut, 1)}
		run := func(c traffic.Client, f *flow, qps float64, name string, out chan streamOut) {
			rt, err := c.RoundTrips(ctx, traffic.RoundTrip{URL: f.s.TCP(f.server), Mode: wire.RoundTripCRR, QPS: qps,
				Count: int(qps * restartTrafficFor.Seconds()), Timeout: restartCallBound, Payload: f.canary, StopName: name})
			out <- streamOut{rt, err}
		}
		go run(client, mflow, restartStreamQPS, stopName("stream"), streams["mesh"])
		go run(plainClient, plain, 2, stopName("plain"), streams["plain"]) // the sniffer's control: the canary in plaintext

		// The stream's lead: new connections counted before the restart are
		// the control that shows the stream worked before it.
		select {
		case <-time.After(restartLead):
		case <-ctx.Done():
			Fail("interrupted before the restart")
		}
		rollout, rolloutErr = restart.DaemonSet(ctx, env.Kube, env.Shared.Mesh.Namespace, mesh.Ztunnel, restartBound)
		AddReportEntry("ztunnel rollout", fmt.Sprintf("%s: %d pods %v replaced by %v in %s", rollout.Name, len(rollout.Old), rollout.Old, rollout.New, rollout.Took().Round(time.Millisecond)))
		// The tail: new connections after the rollout show the mesh back.
		select {
		case <-time.After(restartTail):
		case <-ctx.Done():
			Fail("interrupted after the restart")
		}
		ended, err1 := client.Stop(ctx, append(holdNames, stopName("stream"))...)
		_, err2 := plainClient.Stop(ctx, stopName("plain"))
		stopErr := errors.Join(err1, err2, sn.Stop(ctx))
		if len(ended) > 0 {
			AddReportEntry("ended before the tail's end", strings.Join(ended, ", "))
		}

		ms := <-streams["mesh"]
		stream = ms.rt
		for _, h := range holds {
			held = append(held, <-h.Done)
		}
		ps := <-streams["plain"]
		sum, sumErr = sn.Wait(ctx)
		Expect(stopErr).NotTo(HaveOccurred(), "ending the traffic and the capture after the tail")
		Expect(ms.err).NotTo(HaveOccurred(), "the stream of new connections")
		Expect(ps.err).NotTo(HaveOccurred(), "the plaintext control stream")
		Expect(rolloutErr).NotTo(HaveOccurred())
		newConns, newConnsErr = restart.Stream(stream, rollout)
		measured = nil
		AddReportEntry("new connections across the restart", newConns.String())
		var fates []string
		for i, o := range held {
			fates = append(fates, restart.Fate(fmt.Sprintf("held connection %d", i+1), o.Result, rollout).String())
		}
		AddReportEntry("held connections across the restart", strings.Join(fates, "\n"))
	})

	spec("UPGRADE-ZTUNNEL-RESTART-NO-PLAINTEXT", func() {
		Expect(measured).NotTo(HaveOccurred(), "cannot judge the wire: %v", measured)
		Expect(sumErr).NotTo(HaveOccurred())
		expectEncryptedWithControl(sum, mflow, plain)
		AddReportEntry("TLS records on 15008 across the restart", sum.TLSRecordsByPort)
	})

	spec("UPGRADE-ZTUNNEL-RESTART-HELD-CONNECTIONS", func() {
		Expect(measured).NotTo(HaveOccurred(), "cannot judge the held connections: %v", measured)
		Expect(held).To(HaveLen(restartHeld))
		for i, o := range held {
			Expect(o.Err).NotTo(HaveOccurred(), "held connection %d", i+1)
			f := restart.Fate(fmt.Sprintf("held connection %d", i+1), o.Result, rollout)
			Expect(o.Result.Connected).To(BeTrue(), f.String())
			if !f.Survived {
				Expect(f.Closed).To(BeNumerically(">=", 0), "%s: it broke before the restart began", f)
				Expect(f.Closed).To(BeNumerically("<=", rollout.Took()+restartCallBound), "%s: it broke after the rollout had finished (%s)", f, rollout.Took().Round(time.Millisecond))
			}
		}
	})

	spec("UPGRADE-ZTUNNEL-RESTART-NEW-CONNECTIONS", func() {
		Expect(measured).NotTo(HaveOccurred(), "cannot judge: %v", measured)
		Expect(newConnsErr).NotTo(HaveOccurred())
		Expect(newConns.AttemptsBefore).To(BeNumerically(">", 0), "no new connection before the restart: nothing shows the stream worked")
		Expect(newConns.FailedBefore).To(BeZero(), "new connections failed before the restart began: %s", newConns)
		Expect(newConns.Attempts).To(BeNumerically(">", 0), "no new connection during the rollout")
		sel, err := budget.Select(env.Config.LatencyBudgets, env.Config.LatencyProfile, env.Config.LoadPreset)
		Expect(err).NotTo(HaveOccurred())
		iv, err := stats.ProportionInterval(newConns.Failed, newConns.Attempts, stats.DefaultLevel)
		Expect(err).NotTo(HaveOccurred())
		limit, ok := sel.Profile.RestartBudget(budget.ComponentZtunnel, budget.QuantityNewConnectionFailures)
		if !ok {
			AddReportEntry("measured, no budget in profile "+sel.ProfileName, fmt.Sprintf("new-connection failure rate %.4f [%.4f, %.4f]", iv.Estimate, iv.Low, iv.High))
			Skip(fmt.Sprintf("the %s profile has no ztunnel restart budget", sel.ProfileName))
		}
		j, err := stats.Judge("ztunnel restart, new-connection failure rate", iv, limit, 0, "")
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry(runinfo.EntryBudget, runinfo.BudgetResult{Name: "restart.ztunnel." + budget.QuantityNewConnectionFailures,
			Quantity: "new-connection failure rate", Mode: "ztunnel restart", Unit: "share", Estimate: iv.Estimate, Low: iv.Low, High: iv.High,
			Budget: limit, Verdict: j.Verdict, Profile: sel.ProfileName, Method: stats.ProportionMethod})
		Expect(j.Verdict).To(Equal(runinfo.BudgetHolds), j.Reason)
	})

	spec("UPGRADE-ZTUNNEL-RESTART-MTLS-AFTER", func(ctx SpecContext) {
		Expect(measured).NotTo(HaveOccurred(), "cannot judge: %v", measured)
		Expect(newConns.AttemptsAfter).To(BeNumerically(">", 0), "no new connection after the rollout")
		Expect(newConns.FailedAfter).To(BeZero(), "new connections failed after the rollout had finished: %s", newConns)
		exp := evidence.MTLSExpectation{
			SrcIdentity: evidence.SPIFFE(env.Config.TrustDomain, mflow.s.Namespace, "restart-client"),
			DstIdentity: evidence.SPIFFE(env.Config.TrustDomain, mflow.s.Namespace, "restart-server"),
			ServerPort:  fixtures.HTTPPort,
			SrcIP:       podIP(ctx, client),
			DstIP:       server.Status.PodIP,
			SrcWorkload: "client",
			Connections: 3,
		}
		since := time.Now()
		expectEach(ctx, client, traffic.Request{URL: mflow.s.HTTP(mflow.server, "/")}, exp.Connections, traffic.OK(), "the traffic the evidence is about")
		zt := env.Ztunnel()
		Eventually(func(ctx context.Context) error {
			out, err := zt.AccessLog(ctx, nodes[1], since)
			if err != nil {
				return err
			}
			if err := evidence.CheckOutbound(out, exp); err != nil {
				return fmt.Errorf("client node %s: %w", nodes[1], err)
			}
			in, err := zt.AccessLog(ctx, nodes[0], since)
			if err != nil {
				return err
			}
			return evidence.CheckInbound(in, exp)
		}).WithContext(ctx).WithTimeout(env.Config.PolicyTimeout).WithPolling(2 * time.Second).Should(Succeed())
	})
})
