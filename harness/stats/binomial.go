// Package stats holds the statistics behind the suite's probabilistic checks,
// computed exactly rather than by normal approximation.
//
// The main user is the weighted-split check of an HTTPRoute (e.g. backends
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
	"math"
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
// Probabilities are summed from the pmf computed in log space with
// math.Lgamma. Terms further than c*sqrt(N) from the mean, with c chosen so
// that Hoeffding's inequality bounds their total mass per tail by
// 1e-15*Alpha, are skipped; this changes nothing the result depends on.
//
// For an invalid check (see Validate) Interval returns the empty interval
// (1, 0), which rejects every count.
func (c BinomialCheck) Interval() (lo, hi int) {
	if c.Validate() != nil {
		return 1, 0
	}
	d := newDist(c.N, c.P, c.Alpha)
	half := c.Alpha / 2

	// lo: walk up from the left end while the mass strictly below the next
	// candidate stays within Alpha/2.
	lo = d.from
	below := 0.0 // P(X < lo), up to the skipped mass
	for lo < d.to {
		next := below + d.pmf(lo)
		if next > half {
			break
		}
		below = next
		lo++
	}
	// hi: symmetric, walking down from the right end.
	hi = d.to
	above := 0.0 // P(X > hi)
	for hi > lo {
		next := above + d.pmf(hi)
		if next > half {
			break
		}
		above = next
		hi--
	}
	return lo, hi
}

// FalseFailureRate is the exact probability, under the true Binomial(N, P),
// that the count falls outside Interval: the chance that a correct split
// fails the check. It is at most Alpha. It returns 1 for an invalid check.
func (c BinomialCheck) FalseFailureRate() float64 {
	if c.Validate() != nil {
		return 1
	}
	lo, hi := c.Interval()
	return outsideMass(c.N, c.P, c.Alpha, lo, hi)
}

// AcceptProbability is the probability that the check accepts the count when
// the true share is q instead of P: the chance that a wrong split q goes
// unnoticed (one minus the check's power against q). It is computed directly
// as the mass of Binomial(N, q) inside Interval, so small values are exact
// rather than lost in 1 - x. It returns 0 for an invalid check or q outside
// [0, 1].
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
	d := newDist(c.N, q, c.Alpha)
	sum := 0.0
	for k := max(lo, d.from); k <= min(hi, d.to); k++ {
		sum += d.pmf(k)
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
// maxHalfWidth > 0 required) or no N up to MaxRequests qualifies. The scan
// costs O(N^1.5) pmf terms: fine for half-widths of a few percent.
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

// dist is the part of Binomial(n, p) the computations look at: the counts in
// [from, to], outside which each tail's mass is below 1e-15*alpha.
type dist struct {
	n          int
	lgn1       float64 // Lgamma(n+1)
	logp, logq float64
	from, to   int
}

func newDist(n int, p, alpha float64) dist {
	// Hoeffding: P(X <= np - t) and P(X >= np + t) are each <= exp(-2t²/n).
	// With t = c*sqrt(n) and c = sqrt(ln(1/eps)/2) that is eps.
	eps := 1e-15 * alpha
	t := math.Sqrt(math.Log(1/eps)/2) * math.Sqrt(float64(n))
	mean := float64(n) * p
	from := max(0, int(math.Floor(mean-t))-1)
	to := min(n, int(math.Ceil(mean+t))+1)
	lg, _ := math.Lgamma(float64(n) + 1)
	return dist{n: n, lgn1: lg, logp: math.Log(p), logq: math.Log1p(-p), from: from, to: to}
}

// pmf returns P(X = k), computed in log space.
func (d dist) pmf(k int) float64 {
	if k < 0 || k > d.n {
		return 0
	}
	lk, _ := math.Lgamma(float64(k) + 1)
	lnk, _ := math.Lgamma(float64(d.n-k) + 1)
	return math.Exp(d.lgn1 - lk - lnk + float64(k)*d.logp + float64(d.n-k)*d.logq)
}

// outsideMass returns P(X < lo) + P(X > hi) for X ~ Binomial(n, p), summing
// each tail directly (no 1 - x cancellation), smallest terms first.
func outsideMass(n int, p, alpha float64, lo, hi int) float64 {
	d := newDist(n, p, alpha)
	sum := 0.0
	for k := max(d.from, 0); k < min(lo, d.to+1); k++ {
		sum += d.pmf(k)
	}
	for k := min(d.to, n); k > max(hi, d.from-1); k-- {
		sum += d.pmf(k)
	}
	return sum
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
