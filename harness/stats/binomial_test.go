package stats

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestDefaultCheckNumbers(t *testing.T) {
	c := DefaultSplitCheck()
	if c != (BinomialCheck{N: 200, P: 0.8, Alpha: 1e-4}) {
		t.Fatalf("DefaultSplitCheck() = %+v", c)
	}
	lo, hi := c.Interval()
	if lo != 137 || hi != 180 {
		t.Errorf("Interval() = [%d, %d], want [137, 180] (as documented)", lo, hi)
	}
	ffr := c.FalseFailureRate()
	if ffr > c.Alpha {
		t.Errorf("FalseFailureRate() = %g > Alpha %g", ffr, c.Alpha)
	}
	// The documented value, 8.745e-05, to 4 significant digits.
	if math.Abs(ffr-8.745e-5) > 0.001e-5 {
		t.Errorf("FalseFailureRate() = %.5g, doc says 8.745e-05", ffr)
	}
	pmf := exactPMF(200, big.NewRat(4, 5))
	lower, upper := ratSum(pmf, 0, lo-1), ratSum(pmf, hi+1, 200)
	if math.Abs(lower-4.241e-5) > 0.001e-5 || math.Abs(upper-4.503e-5) > 0.001e-5 {
		t.Errorf("exact tails %.5g / %.5g, doc says 4.241e-05 / 4.503e-05", lower, upper)
	}
	if math.Abs(lower+upper-ffr) > 1e-12 {
		t.Errorf("FalseFailureRate %.10g != exact rational tails %.10g", ffr, lower+upper)
	}
	// Wrong splits the check exists to catch.
	for _, tc := range []struct {
		q   float64
		max float64
	}{{0.5, 1e-7}, {0.2, 1e-12}, {0, 0}, {1, 0}} {
		if a := c.AcceptProbability(tc.q); a > tc.max {
			t.Errorf("AcceptProbability(%v) = %g, want <= %g", tc.q, a, tc.max)
		}
	}
	if a := c.AcceptProbability(0.8); math.Abs(a+ffr-1) > 1e-12 {
		t.Errorf("AcceptProbability(P) + FalseFailureRate = %.15g, want 1", a+ffr)
	}
}

func TestFiftyFiftyRejected(t *testing.T) {
	c := BinomialCheck{N: 200, P: 0.8, Alpha: 1e-4}
	err := c.Check(100)
	if err == nil {
		t.Fatal("Check(100) of 200 at P=0.8 passed")
	}
	for _, want := range []string{"observed 100 of 200", "share 0.500", "[137, 180]", "0.685 to 0.900"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, k := range []int{137, 160, 180} {
		if err := c.Check(k); err != nil {
			t.Errorf("Check(%d): %v", k, err)
		}
	}
	for _, k := range []int{0, 136, 181, 200, -1, 201} {
		if err := c.Check(k); err == nil {
			t.Errorf("Check(%d) passed", k)
		}
	}
}

// Hand-computed cases. For N=10, P=1/2 the pmf is C(10,k)/1024:
// 1 10 45 120 210 252 210 120 45 10 1. For N=5, P=0.8 it is
// .00032 .0064 .0512 .2048 .4096 .32768.
func TestSmallExactCases(t *testing.T) {
	tests := []struct {
		c      BinomialCheck
		lo, hi int
		ffr    float64
	}{
		// Alpha/2 = 25.6/1024: P(X<2) = 11/1024 fits, P(X<3) = 56/1024 does not.
		{BinomialCheck{N: 10, P: 0.5, Alpha: 0.05}, 2, 8, 22.0 / 1024},
		// Alpha/2 = 128/1024: P(X<3) = 56/1024 fits, P(X<4) = 176/1024 does not.
		{BinomialCheck{N: 10, P: 0.5, Alpha: 0.25}, 3, 7, 112.0 / 1024},
		// Alpha/2 = 1.024/1024: only P(X<1) = 1/1024 fits.
		{BinomialCheck{N: 10, P: 0.5, Alpha: 0.002}, 1, 9, 2.0 / 1024},
		// Alpha/2 = 0.5/1024: not even P(X=0) fits, so nothing is excluded.
		{BinomialCheck{N: 10, P: 0.5, Alpha: 0.001}, 0, 10, 0},
		// Asymmetric: P(X<3) = .05792 > .05 and P(X=5) = .32768 > .05.
		{BinomialCheck{N: 5, P: 0.8, Alpha: 0.1}, 2, 5, 0.00672},
		// Alpha/2 = .35: P(X<4) = .26272, P(X>4) = .32768.
		{BinomialCheck{N: 5, P: 0.8, Alpha: 0.7}, 4, 4, 0.5904},
		{BinomialCheck{N: 1, P: 0.5, Alpha: 0.5}, 0, 1, 0},
	}
	for _, tc := range tests {
		lo, hi := tc.c.Interval()
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("%+v: Interval() = [%d, %d], want [%d, %d]", tc.c, lo, hi, tc.lo, tc.hi)
		}
		if got := tc.c.FalseFailureRate(); math.Abs(got-tc.ffr) > 1e-12 {
			t.Errorf("%+v: FalseFailureRate() = %.12g, want %.12g", tc.c, got, tc.ffr)
		}
	}
}

