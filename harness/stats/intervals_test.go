package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/stat"
)

func TestInterleaveRotatesLeftEachRound(t *testing.T) {
	arms := []string{"A", "B", "C"}
	got := Interleave(arms, 5)
	want := [][]string{
		{"A", "B", "C"},
		{"B", "C", "A"},
		{"C", "A", "B"},
		{"A", "B", "C"},
		{"B", "C", "A"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Interleave(A B C, 5) = %v, want %v", got, want)
	}
	// Every arm takes every position once over len(arms) rounds.
	for pos := range arms {
		seen := map[string]bool{}
		for _, order := range got[:len(arms)] {
			seen[order[pos]] = true
		}
		if len(seen) != len(arms) {
			t.Errorf("position %d over the first %d rounds holds %v, want every arm", pos, len(arms), seen)
		}
	}
	got[0][0] = "X"
	if arms[0] != "A" {
		t.Errorf("Interleave shares memory with its input: arms[0] = %q", arms[0])
	}
}

func TestInterleaveEdgeCases(t *testing.T) {
	if got := Interleave(nil, 3); got != nil {
		t.Errorf("Interleave(nil, 3) = %v, want nil", got)
	}
	if got := Interleave([]string{"A"}, 0); got != nil {
		t.Errorf("Interleave(A, 0) = %v, want nil", got)
	}
	if got := Interleave([]string{"A"}, 2); !slices.EqualFunc(got, [][]string{{"A"}, {"A"}}, slices.Equal) {
		t.Errorf("Interleave(A, 2) = %v", got)
	}
}

// The t quantile t_{0.975, 4} = 2.7764 is the table value (any Student t
// table, 4 degrees of freedom, two-sided 95%).
func TestPairedShiftAgainstTable(t *testing.T) {
	b := []float64{10, 10, 10, 10, 10}
	tr := []float64{11, 12, 13, 14, 15} // d = 1..5: mean 3, sd √2.5
	iv, err := PairedShift(b, tr, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := 2.7764 * math.Sqrt(2.5) / math.Sqrt(5)
	if iv.N != 5 || iv.Level != DefaultLevel || math.Abs(iv.Estimate-3) > 1e-12 ||
		math.Abs(iv.SD-math.Sqrt(2.5)) > 1e-12 || math.Abs(iv.Low-(3-h)) > 1e-3 || math.Abs(iv.High-(3+h)) > 1e-3 {
		t.Fatalf("PairedShift = %+v, want estimate 3, sd %.4f, interval [%.4f, %.4f]", iv, math.Sqrt(2.5), 3-h, 3+h)
	}
	if !iv.Contains(3) || iv.Contains(3+h+0.01) || math.Abs(iv.HalfWidth()-h) > 1e-3 {
		t.Errorf("Contains/HalfWidth disagree with [%g, %g]", iv.Low, iv.High)
	}
	// A higher level gives a wider interval.
	iv99, err := PairedShift(b, tr, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	if iv99.HalfWidth() <= iv.HalfWidth() {
		t.Errorf("99%% half-width %g is not wider than 95%% half-width %g", iv99.HalfWidth(), iv.HalfWidth())
	}
}

func TestPairedShiftRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b, tr     []float64
		level     float64
		wantInErr string
	}{
		{"one round", []float64{1}, []float64{2}, 0, "at least 2 paired rounds"},
		{"no rounds", nil, nil, 0, "no paired rounds"},
		{"unpaired", []float64{1, 2}, []float64{1}, 0, "2 baseline and 1 treated"},
		{"NaN", []float64{1, math.NaN()}, []float64{1, 2}, 0, "finite"},
		{"level 1", []float64{1, 2}, []float64{1, 2}, 1, "outside (0, 1)"},
		{"level negative", []float64{1, 2}, []float64{1, 2}, -0.5, "outside (0, 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PairedShift(tc.b, tc.tr, tc.level)
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("PairedShift error = %v, want one containing %q", err, tc.wantInErr)
			}
		})
	}
	if _, err := PairedShift(nil, nil, 0); !errors.Is(err, ErrNoData) {
		t.Errorf("PairedShift(no rounds) = %v, want ErrNoData", err)
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		iv          Interval
		budget      float64
		noise       float64
		wantVerdict string
		wantReason  []string
	}{
		{"upper bound within", Interval{Estimate: 0.214, Low: 0.180, High: 0.248}, 1, 0.05, Holds,
			[]string{"L4 p99: +0.214 ms [0.180, 0.248], budget 1 ms: holds"}},
		{"upper bound exactly at the budget", Interval{Estimate: 0.8, Low: 0.6, High: 1}, 1, 0.05, Holds, []string{": holds"}},
		{"holds despite a wide noise floor", Interval{Estimate: 0.1, Low: -0.5, High: 0.7}, 1, 2, Holds, []string{": holds"}},
		{"noise floor wider than the budget", Interval{Estimate: 0.2, Low: -1.5, High: 1.9}, 1, 1.7, CannotJudge,
			[]string{"cannot be judged", "noise floor ±1.700 ms", "not a pass"}},
		{"no A/A pair", Interval{Estimate: 0.9, Low: 0.5, High: 1.3}, 1, math.NaN(), CannotJudge,
			[]string{"no A/A noise floor", "not a pass"}},
		{"only the upper bound above", Interval{Estimate: 0.9, Low: 0.7, High: 1.1}, 1, 0.2, Exceeded,
			[]string{"exceeded: the upper bound 1.100 ms is above the budget (the lower bound 0.700 ms is within it)"}},
		{"even the lower bound above", Interval{Estimate: 1.5, Low: 1.2, High: 1.8}, 1, 0.2, Exceeded,
			[]string{"exceeded: even the lower bound 1.200 ms is above the budget"}},
		{"noise floor equal to the budget still judges", Interval{Estimate: 1.5, Low: 1.2, High: 1.8}, 1, 1, Exceeded,
			[]string{"even the lower bound"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Judge("L4 p99", tc.iv, tc.budget, tc.noise, "ms")
			if err != nil {
				t.Fatal(err)
			}
			if j.Verdict != tc.wantVerdict {
				t.Errorf("verdict = %q, want %q (reason %q)", j.Verdict, tc.wantVerdict, j.Reason)
			}
			for _, w := range tc.wantReason {
				if !strings.Contains(j.Reason, w) {
					t.Errorf("reason %q lacks %q", j.Reason, w)
				}
			}
			if strings.Contains(j.Reason, "\n") {
				t.Errorf("reason is not one line: %q", j.Reason)
			}
		})
	}
}

