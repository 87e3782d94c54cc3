// The statistics of the latency budgets: the order in
// which the arms (modes) of a procedure run, the estimate of an arm's added
// latency with its confidence interval from paired trials, the A/A noise
// floor, and the judgement of an interval against a budget.
//
// The design: every round runs every arm once, in an order rotated from
// round to round (Interleave), so slow drift of the cluster hits every arm
// alike. In round i the baseline trial gives b_i and the treated trial t_i,
// both the same percentile of each trial's histogram; d_i = t_i − b_i cancels
// whatever the round shares. The rounds' differences are treated as n
// independent draws, and the interval is the paired Student-t interval
// mean(d) ± t_{1−α/2, n−1} · sd(d)/√n. The difference of two trials that
// differ only by a shift is symmetric around that shift, which is the case
// where the t interval keeps its level for small n; the coverage test
// checks this on skewed latency samples with drift.

package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Method names how PairedShift computes its interval, for the report.
const Method = "paired Student-t interval over rounds of per-round percentile differences (n−1 df)"

// DefaultLevel is the confidence level of the intervals the suite reports.
const DefaultLevel = 0.95

// MinRounds is the smallest number of paired rounds an interval needs (one
// degree of freedom).
const MinRounds = 2

// ErrNoData marks an estimate that had no paired rounds at all, e.g. for an
// arm the procedure never reached.
var ErrNoData = errors.New("no paired rounds")

// Interleave returns the order of the arms in each of rounds rounds: round r
// runs the arms rotated left by r mod len(arms) (A B C, B C A, C A B, A B C,
// …), so every arm takes every position equally often over len(arms)
// rounds. It returns nil when there are no arms or rounds < 1. The result
// does not share memory with arms.
func Interleave(arms []string, rounds int) [][]string {
	if len(arms) == 0 || rounds < 1 {
		return nil
	}
	out := make([][]string, rounds)
	for r := range out {
		k := r % len(arms)
		order := make([]string, 0, len(arms))
		order = append(order, arms[k:]...)
		order = append(order, arms[:k]...)
		out[r] = order
	}
	return out
}

// Interval is an estimate with its two-sided confidence interval.
type Interval struct {
	Estimate float64 // mean of the per-round differences
	Low      float64
	High     float64
	SD       float64 // sample standard deviation of the differences (n−1)
	N        int     // paired rounds
	Level    float64 // confidence level, e.g. 0.95
}

// HalfWidth is half the width of the interval.
func (iv Interval) HalfWidth() float64 { return (iv.High - iv.Low) / 2 }

// Contains reports whether x lies in the closed interval.
func (iv Interval) Contains(x float64) bool { return iv.Low <= x && x <= iv.High }

// AtLevel is the same estimate with its interval at another confidence
// level, e.g. a family-wise level when several intervals must all hold at
// once: the half-width scaled by the ratio of the Student-t quantiles (n−1
// degrees of freedom), which is PairedShift's construction at that level.
func (iv Interval) AtLevel(level float64) (Interval, error) {
	for _, l := range []float64{level, iv.Level} {
		if err := checkLevel(l); err != nil {
			return Interval{}, err
		}
	}
	if iv.N < MinRounds {
		return Interval{}, fmt.Errorf("an interval needs at least %d paired rounds, this one has %d", MinRounds, iv.N)
	}
	h := iv.HalfWidth() * tQuantile(iv.N, level) / tQuantile(iv.N, iv.Level)
	out := iv
	out.Low, out.High, out.Level = iv.Estimate-h, iv.Estimate+h, level
	return out, nil
}

// checkLevel refuses a confidence level outside (0, 1).
func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("confidence level %g is outside (0, 1); use e.g. 0.95", level)
	}
	return nil
}

// tQuantile is the two-sided Student-t critical value at level for n paired
// rounds (n−1 degrees of freedom).
func tQuantile(n int, level float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(1 - (1-level)/2)
}