// TestIntervalMatchesExactRationals checks Interval against its definition
// evaluated with exact rational arithmetic for every N up to 60.
func TestIntervalMatchesExactRationals(t *testing.T) {
	for _, p := range []*big.Rat{big.NewRat(4, 5), big.NewRat(1, 2), big.NewRat(1, 3), big.NewRat(9, 10)} {
		pf, _ := p.Float64()
		for n := 1; n <= 60; n++ {
			pmf := exactPMF(n, p)
			for _, alpha := range []float64{0.3, 0.05, 1e-3, 1e-4, 1e-7} {
				half := new(big.Rat).SetFloat64(alpha / 2)
				wantLo, acc := 0, new(big.Rat)
				for wantLo < n {
					next := new(big.Rat).Add(acc, pmf[wantLo])
					if next.Cmp(half) > 0 {
						break
					}
					acc, wantLo = next, wantLo+1
				}
				wantHi, acc := n, new(big.Rat)
				for wantHi > wantLo {
					next := new(big.Rat).Add(acc, pmf[wantHi])
					if next.Cmp(half) > 0 {
						break
					}
					acc, wantHi = next, wantHi-1
				}
				c := BinomialCheck{N: n, P: pf, Alpha: alpha}
				lo, hi := c.Interval()
				if lo != wantLo || hi != wantHi {
					t.Errorf("%+v: Interval() = [%d, %d], exact [%d, %d]", c, lo, hi, wantLo, wantHi)
					continue
				}
				out := new(big.Rat)
				for k := 0; k <= n; k++ {
					if k < lo || k > hi {
						out.Add(out, pmf[k])
					}
				}
				want, _ := out.Float64()
				got := c.FalseFailureRate()
				if got > alpha || math.Abs(got-want) > 1e-12*math.Max(1, want) {
					t.Errorf("%+v: FalseFailureRate() = %.15g, exact %.15g", c, got, want)
				}
			}
		}
	}
}

func TestRequestsForMonotone(t *testing.T) {
	prev := 0
	for _, w := range []float64{0.5, 0.3, 0.2, 0.15, 0.1, 0.075, 0.05} {
		n := RequestsFor(0.8, 1e-4, w)
		if n == 0 {
			t.Fatalf("RequestsFor(0.8, 1e-4, %v) = 0", w)
		}
		if n < prev {
			t.Errorf("RequestsFor(0.8, 1e-4, %v) = %d < %d for a wider tolerance", w, n, prev)
		}
		prev = n
		if hw := (BinomialCheck{N: n, P: 0.8, Alpha: 1e-4}).HalfWidth(); hw > w {
			t.Errorf("N=%d: half-width %v > %v", n, hw, w)
		}
		for m := 1; m < n; m++ {
			if hw := (BinomialCheck{N: m, P: 0.8, Alpha: 1e-4}).HalfWidth(); hw <= w {
				t.Errorf("RequestsFor(.., %v) = %d, but N=%d already has half-width %v", w, n, m, hw)
				break
			}
		}
	}
	prev = 0
	for _, alpha := range []float64{0.1, 1e-2, 1e-3, 1e-4, 1e-6} {
		n := RequestsFor(0.8, alpha, 0.1)
		if n < prev {
			t.Errorf("RequestsFor(0.8, %v, 0.1) = %d < %d for a larger alpha", alpha, n, prev)
		}
		prev = n
	}
	if n := RequestsFor(0.8, 1e-4, 0.1); n != 235 {
		t.Errorf("RequestsFor(0.8, 1e-4, 0.1) = %d, want 235", n)
	}
	for _, args := range [][3]float64{{0, 0.1, 0.1}, {1, 0.1, 0.1}, {0.8, 0, 0.1}, {0.8, 1, 0.1}, {0.8, 0.1, 0}, {math.NaN(), 0.1, 0.1}} {
		if n := RequestsFor(args[0], args[1], args[2]); n != 0 {
			t.Errorf("RequestsFor%v = %d, want 0", args, n)
		}
	}
}

