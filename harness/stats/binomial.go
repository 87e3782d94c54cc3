// Package stats holds the suite's statistics, all on gonum: the latency
// budgets' paired intervals, noise floor and judgement (intervals.go), the
// exact binomial interval of a rate (ProportionInterval), and the exact
// acceptance interval of a weighted split (this file), computed exactly
// rather than by normal approximation.
//
// The split check's user is the weighted-split check of an HTTPRoute (e.g. backends
// v1/v2 with weights 80/20): send N requests, count the k answered by the 80%
// backend, and accept iff k lies in an acceptance interval chosen so that a
// correctly configured split fails the check with probability at most Alpha.
//
// The model assumes that every request picks its backend independently with
// the configured probability: Envoy picks among weighted clusters per request
// from a per-request value. Requests must therefore not share anything that
// could pin the choice, such as a fixed x-request-id header (Envoy may derive
// that value from it) or a consistent-hash load-balancing policy.
package stats

import (
	"errors"
	"fmt"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Defaults for the 80/20 weighted-split check of an HTTPRoute.
//
// With N = DefaultRequests = 200, P = 0.8 and Alpha = DefaultAlpha = 1e-4 the
// exact equal-tailed acceptance interval for the count of requests answered by
// the 80% backend is [137, 180] (share 0.685 to 0.900). The probability that
// a correct 80/20 split falls outside it (its false-failure rate) is
// 8.745e-05 (lower tail P(k <= 136) = 4.241e-05, upper tail P(k >= 181) =
// 4.503e-05), about one spurious failure in 11,400 runs. The failures the
// check is meant to catch are caught: the weights being ignored (a 50/50
// split) passes with probability below 1e-7, a reversed 20/80 split below
// 1e-12, all traffic on one backend never. Near misses are not what 200
// requests resolve: a 70/30 split passes with probability 0.71, a 90/10 split
// with 0.53 (N = 400 would bring those to 0.21 and 0.06).
// TestDefaultCheckNumbers recomputes these numbers.
const (
	// DefaultRequests is the number of requests the split check sends.
	DefaultRequests = 200
	// DefaultAlpha is the accepted false-failure rate of the split check.
	DefaultAlpha = 1e-4
)

// DefaultSplitCheck returns the check for an 80/20 split with the defaults
// above: BinomialCheck{N: DefaultRequests, P: 0.8, Alpha: DefaultAlpha}.
func DefaultSplitCheck() BinomialCheck {
	return BinomialCheck{N: DefaultRequests, P: 0.8, Alpha: DefaultAlpha}
}

// BinomialCheck tests an observed count k of successes in N independent trials
// against a success probability P: for a weighted split, k is the number of
// requests answered by the backend of weight share P.
type BinomialCheck struct {
	// N is the number of trials (requests), at least 1.
	N int
	// P is the expected success probability (the backend's weight share),
	// strictly between 0 and 1.
	P float64
	// Alpha bounds the probability that a correct split fails the check,
	// strictly between 0 and 1.
	Alpha float64
}

// Validate reports whether the check's parameters are usable.
func (c BinomialCheck) Validate() error {
	var errs []error
	if c.N < 1 {
		errs = append(errs, fmt.Errorf("request count N = %d, want >= 1", c.N))
	}
	if !(c.P > 0 && c.P < 1) {
		errs = append(errs, fmt.Errorf("share P = %v, want 0 < P < 1", c.P))
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		errs = append(errs, fmt.Errorf("false-failure rate Alpha = %v, want 0 < Alpha < 1", c.Alpha))
	}
	if len(errs) > 0 {
		return fmt.Errorf("stats: invalid binomial check: %w", errors.Join(errs...))
	}
	return nil
}

// Interval returns the acceptance interval [lo, hi] (both inclusive) for the
// success count. It is the exact equal-tailed interval of Binomial(N, P):
// lo is the largest value with P(X < lo) <= Alpha/2 and hi the smallest with
// P(X > hi) <= Alpha/2, so a correct split falls outside it with probability
// at most Alpha (see FalseFailureRate for the exact value).
//
// The tails are gonum's exact binomial CDF (the regularized incomplete beta
// function, distuv.Binomial), the upper one through the mirrored
// distribution so that a small tail is not lost in 1 - x; both bounds are
// found by bisection on the monotone tails.
//
// For an invalid check (see Validate) Interval returns the empty interval
// (1, 0), which rejects every count.
func (c BinomialCheck) Interval() (lo, hi int) {
	if c.Validate() != nil {
		return 1, 0
	}
	half := c.Alpha / 2
	// lo: the largest l in [0, N] with below(l) <= half; below(0) = 0.
	lo = sort.Search(c.N+1, func(l int) bool { return below(c.N, c.P, l) > half }) - 1
	// hi: the smallest h in [lo, N] with above(h) <= half; above(N) = 0.
	hi = lo + sort.Search(c.N-lo+1, func(i int) bool { return above(c.N, c.P, lo+i) <= half })
	return lo, hi
}

// below is P(X < k) for X ~ Binomial(n, p).
func below(n int, p float64, k int) float64 {
	if k <= 0 {
		return 0
	}
	return distuv.Binomial{N: float64(n), P: p}.CDF(float64(k - 1))
}

// above is P(X > k) for X ~ Binomial(n, p), computed as the lower tail of
// the mirrored count n - X ~ Binomial(n, 1-p): P(n - X < n - k).
func above(n int, p float64, k int) float64 {
	return below(n, 1-p, n-k)
}

// FalseFailureRate is the exact probability, under the true Binomial(N, P),
// that the count falls outside Interval: the chance that a correct split
// fails the check. It is at most Alpha. It returns 1 for an invalid check.
func (c BinomialCheck) FalseFailureRate() float64 {
	if c.Validate() != nil {
		return 1
	}
	lo, hi := c.Interval()
	return below(c.N, c.P, lo) + above(c.N, c.P, hi)
}

// AcceptProbability is the probability that the check accepts the count when
// the true share is q instead of P: the chance that a wrong split q goes
// unnoticed (one minus the check's power against q). It is the mass of
// Binomial(N, q) inside Interval, summed from gonum's pmf, so small values
// are exact rather than lost in 1 - x. It returns 0 for an invalid check or
// q outside [0, 1].
func (c BinomialCheck) AcceptProbability(q float64) float64 {
	if c.Validate() != nil || !(q >= 0 && q <= 1) {
		return 0
	}
	lo, hi := c.Interval()
	switch q {
	case 0:
		return indicator(lo <= 0 && 0 <= hi)
	case 1:
		return indicator(lo <= c.N && c.N <= hi)
	}
	d := distuv.Binomial{N: float64(c.N), P: q}
	sum := 0.0
	for k := lo; k <= hi; k++ {
		sum += d.Prob(float64(k))
	}
	return sum
}

// Check returns nil when k lies in Interval, otherwise an error naming k, N,
// the interval (as counts and shares) and the observed share.
func (c BinomialCheck) Check(k int) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if k < 0 || k > c.N {
		return fmt.Errorf("stats: observed %d of %d requests: count out of range [0, %d]", k, c.N, c.N)
	}
	lo, hi := c.Interval()
	if k >= lo && k <= hi {
		return nil
	}
	return fmt.Errorf("stats: observed %d of %d requests (share %.3f) on the %.0f%% backend, "+
		"outside the acceptance interval [%d, %d] (share %.3f to %.3f; false-failure rate %.2g <= alpha %.2g)",
		k, c.N, float64(k)/float64(c.N), 100*c.P,
		lo, hi, float64(lo)/float64(c.N), float64(hi)/float64(c.N),
		c.FalseFailureRate(), c.Alpha)
}

