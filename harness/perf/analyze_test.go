package perf

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	fstats "fortio.org/fortio/stats"

	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
)

// The known shifts of the synthetic procedure, in seconds, per arm and
// kind; the baseline and the A/A arm have none.
var trueShift = map[string]map[string]float64{
	ArmL4:       {KindHTTP: 0.2e-3, KindTCPRR: 0.1e-3, KindTCPCRR: 0.3e-3},
	ArmWaypoint: {KindHTTP: 1.0e-3},
}

// synthetic runs the suite's procedure with a TrialFunc that records 2000
// latencies per trial from a lognormal (HTTP around 0.5 ms, TCP round trips
// around 0.1 ms, connections around 0.3 ms), plus a drift per round and per
// trial, plus the arm's true shift, into a histogram made by record
// (seconds in, fortio's export format out).
func synthetic(t *testing.T, rounds int, enter map[string]error, record func([]float64) *fstats.HistogramData) (runinfo.PerfData, error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(2026, 8))
	median := map[string]float64{KindHTTP: 0.5e-3, KindTCPRR: 0.1e-3, KindTCPCRR: 0.3e-3}
	drift := map[int]float64{}
	f := &fake{enter: enter}
	f.trialFn = func(_ context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
		if warmup {
			return runinfo.Trial{Count: -1}, nil
		}
		round := currentRound(f.calls)
		if _, ok := drift[round]; !ok {
			drift[round] = rng.NormFloat64() * 0.03e-3
		}
		offset := drift[round] + rng.NormFloat64()*0.01e-3 + trueShift[arm][kind]
		return TrialFromHistogram(record(samples(rng, 2000, median[kind], 0.3, offset)), nil)
	}
	return Run(context.Background(), Procedure{Arms: suiteArms(f), Rounds: rounds, Trial: f.trial,
		Load: runinfo.LoadShape{Preset: "test", QPS: 500}})
}

// currentRound counts the rounds begun from the calls so far: every four
// Enters begin a round.
func currentRound(calls []string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "enter ") {
			n++
		}
	}
	return (n - 1) / 4
}

// Like fortio's runner at -r 0.00001.
func fortio10us(xs []float64) *fstats.HistogramData { return fortioHistogram(xs, 1e-5) }

// Uniform 10 µs buckets, as a probe recording finer buckets would.
func uniform10us(xs []float64) *fstats.HistogramData { return uniformHistogram(xs, 10e-6) }