func TestInvalidCheck(t *testing.T) {
	for _, c := range []BinomialCheck{{N: 0, P: 0.8, Alpha: 0.1}, {N: 10, P: 0, Alpha: 0.1}, {N: 10, P: 0.8, Alpha: 0}, {N: 10, P: 0.8, Alpha: math.NaN()}} {
		if c.Validate() == nil {
			t.Errorf("%+v: Validate() = nil", c)
		}
		if lo, hi := c.Interval(); lo <= hi {
			t.Errorf("%+v: Interval() = [%d, %d], want empty", c, lo, hi)
		}
		if c.Check(5) == nil {
			t.Errorf("%+v: Check passed", c)
		}
		if c.FalseFailureRate() != 1 {
			t.Errorf("%+v: FalseFailureRate() != 1", c)
		}
	}
}

func TestLargeN(t *testing.T) {
	// The skipped far tails must not disturb large N: compare with the normal
	// approximation, which is close there.
	c := BinomialCheck{N: 100000, P: 0.8, Alpha: 1e-4}
	lo, hi := c.Interval()
	sd := math.Sqrt(100000 * 0.8 * 0.2)
	z := 3.8906 // two-sided 1e-4
	if math.Abs(float64(lo)-(80000-z*sd)) > 5 || math.Abs(float64(hi)-(80000+z*sd)) > 5 {
		t.Errorf("Interval() = [%d, %d], normal approx [%.0f, %.0f]", lo, hi, 80000-z*sd, 80000+z*sd)
	}
	if f := c.FalseFailureRate(); f > 1e-4 || f < 0.9e-4 {
		t.Errorf("FalseFailureRate() = %g", f)
	}
}

// exactPMF returns the Binomial(n, p) pmf as exact rationals.
func exactPMF(n int, p *big.Rat) []*big.Rat {
	q := new(big.Rat).Sub(big.NewRat(1, 1), p)
	out := make([]*big.Rat, n+1)
	for k := 0; k <= n; k++ {
		r := new(big.Rat).SetInt(new(big.Int).Binomial(int64(n), int64(k)))
		for range k {
			r.Mul(r, p)
		}
		for range n - k {
			r.Mul(r, q)
		}
		out[k] = r
	}
	return out
}

// ratSum returns the sum of pmf[from..to] as a float64.
func ratSum(pmf []*big.Rat, from, to int) float64 {
	s := new(big.Rat)
	for k := max(from, 0); k <= min(to, len(pmf)-1); k++ {
		s.Add(s, pmf[k])
	}
	f, _ := s.Float64()
	return f
}

func TestNearMissPower(t *testing.T) {
	// The documented near-miss acceptance probabilities.
	for _, tc := range []struct {
		n       int
		q, want float64
	}{{200, 0.7, 0.71}, {200, 0.9, 0.53}, {400, 0.7, 0.21}, {400, 0.9, 0.06}} {
		got := BinomialCheck{N: tc.n, P: 0.8, Alpha: 1e-4}.AcceptProbability(tc.q)
		if math.Abs(got-tc.want) > 0.005 {
			t.Errorf("N=%d: AcceptProbability(%v) = %.4f, doc says %.2f", tc.n, tc.q, got, tc.want)
		}
	}
}