func TestJudgeRejectsBadInput(t *testing.T) {
	ok := Interval{Estimate: 0.2, Low: 0.1, High: 0.3}
	for _, tc := range []struct {
		name   string
		iv     Interval
		budget float64
		noise  float64
	}{
		{"zero budget", ok, 0, 0.1},
		{"negative budget", ok, -1, 0.1},
		{"NaN budget", ok, math.NaN(), 0.1},
		{"inverted interval", Interval{Estimate: 0.2, Low: 0.3, High: 0.1}, 1, 0.1},
		{"NaN interval", Interval{Estimate: math.NaN()}, 1, 0.1},
		{"negative noise floor", ok, 1, -0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if j, err := Judge("L4 p99", tc.iv, tc.budget, tc.noise, "ms"); err == nil {
				t.Fatalf("Judge accepted it: %+v", j)
			}
		})
	}
}

// Coverage on synthetic data with a known shift. One repetition is a
// procedure of coverageRounds rounds; each round has three trials of
// coverageSamples latencies from a lognormal around 0.5 ms (σ_log 0.3, so
// p99 ≈ 1 ms): the baseline, a second baseline (A/A) and the treated arm,
// whose latencies are shifted by coverageShift. Every trial also gets a
// drift: an offset shared by the round and a random per-trial offset. The
// percentile of each trial is taken with stat.Quantile. Over
// coverageReps repetitions the 95% interval must contain the shift, and the
// A/A interval 0, in a fraction within 3 binomial standard errors of 0.95.
const (
	coverageReps    = 2000
	coverageRounds  = 5
	coverageSamples = 2000
	coverageShift   = 0.2 // ms
	coverageMedian  = 0.5 // ms
	coverageSigma   = 0.3 // of log latency
	roundDriftSD    = 0.05
	trialDriftSD    = 0.02
)

type coverageCounts struct {
	shiftCovered, aaCovered, shiftExcludesZero int
}

func TestPairedShiftCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("coverage simulation")
	}
	percentiles := []float64{0.50, 0.99}
	counts := make([]coverageCounts, len(percentiles))
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			local := make([]coverageCounts, len(percentiles))
			buf := make([]float64, coverageSamples)
			for rep := range jobs {
				// A fixed seed per repetition: the result does not depend on scheduling.
				rng := rand.New(rand.NewPCG(20260822, uint64(rep)))
				b := make([][]float64, len(percentiles))
				aa := make([][]float64, len(percentiles))
				tr := make([][]float64, len(percentiles))
				for range coverageRounds {
					drift := rng.NormFloat64() * roundDriftSD
					for arm, dst := range [][][]float64{b, aa, tr} {
						shift := 0.0
						if arm == 2 {
							shift = coverageShift
						}
						offset := drift + rng.NormFloat64()*trialDriftSD + shift
						for i := range buf {
							buf[i] = coverageMedian*math.Exp(coverageSigma*rng.NormFloat64()) + offset
						}
						slices.Sort(buf)
						for k, p := range percentiles {
							dst[k] = append(dst[k], stat.Quantile(p, stat.Empirical, buf, nil))
						}
					}
				}
				for k := range percentiles {
					shift, err := PairedShift(b[k], tr[k], DefaultLevel)
					if err != nil {
						t.Error(err)
						return
					}
					noise, err := PairedShift(b[k], aa[k], DefaultLevel)
					if err != nil {
						t.Error(err)
						return
					}
					if shift.Contains(coverageShift) {
						local[k].shiftCovered++
					}
					if noise.Contains(0) {
						local[k].aaCovered++
					}
					if !shift.Contains(0) {
						local[k].shiftExcludesZero++
					}
				}
			}
			mu.Lock()
			for k := range counts {
				counts[k].shiftCovered += local[k].shiftCovered
				counts[k].aaCovered += local[k].aaCovered
				counts[k].shiftExcludesZero += local[k].shiftExcludesZero
			}
			mu.Unlock()
		})
	}
	for rep := range coverageReps {
		jobs <- rep
	}
	close(jobs)
	wg.Wait()

	se := math.Sqrt(DefaultLevel * (1 - DefaultLevel) / coverageReps)
	lo, hi := DefaultLevel-3*se, DefaultLevel+3*se
	for k, p := range percentiles {
		c := counts[k]
		shiftCov := float64(c.shiftCovered) / coverageReps
		aaCov := float64(c.aaCovered) / coverageReps
		t.Logf("p%g: interval contains the shift %.2f ms in %.4f, A/A interval contains 0 in %.4f, shift interval excludes 0 in %.4f (accept [%.4f, %.4f])",
			p*100, coverageShift, shiftCov, aaCov, float64(c.shiftExcludesZero)/coverageReps, lo, hi)
		if shiftCov < lo || shiftCov > hi {
			t.Errorf("p%g: coverage of the true shift %.4f is outside [%.4f, %.4f]", p*100, shiftCov, lo, hi)
		}
		if aaCov < lo || aaCov > hi {
			t.Errorf("p%g: coverage of 0 by the A/A interval %.4f is outside [%.4f, %.4f]", p*100, aaCov, lo, hi)
		}
	}
	// The drift and sample sizes are such that a 0.2 ms shift is clearly
	// detected at p50; a test whose intervals were merely very wide would
	// pass the coverage checks above and fail here.
	if ex := float64(counts[0].shiftExcludesZero) / coverageReps; ex < 0.9 {
		t.Errorf("p50: the shift interval excludes 0 in only %.3f of repetitions; the simulation has no power", ex)
	}
}

func TestAtLevelRebuildsTheSameIntervalAndWidensWithTheLevel(t *testing.T) {
	base := []float64{0.20, 0.22, 0.19, 0.21, 0.23}
	treated := []float64{0.31, 0.30, 0.32, 0.29, 0.33}
	iv95, err := PairedShift(base, treated, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	same, err := iv95.AtLevel(0.95)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(same.Low-iv95.Low) > 1e-12 || math.Abs(same.High-iv95.High) > 1e-12 {
		t.Errorf("AtLevel(0.95) = [%g, %g], want PairedShift's [%g, %g]", same.Low, same.High, iv95.Low, iv95.High)
	}
	// Student-t tables, 4 degrees of freedom: t(0.975) = 2.776,
	// t(0.9975) = 5.598 (two-sided 99.5%).
	fw, err := iv95.AtLevel(0.995)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := fw.HalfWidth() / iv95.HalfWidth(); math.Abs(ratio-5.598/2.776) > 0.005 {
		t.Errorf("99.5%% half-width / 95%% half-width = %.4f, want %.4f", ratio, 5.598/2.776)
	}
	if _, err := iv95.AtLevel(1); err == nil {
		t.Error("AtLevel(1) accepted")
	}
	if _, err := (Interval{N: 1}).AtLevel(0.95); err == nil {
		t.Error("AtLevel on a one-round interval accepted")
	}
}

func TestProportionIntervalIsTheExactBinomialInterval(t *testing.T) {
	// Reference values: R binom.test(k, n)$conf.int at 95%.
	for _, tt := range []struct {
		k, n      int
		low, high float64
	}{
		{0, 100, 0, 0.03621669},
		{5, 100, 0.01643187, 0.11283491},
		{100, 100, 0.96378331, 1},
		{1, 1000, 0.0000253, 0.005558924},
	} {
		iv, err := ProportionInterval(tt.k, tt.n, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(iv.Low-tt.low) > 1e-6 || math.Abs(iv.High-tt.high) > 1e-6 || iv.Estimate != float64(tt.k)/float64(tt.n) {
			t.Errorf("%d of %d: [%.8f, %.8f] around %g, want [%.8f, %.8f]", tt.k, tt.n, iv.Low, iv.High, iv.Estimate, tt.low, tt.high)
		}
	}
	for _, bad := range [][2]int{{1, 0}, {-1, 10}, {11, 10}} {
		if _, err := ProportionInterval(bad[0], bad[1], 0.95); err == nil {
			t.Errorf("%d events in %d trials: no error", bad[0], bad[1])
		}
	}
}