func TestAnalyzeRecoversKnownShiftsFromFortioHistograms(t *testing.T) {
	data, err := synthetic(t, 5, nil, fortio10us)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(data, ArmNone, ArmNoneAA, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3 kinds × 3 percentiles for A/A and L4, http × 3 for waypoint.
	if len(a.Shifts) != 21 || len(a.Noise) != 9 {
		t.Fatalf("%d shifts and %d noise intervals, want 21 and 9", len(a.Shifts), len(a.Noise))
	}
	for _, s := range a.Shifts {
		want := trueShift[s.Arm][s.Kind] * 1000
		// The interval plus the bucket the percentile was read in: fortio
		// interpolates within buckets 10-25% of the value wide.
		width := 0.0
		for _, tr := range data.Trials {
			if tr.Arm == s.Arm && tr.Kind == s.Kind {
				b, err := PercentileBucket(tr, s.Percentile)
				if err != nil {
					t.Fatal(err)
				}
				width = math.Max(width, b.End-b.Start)
			}
		}
		half := (s.High - s.Low) / 2
		if dev := math.Abs(s.Estimate - want); dev > half {
			t.Logf("%s %s %s: %+.4f ms [%.4f, %.4f] misses the true %.4f ms by %.4f ms (interpolation in buckets %.3f ms wide)",
				s.Arm, s.Kind, s.Percentile, s.Estimate, s.Low, s.High, want, dev-half, width)
		}
		if math.Abs(s.Estimate-want) > half+width {
			t.Errorf("%s %s %s: %+.4f ms [%.4f, %.4f], true shift %.4f ms (bucket %.3f ms)", s.Arm, s.Kind, s.Percentile,
				s.Estimate, s.Low, s.High, want, width)
		}
		if s.Rounds != 5 || s.Baseline != ArmNone {
			t.Errorf("%s %s %s: %d rounds against %q", s.Arm, s.Kind, s.Percentile, s.Rounds, s.Baseline)
		}
	}
	// The shifts the instrument must see at p50: the interval excludes 0.
	for _, c := range [][2]string{{ArmL4, KindHTTP}, {ArmWaypoint, KindHTTP}, {ArmL4, KindTCPCRR}} {
		s, ok := a.Shift(c[0], c[1], "p50")
		if !ok || s.Low <= 0 {
			t.Errorf("%s %s p50: %+v, want an interval above 0", c[0], c[1], s)
		}
	}
	floor, ok := a.NoiseFloor(KindHTTP, "p99")
	aa, _ := a.Shift(ArmNoneAA, KindHTTP, "p99")
	if !ok || math.Abs(floor-(aa.High-aa.Low)/2) > 1e-12 || floor <= 0 {
		t.Errorf("noise floor %g (%v), A/A interval [%g, %g]", floor, ok, aa.Low, aa.High)
	}
}

// With 10 µs buckets everywhere the intervals contain the true shifts to
// within one bucket, at every percentile.
func TestAnalyzeRecoversKnownShiftsFromFineHistograms(t *testing.T) {
	data, err := synthetic(t, 5, nil, uniform10us)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(data, ArmNone, ArmNoneAA, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range a.Shifts {
		want := trueShift[s.Arm][s.Kind] * 1000
		if math.Abs(s.Estimate-want) > (s.High-s.Low)/2+0.01 {
			t.Errorf("%s %s %s: %+.4f ms [%.4f, %.4f], true shift %.4f ms", s.Arm, s.Kind, s.Percentile, s.Estimate, s.Low, s.High, want)
		}
	}
}

func TestAnalyzeAfterAnUnprovenArm(t *testing.T) {
	data, err := synthetic(t, 5, map[string]error{ArmL4: errors.New("L4 mode not active")}, fortio10us)
	if err == nil {
		t.Fatal("the procedure did not stop")
	}
	a, err := Analyze(data, ArmNone, ArmNoneAA, nil)
	if err == nil {
		t.Fatal("no error for arms never measured")
	}
	for _, w := range []string{`arm "L4" has no http trials`, `arm "waypoint" has no http trials`, "at least 2 paired rounds"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if len(a.Shifts) != 0 {
		t.Errorf("shifts from one round: %+v", a.Shifts)
	}
}

func TestAnalyzeRefusesBadArguments(t *testing.T) {
	data, err := synthetic(t, 3, nil, fortio10us)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Analyze(data, "nomesh", ArmNoneAA, nil); err == nil {
		t.Error("unknown baseline accepted")
	}
	if _, err := Analyze(data, ArmNone, "aa", nil); err == nil {
		t.Error("unknown A/A arm accepted")
	}
	if _, err := Analyze(data, ArmNone, ArmNoneAA, []string{"p999"}); err == nil {
		t.Error("bad percentile accepted")
	}
	data.Trials = append(data.Trials, data.Trials[0])
	if _, err := Analyze(data, ArmNone, ArmNoneAA, nil); err == nil || !strings.Contains(err.Error(), "two http trials") {
		t.Errorf("duplicate trial: error %v", err)
	}
}

func selection(t *testing.T, profile string) budget.Selection {
	t.Helper()
	sel, err := budget.Select("", profile, "short")
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// hand-made analysis: L4 +0.2 ms at p50/p99, waypoint +6 ms at p99, a
// noise floor of 0.05 ms.
func handAnalysis() Analysis {
	sh := func(arm, p string, est, half float64) runinfo.Shift {
		return runinfo.Shift{Kind: KindHTTP, Arm: arm, Baseline: ArmNone, Percentile: p, Estimate: est, Low: est - half, High: est + half, Rounds: 5}
	}
	return Analysis{Baseline: ArmNone, AA: ArmNoneAA, Level: 0.95,
		Shifts: []runinfo.Shift{
			sh(ArmNoneAA, "p50", 0.01, 0.05), sh(ArmNoneAA, "p90", 0, 0.05), sh(ArmNoneAA, "p99", 0.02, 0.05),
			sh(ArmL4, "p50", 0.2, 0.03), sh(ArmL4, "p90", 0.19, 0.03), sh(ArmL4, "p99", 0.22, 0.04),
			sh(ArmWaypoint, "p50", 2.5, 0.2), sh(ArmWaypoint, "p99", 6, 0.5),
		},
		Noise: []Noise{{KindHTTP, "p50", intervalOf(0.01, 0.05)}, {KindHTTP, "p90", intervalOf(0, 0.05)}, {KindHTTP, "p99", intervalOf(0.02, 0.05)}},
	}
}

func intervalOf(est, half float64) stats.Interval {
	return stats.Interval{Estimate: est, Low: est - half, High: est + half, N: 5, Level: 0.95}
}

func judged(t *testing.T, js []Judgement) map[string]Judgement {
	t.Helper()
	m := map[string]Judgement{}
	for _, j := range js {
		if _, dup := m[j.Name]; dup {
			t.Errorf("%s judged twice", j.Name)
		}
		m[j.Name] = j
	}
	if _, err := json.Marshal(js); err != nil {
		t.Errorf("judgements do not encode as JSON: %v", err)
	}
	return m
}

func TestJudgeLatencyAgainstTheSeedProfile(t *testing.T) {
	data := runinfo.PerfData{Arms: []string{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint}, Load: runinfo.LoadShape{QPS: 500}}
	js, err := Judge(data, handAnalysis(), Judging{Selection: selection(t, "seed")})
	if err != nil {
		t.Fatal(err)
	}
	m := judged(t, js)
	for name, want := range map[string]struct{ verdict, reason string }{
		"l4.http.p50":       {runinfo.BudgetHolds, "L4 p50: +0.200 ms [0.170, 0.230], budget 1 ms: holds"},
		"l4.http.p99":       {runinfo.BudgetHolds, "L4 p99: +0.220 ms"},
		"l4.http.p90":       {VerdictNoBudget, `no budget in this profile "seed"`},
		"waypoint.http.p50": {runinfo.BudgetHolds, "budget 5 ms: holds"},
		"waypoint.http.p99": {runinfo.BudgetExceeded, "even the lower bound 5.500 ms is above the budget"},
	} {
		j, ok := m[name]
		if !ok {
			t.Errorf("%s not judged", name)
			continue
		}
		if j.Verdict != want.verdict || !strings.Contains(j.Reason, want.reason) {
			t.Errorf("%s: %q (%s), want %q containing %q", name, j.Verdict, j.Reason, want.verdict, want.reason)
		}
		if j.Quantity != QuantityLatency || j.Unit != UnitMs || j.Profile != "seed" || j.Method == "" || j.Percentile == "" {
			t.Errorf("%s: result fields %+v", name, j.BudgetResult)
		}
	}
	if j := m["l4.http.p99"]; j.Mode != ArmL4 || j.Budget != 1 || math.Abs(j.NoiseFloor-0.05) > 1e-12 {
		t.Errorf("l4.http.p99 = %+v, want mode L4, budget 1, noise floor 0.05", j.BudgetResult)
	}
	if _, ok := m["none (A/A).http.p50"]; ok || len(m) != 5 {
		t.Errorf("judged %d results, want only the L4 and waypoint ones: %v", len(m), m)
	}
}

func TestJudgeIstioProfileAndUnmeasuredBudgets(t *testing.T) {
	a := handAnalysis()
	// The procedure stopped before the waypoint was measured: drop its shifts.
	var kept []runinfo.Shift
	for _, s := range a.Shifts {
		if s.Arm != ArmWaypoint {
			kept = append(kept, s)
		}
	}
	a.Shifts = kept
	a.Shifts[4].High = 0.25 // L4 p90 [0.16, 0.25] against 0.17
	data := runinfo.PerfData{Arms: []string{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint}, Load: runinfo.LoadShape{QPS: 500}}
	js, err := Judge(data, a, Judging{Selection: selection(t, "istio")})
	if err != nil {
		t.Fatal(err)
	}
	m := judged(t, js)
	if j := m["l4.http.p90"]; j.Verdict != runinfo.BudgetExceeded ||
		!strings.Contains(j.Reason, "the upper bound 0.250 ms is above the budget (the lower bound 0.160 ms is within it)") {
		t.Errorf("l4 p90 against 0.17: %q %s", j.Verdict, j.Reason)
	}
	if j := m["l4.http.p99"]; j.Verdict != runinfo.BudgetExceeded || j.Budget != 0.2 {
		t.Errorf("l4 p99 +0.22 [0.18, 0.26] against 0.20: %q %s", j.Verdict, j.Reason)
	}
	if j := m["l4.http.p50"]; j.Verdict != VerdictNoBudget {
		t.Errorf("l4 p50 has no Istio budget: %q %s", j.Verdict, j.Reason)
	}
	// Istio has no waypoint latency budget and the waypoint was not measured: nothing to say.
	for name := range m {
		if strings.HasPrefix(name, "waypoint.http") {
			t.Errorf("%s judged: %+v", name, m[name])
		}
	}
	// The seed has waypoint budgets: not measured is "cannot be judged", not a pass.
	js, err = Judge(data, a, Judging{Selection: selection(t, "seed")})
	if err != nil {
		t.Fatal(err)
	}
	m = judged(t, js)
	for _, name := range []string{"waypoint.http.p50", "waypoint.http.p99"} {
		if j := m[name]; j.Verdict != runinfo.BudgetCannotJudge || !strings.Contains(j.Reason, "not measured") || !strings.Contains(j.Reason, "not a pass") {
			t.Errorf("%s: %q %s", name, j.Verdict, j.Reason)
		}
	}
}

func TestJudgeCannotJudgeWithAWideNoiseFloor(t *testing.T) {
	a := handAnalysis()
	a.Noise = []Noise{{KindHTTP, "p99", intervalOf(0, 1.5)}}
	a.Shifts = []runinfo.Shift{{Kind: KindHTTP, Arm: ArmL4, Baseline: ArmNone, Percentile: "p99", Estimate: 0.5, Low: -0.9, High: 1.9, Rounds: 5}}
	data := runinfo.PerfData{Arms: []string{ArmNone, ArmNoneAA, ArmL4}, Load: runinfo.LoadShape{QPS: 500}}
	js, err := Judge(data, a, Judging{Selection: selection(t, "seed")})
	if err != nil {
		t.Fatal(err)
	}
	m := judged(t, js)
	if j := m["l4.http.p99"]; j.Verdict != runinfo.BudgetCannotJudge || !strings.Contains(j.Reason, "noise floor ±1.500 ms") {
		t.Errorf("l4 p99: %q %s", j.Verdict, j.Reason)
	}
	if j := m["l4.http.p50"]; j.Verdict != runinfo.BudgetCannotJudge || !strings.Contains(j.Reason, "not measured") {
		t.Errorf("l4 p50 (no shift): %q %s", j.Verdict, j.Reason)
	}
}

func TestJudgeResources(t *testing.T) {
	ztunnels := func(cores ...float64) []runinfo.Usage {
		var out []runinfo.Usage
		for i, c := range cores {
			out = append(out, runinfo.Usage{Pod: "istio-system/ztunnel-" + string(rune('a'+i)), Container: "istio-proxy", CPUCores: c, MemoryMiB: 12 + float64(i)})
		}
		// The probe's own containers are read too and must not count.
		return append(out, runinfo.Usage{Pod: "perf-x/server", Container: "probe", CPUCores: 0.9, MemoryMiB: 900})
	}
	data := runinfo.PerfData{
		Arms: []string{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint},
		Load: runinfo.LoadShape{QPS: 500},
		Trials: []runinfo.Trial{
			{Arm: ArmL4, Kind: KindResources, Resources: ztunnels(0.02, 0.05)}, // busiest 0.05 cores at 500 rps = 0.1 per 1000
			{Arm: ArmL4, Kind: KindHTTP, Resources: ztunnels(5)},               // not a resource trial: ignored
		},
	}
	component := func(u runinfo.Usage) string {
		if strings.HasPrefix(u.Pod, "istio-system/ztunnel-") {
			return budget.ComponentZtunnel
		}
		return ""
	}
	js, err := Judge(data, handAnalysis(), Judging{Selection: selection(t, "seed"), Component: component})
	if err != nil {
		t.Fatal(err)
	}
	m := judged(t, js)
	cpu := m["l4.ztunnel.cpuPer1000rps"]
	if cpu.Verdict != runinfo.BudgetHolds || math.Abs(cpu.Estimate-0.1) > 1e-12 || cpu.Low != cpu.Estimate || cpu.High != cpu.Estimate ||
		cpu.Unit != UnitVCPU || cpu.Quantity != QuantityCPU || cpu.Budget != 0.1 || !strings.Contains(cpu.Reason, "busiest of 2 containers") {
		t.Errorf("ztunnel CPU: %+v %s", cpu.BudgetResult, cpu.Reason)
	}
	mem := m["l4.ztunnel.memoryMiB"]
	if mem.Verdict != runinfo.BudgetHolds || mem.Estimate != 13 || mem.Unit != UnitMiB {
		t.Errorf("ztunnel memory: %+v %s", mem.BudgetResult, mem.Reason)
	}
	for _, name := range []string{"waypoint.waypoint.cpuPer1000rps", "waypoint.waypoint.memoryMiB"} {
		if j := m[name]; j.Verdict != runinfo.BudgetCannotJudge || !strings.Contains(j.Reason, "not measured") {
			t.Errorf("%s: %q %s", name, j.Verdict, j.Reason)
		}
	}
	// Istio's 0.06 vCPU per 1000 rps and 12 MB are stricter.
	js, err = Judge(data, handAnalysis(), Judging{Selection: selection(t, "istio"), Component: component})
	if err != nil {
		t.Fatal(err)
	}
	m = judged(t, js)
	if j := m["l4.ztunnel.cpuPer1000rps"]; j.Verdict != runinfo.BudgetExceeded {
		t.Errorf("istio ztunnel CPU 0.1 against 0.06: %q %s", j.Verdict, j.Reason)
	}
	if j := m["l4.ztunnel.memoryMiB"]; j.Verdict != runinfo.BudgetExceeded {
		t.Errorf("istio ztunnel memory 13 against 12: %q %s", j.Verdict, j.Reason)
	}
	if got := Results(js); len(got) != len(js) || got[0].Name != js[0].Name {
		t.Errorf("Results = %+v", got)
	}
}

func TestJudgeRefusesBadArguments(t *testing.T) {
	data := runinfo.PerfData{Arms: []string{ArmNone, ArmL4}}
	if _, err := Judge(data, handAnalysis(), Judging{Selection: selection(t, "seed"), Modes: map[string]string{ArmL4: "sidecar"}}); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := Judge(data, handAnalysis(), Judging{Selection: selection(t, "seed"), Component: func(runinfo.Usage) string { return "" }}); err == nil ||
		!strings.Contains(err.Error(), "qps") {
		t.Errorf("resources without the load's qps: error %v", err)
	}
}

// The suite asks for a budget mode's judgements ("l4"); a judgement names
// the arm it measured ("L4") as its Mode. Filtering on Mode found none, and
// the L4 budget specs skipped as if the profile had no budget.
func TestForModeSelectsByBudgetModeNotArm(t *testing.T) {
	js, err := Judge(runinfo.PerfData{Arms: []string{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint}}, handAnalysis(), Judging{Selection: selection(t, "seed")})
	if err != nil {
		t.Fatal(err)
	}
	l4 := ForMode(js, budget.ModeL4, QuantityLatency)
	if len(l4) != 3 { // the seed budgets L4 at p50 and p99; p90 is measured, not budgeted
		t.Fatalf("seed L4 latency judgements: %d (%v), want p50 and p99 budgeted and p90 measured", len(l4), l4)
	}
	budgeted := 0
	for _, j := range l4 {
		if j.Mode != ArmL4 || !strings.HasPrefix(j.Name, "l4.http.") {
			t.Errorf("%s (%s) is not an L4 latency judgement", j.Name, j.Mode)
		}
		if j.Verdict != VerdictNoBudget {
			budgeted++
		}
	}
	if budgeted != 2 {
		t.Errorf("%d budgeted L4 judgements, want 2 (p50, p99)", budgeted)
	}
	if wp := ForMode(js, budget.ModeWaypoint, ""); len(wp) == 0 {
		t.Error("no waypoint judgements")
	}
}
