package perf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// histOf records latencies (ms) in a uniform histogram of width and
// returns its buckets in ms, as a trial or an applied record holds them.
func histOf(t *testing.T, width time.Duration, ms []float64) []runinfo.Bucket {
	t.Helper()
	h, err := wire.NewHistogram(width)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ms {
		h.Record(v / 1e3)
	}
	var out []runinfo.Bucket
	for _, s := range h.Spans(time.Millisecond) {
		out = append(out, runinfo.Bucket(s))
	}
	return out
}

// calibrationData is one round of a baseline and an arm: the arm's
// latencies are the baseline's plus the applied delays, drawn anew.
func calibrationData(t *testing.T, rng *rand.Rand, rounds, n int, base func() float64, delay func() float64) runinfo.PerfData {
	t.Helper()
	d := runinfo.PerfData{Arms: []string{ArmNone, "+1 ms"}}
	for r := range rounds {
		var b, a, ap []float64
		for range n {
			b = append(b, base())
			x := delay()
			ap = append(ap, x)
			a = append(a, base()+x)
		}
		d.Trials = append(d.Trials,
			runinfo.Trial{Round: r, Arm: ArmNone, Kind: KindHTTP, Count: int64(n), BucketMs: uniformWidthMs, Histogram: histOf(t, uniformWidth, b)},
			runinfo.Trial{Round: r, Arm: "+1 ms", Kind: KindHTTP, Count: int64(n), BucketMs: uniformWidthMs, Histogram: histOf(t, uniformWidth, a),
				Applied: histOf(t, wire.AppliedBucket, ap)})
	}
	return d
}

func TestAppliedShiftOfAnExactDelayIsTheDelayAtEveryPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := calibrationData(t, rng, 3, 2000, func() float64 { return 0.3 + rng.ExpFloat64()*0.1 }, func() float64 { return 1.0002 })
	for _, p := range []string{"p50", "p90", "p99"} {
		got, err := AppliedShift(d, ArmNone, "+1 ms", KindHTTP, p)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-1.0002) > 0.0015 {
			t.Errorf("%s: true shift %.4f ms, want 1.0002 (the one delay applied)", p, got)
		}
	}
}

// A delay with a tail moves p99 more than p50: the truth at p99 is not the
// nominal delay. The derived truth matches the shift of the very samples
// (the arm's latencies are the baseline's plus the applied delays).
func TestAppliedShiftFollowsTheDelaysTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := func() float64 { return 0.25 + rng.ExpFloat64()*0.08 }
	delay := func() float64 { // 1 ms, 5% of the replies late by 0.1-0.6 ms
		if rng.Float64() < 0.05 {
			return 1.1 + rng.Float64()*0.5
		}
		return 1.0 + rng.Float64()*0.004
	}
	d := calibrationData(t, rng, 5, 20000, base, delay)
	a, err := Analyze(d, ArmNone, "", []string{"p50", "p90", "p99"})
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]float64{}
	for _, p := range []string{"p50", "p90", "p99"} {
		got, err := AppliedShift(d, ArmNone, "+1 ms", KindHTTP, p)
		if err != nil {
			t.Fatal(err)
		}
		truth[p] = got
		sh, _ := a.Shift("+1 ms", KindHTTP, p)
		if tol := 2*uniformWidthMs + 3*(sh.High-sh.Low)/2; math.Abs(got-sh.Estimate) > tol {
			t.Errorf("%s: derived true shift %.4f ms, measured %.4f [%.4f, %.4f] (tolerance %.4f)", p, got, sh.Estimate, sh.Low, sh.High, tol)
		}
	}
	if truth["p99"] < truth["p50"]+0.1 {
		t.Errorf("true shifts p50 %.3f, p99 %.3f: the delays' tail should move p99 by 0.1 ms more", truth["p50"], truth["p99"])
	}
	if math.Abs(truth["p50"]-1.002) > 0.02 {
		t.Errorf("true shift at p50 %.4f, want about 1.002 (the delays' median)", truth["p50"])
	}
}

func TestAppliedShiftNamesWhatIsMissing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := calibrationData(t, rng, 2, 100, func() float64 { return 0.3 }, func() float64 { return 1 })
	d.Trials[1].Applied = nil
	if _, err := AppliedShift(d, ArmNone, "+1 ms", KindHTTP, "p99"); err == nil || !strings.Contains(err.Error(), "no applied delays") {
		t.Errorf("an arm trial without applied delays: err %v, want it named", err)
	}
	if _, err := AppliedShift(d, ArmNone, "+2 ms", KindHTTP, "p99"); err == nil || !strings.Contains(err.Error(), "no round") {
		t.Errorf("an arm never measured: err %v, want no round named", err)
	}
	if _, err := AppliedShift(d, ArmNone, "+1 ms", KindHTTP, "p999x"); err == nil {
		t.Error("a malformed percentile: no error")
	}
}
