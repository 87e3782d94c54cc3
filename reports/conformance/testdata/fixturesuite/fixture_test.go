// Package fixturesuite is a small Ginkgo suite shaped like suites/ambient
// (profiles, evidence and claim labels, the runinfo report entries) whose
// outcome each test run chooses through environment variables, so the
// report layer's tests read real Ginkgo JSON reports:
//
//	FIXTURE_FAIL=key,key   these specs fail (key "setup": BeforeSuite fails)
//	FIXTURE_SKIP=key,key   these specs call Skip with a reason
//	FIXTURE_HANG=key       this spec waits for its context (use -ginkgo.timeout)
//	FIXTURE_DIR=dir        where the perf spec writes its PerfData
//	FIXTURE_P99=ms         the perf spec's measured p99 shift (default 0.42 ms, budget 1 ms)
package fixturesuite

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

func TestFixture(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "fixture conformance suite")
}

func listed(variable, key string) bool {
	return slices.Contains(strings.Split(os.Getenv(variable), ","), key)
}

// behave makes the spec named key pass, fail, skip or hang as the
// environment says.
func behave(ctx SpecContext, key string) {
	if listed("FIXTURE_SKIP", key) {
		Skip(key + " needs Istio >= 1.29 (istio_tcp_connections_failed_total)")
	}
	if os.Getenv("FIXTURE_HANG") == key {
		<-ctx.Done()
		return
	}
	if listed("FIXTURE_FAIL", key) {
		AddReportEntry(runinfo.EntryBundle, "bundles/"+key)
		Fail(key + ": expected the connection to be mTLS, got plaintext")
	}
}

var _ = SynchronizedBeforeSuite(func() []byte {
	AddReportEntry("run", "fixture-run")
	Expect(listed("FIXTURE_FAIL", "setup")).To(BeFalse(), "provisioning the run")
	return nil
}, func([]byte) {})

var _ = Describe("Phase 1: install", Label(runinfo.ProfileInstall), func() {
	It("istiod is ready", Label(runinfo.EvidenceMesh, runinfo.IDPrefix+"INSTALL-ISTIOD-READY"), func(ctx SpecContext) {
		AddReportEntry(runinfo.EntryRetries, runinfo.Retries{What: "istiod Ready", Tries: 3, Seconds: 1.5})
		behave(ctx, "istiod")
	})
	It("one ztunnel per node", Label(runinfo.EvidenceObserved), func(ctx SpecContext) {
		AddReportEntry(runinfo.EntryWaits, runinfo.Waits{MetSeconds: 2, Count: 1})
		behave(ctx, "ztunnel")
	})
})

var _ = Describe("Phase 2: enroll", Label(runinfo.ProfileEnroll), func() {
	It("every pod gets the redirection annotation", Label(runinfo.EvidenceMesh, runinfo.ClaimPrefix+"enrollment"), func(ctx SpecContext) {
		behave(ctx, "enroll")
	})
})

var _ = Describe("Phase 3: mTLS", Label(runinfo.ProfileL4, runinfo.ClaimPrefix+"mtls"), Ordered, ContinueOnFailure, func() {
	It("no canary on the wire", Label(runinfo.EvidenceObserved), func(ctx SpecContext) {
		AddReportEntry("TLS records on 15008", 12)
		behave(ctx, "wire")
	})
	It("ztunnel logs both identities", Label(runinfo.EvidenceMesh), func(ctx SpecContext) {
		behave(ctx, "ztunnel-log")
	})
	It("denied connections are counted", Label(runinfo.EvidenceMesh, runinfo.ClaimPrefix+"deny-metrics"), func(ctx SpecContext) {
		behave(ctx, "deny-metric")
	})
})

var _ = Describe("Phase 5: roll back", Label("disruptive", runinfo.ProfileL4), func() {
	It("no pod restarted", Label(runinfo.EvidenceObserved, runinfo.ClaimPrefix+"no-restart"), func(ctx SpecContext) {
		behave(ctx, "rollback")
	})
})