// PairedShift estimates the shift of treated over baseline from paired
// values: baseline[i] and treated[i] are the same percentile of the
// baseline's and the treated arm's trial in round i. level is the
// confidence level in (0, 1), 0 meaning DefaultLevel. It needs at least
// MinRounds pairs of finite values.
func PairedShift(baseline, treated []float64, level float64) (Interval, error) {
	if level == 0 {
		level = DefaultLevel
	}
	if err := checkLevel(level); err != nil {
		return Interval{}, err
	}
	if len(baseline) != len(treated) {
		return Interval{}, fmt.Errorf("paired shift needs one baseline and one treated value per round, got %d baseline and %d treated values",
			len(baseline), len(treated))
	}
	n := len(baseline)
	if n == 0 {
		return Interval{}, fmt.Errorf("paired shift: %w (need at least %d)", ErrNoData, MinRounds)
	}
	if n < MinRounds {
		return Interval{}, fmt.Errorf("paired shift needs at least %d paired rounds for an interval (n−1 degrees of freedom), got %d; run more rounds",
			MinRounds, n)
	}
	d := make([]float64, n)
	for i := range d {
		if !finite(baseline[i]) || !finite(treated[i]) {
			return Interval{}, fmt.Errorf("round %d: baseline %g and treated %g must both be finite numbers", i, baseline[i], treated[i])
		}
		d[i] = treated[i] - baseline[i]
	}
	mean, sd := stat.MeanStdDev(d, nil)
	h := tQuantile(n, level) * sd / math.Sqrt(float64(n))
	return Interval{Estimate: mean, Low: mean - h, High: mean + h, SD: sd, N: n, Level: level}, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Verdicts of Judge: runinfo's Budget* verdicts.
const (
	Holds       = runinfo.BudgetHolds
	Exceeded    = runinfo.BudgetExceeded
	CannotJudge = runinfo.BudgetCannotJudge
)

// Judgement is the verdict on one interval against one budget.
type Judgement struct {
	Verdict string // Holds | Exceeded | CannotJudge
	Reason  string // one line naming the numbers
}

// Judge judges the shift iv against budget (same unit, > 0) given the run's
// noise floor (the half-width of the A/A interval; NaN when the run had no
// A/A pair). label names the quantity in the reason, e.g. "L4 p99"; unit
// is printed after the numbers, e.g. "ms".
//
//   - Holds when the interval's upper bound is within the budget.
//   - Otherwise CannotJudge when the noise floor is wider than the budget
//     (or unknown): the instrument cannot tell an effect of the budget's
//     size from noise, and that is not a pass.
//   - Otherwise Exceeded; the reason says whether even the lower bound is
//     above the budget or only the upper bound is.
func Judge(label string, iv Interval, budget, noiseFloor float64, unit string) (Judgement, error) {
	if !(budget > 0) || math.IsInf(budget, 0) {
		return Judgement{}, fmt.Errorf("%s: budget %g %s must be a finite number > 0", label, budget, unit)
	}
	if !finite(iv.Estimate) || !finite(iv.Low) || !finite(iv.High) || iv.Low > iv.High {
		return Judgement{}, fmt.Errorf("%s: interval [%g, %g] around %g is not a finite interval", label, iv.Low, iv.High, iv.Estimate)
	}
	if noiseFloor < 0 {
		return Judgement{}, fmt.Errorf("%s: noise floor %g %s is negative; it is a half-width", label, noiseFloor, unit)
	}
	head := fmt.Sprintf("%s: %+.3f %s [%.3f, %.3f], budget %g %s", label, iv.Estimate, unit, iv.Low, iv.High, budget, unit)
	switch {
	case iv.High <= budget:
		return Judgement{Holds, head + ": " + Holds}, nil
	case math.IsNaN(noiseFloor):
		return Judgement{CannotJudge, fmt.Sprintf("%s: %s: the upper bound is above the budget and the run has no A/A noise floor to tell noise from effect; this is not a pass",
			head, CannotJudge)}, nil
	case noiseFloor > budget:
		return Judgement{CannotJudge, fmt.Sprintf("%s: %s: the noise floor ±%.3f %s (A/A interval half-width) is wider than the budget; this is not a pass",
			head, CannotJudge, noiseFloor, unit)}, nil
	case iv.Low > budget:
		return Judgement{Exceeded, fmt.Sprintf("%s: %s: even the lower bound %.3f %s is above the budget", head, Exceeded, iv.Low, unit)}, nil
	default:
		return Judgement{Exceeded, fmt.Sprintf("%s: %s: the upper bound %.3f %s is above the budget (the lower bound %.3f %s is within it)",
			head, Exceeded, iv.High, unit, iv.Low, unit)}, nil
	}
}

// ProportionMethod names how ProportionInterval computes its interval.
const ProportionMethod = "exact (Clopper–Pearson) binomial interval"

// ProportionInterval is the exact (Clopper–Pearson) interval at level of a
// rate seen as k events in n independent trials, from the Beta quantiles
// (gonum distuv.Beta): it never leaves [0, 1] and keeps its level for any
// n, where the normal approximation fails for rates near 0, the case of
// connection failures.
func ProportionInterval(k, n int, level float64) (Interval, error) {
	if err := checkLevel(level); err != nil {
		return Interval{}, err
	}
	if n < 1 || k < 0 || k > n {
		return Interval{}, fmt.Errorf("%d events in %d trials: want 0 ≤ events ≤ trials and at least one trial", k, n)
	}
	alpha := 1 - level
	iv := Interval{Estimate: float64(k) / float64(n), Low: 0, High: 1, N: n, Level: level}
	if k > 0 {
		iv.Low = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha / 2)
	}
	if k < n {
		iv.High = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha/2)
	}
	return iv, nil
}