// HalfWidth is half the width of Interval as a share of N: (hi - lo) / (2N).
// It returns 0.5 for an invalid check.
func (c BinomialCheck) HalfWidth() float64 {
	if c.Validate() != nil {
		return 0.5
	}
	lo, hi := c.Interval()
	return float64(hi-lo) / float64(2*c.N)
}

// MaxRequests bounds the search of RequestsFor.
const MaxRequests = 1 << 20

// RequestsFor returns the smallest N, found by scanning N = 1, 2, ..., whose
// acceptance interval for share p and false-failure bound alpha has a
// half-width (in share, see HalfWidth) of at most maxHalfWidth. Because of the
// discreteness of the binomial the half-width is not monotone in N, so a
// larger N is not guaranteed to qualify as well; the result is monotone in
// its arguments (non-increasing in maxHalfWidth and alpha).
//
// It returns 0 if the arguments are invalid (0 < p < 1, 0 < alpha < 1,
// maxHalfWidth > 0 required) or no N up to MaxRequests qualifies. Each N
// costs two bisections over the CDF: fine for half-widths of a few percent.
func RequestsFor(p, alpha, maxHalfWidth float64) int {
	if !(maxHalfWidth > 0) || (BinomialCheck{N: 1, P: p, Alpha: alpha}).Validate() != nil {
		return 0
	}
	if maxHalfWidth >= 0.5 {
		return 1 // hi - lo <= N always
	}
	for n := 1; n <= MaxRequests; n++ {
		if (BinomialCheck{N: n, P: p, Alpha: alpha}).HalfWidth() <= maxHalfWidth {
			return n
		}
	}
	return 0
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