var _ = Describe("Phase 4: waypoint", Label(runinfo.ProfileL7), func() {
	It("the waypoint is Programmed", Label(runinfo.EvidenceMesh, runinfo.ClaimPrefix+"waypoint"), func(ctx SpecContext) {
		AddReportEntry(runinfo.EntryWaypointImage, runinfo.Component{
			Name: "waypoint app/waypoint", Image: "docker.io/istio/proxyv2:1.30.1",
			ImageID: "docker.io/istio/proxyv2@sha256:" + strings.Repeat("ab", 32), Pods: 1, Ready: 1,
		})
		behave(ctx, "waypoint")
	})
	It("the server sees X-Request-Id", Label(runinfo.EvidenceObserved, runinfo.ClaimPrefix+"waypoint"), func(ctx SpecContext) {
		behave(ctx, "l7")
	})
})

var _ = Describe("Latency budgets", Label(runinfo.ProfilePerf), func() {
	It("L4 adds at most the budget at p99", Label(runinfo.EvidenceObserved), func(ctx SpecContext) {
		budget := runinfo.BudgetResult{
			Name: "l4.http.p99", Quantity: "added latency", Mode: "L4", Percentile: "p99", Unit: "ms",
			Estimate: 0.42, Low: 0.31, High: 0.55, Budget: 1, NoiseFloor: 0.05,
			Verdict: runinfo.BudgetHolds, Profile: "seed", Method: "bootstrap over rounds",
		}
		if v, err := strconv.ParseFloat(os.Getenv("FIXTURE_P99"), 64); err == nil {
			budget.Estimate, budget.Low, budget.High = v, math.Round((v-0.1)*1000)/1000, math.Round((v+0.1)*1000)/1000
			if budget.High > budget.Budget {
				budget.Verdict = runinfo.BudgetExceeded
			}
		}
		if dir := os.Getenv("FIXTURE_DIR"); dir != "" {
			Expect(runinfo.WritePerfData(filepath.Join(dir, "perf", "perf.json"), perfData(budget))).To(Succeed())
			AddReportEntry(runinfo.EntryPerfData, "perf/perf.json")
		}
		AddReportEntry(runinfo.EntryBudget, budget)
		behave(ctx, "perf")
	})
})

// perfData is three rounds of two arms with a shifted latency histogram.
func perfData(b runinfo.BudgetResult) runinfo.PerfData {
	d := runinfo.PerfData{
		Load: runinfo.LoadShape{Preset: "smoke", QPS: 100, Connections: 4, PayloadBytes: 64, TrialSeconds: 10, Rounds: 3, ResolutionMs: 0.01},
		Arms: []string{"none", "L4"}, Budgets: []runinfo.BudgetResult{b}, Method: "bootstrap over rounds",
	}
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for round := 1; round <= 3; round++ {
		for pos, arm := range d.Arms {
			shift := float64(pos) * 0.4
			t := runinfo.Trial{Round: round, Position: pos, Arm: arm, Kind: "http", Started: start, Count: 1000,
				Percentiles: map[string]float64{"p50": 1 + shift, "p90": 1.6 + shift, "p99": 2.5 + shift + 0.05*float64(round)}}
			for i := range 10 {
				lo := 0.8 + shift + 0.2*float64(i)
				t.Histogram = append(t.Histogram, runinfo.Bucket{Start: lo, End: lo + 0.2, Count: int64(100 + 10*(5-i)*(5-i)/5)})
			}
			d.Trials = append(d.Trials, t)
			start = start.Add(10 * time.Second)
		}
	}
	for _, p := range []string{"p50", "p90", "p99"} {
		d.Shifts = append(d.Shifts, runinfo.Shift{Kind: "http", Arm: "L4", Baseline: "none", Percentile: p, Estimate: 0.4, Low: 0.3, High: 0.5, Rounds: 3})
	}
	return d
}
