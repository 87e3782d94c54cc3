package perf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"fortio.org/fortio/fhttp"
	fstats "fortio.org/fortio/stats"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// DefaultPercentiles are the percentiles a trial records.
var DefaultPercentiles = []string{"p50", "p90", "p99"}

// ParsePercentile reads a percentile name: "p" followed by a number in
// (0, 100), e.g. "p99" or "p99.9".
func ParsePercentile(name string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimPrefix(name, "p"), 64)
	if !strings.HasPrefix(name, "p") || err != nil || !(v > 0 && v < 100) {
		return 0, fmt.Errorf("percentile %q: want p followed by a number between 0 and 100, e.g. p50, p99, p99.9", name)
	}
	return v, nil
}

// TrialFromLoad converts what `probe load` prints (harness/traffic.
// LoadResult: fortio's result r and the uniform histograms u of the same
// calls) into a trial. With u, the buckets and percentiles come from u.All
// (TrialFromUniform: every bucket u's width wide, every percentile within
// one bucket), Errors is u.Failed.Count, and u must hold as many calls and
// failed calls as fortio's result. Without u (nil: --bucket 0, or a probe
// older than it) it falls back to fortio's buckets (TrialFromHTTP), which
// widen with the latency. UniformBucket tells the two apart.
func TrialFromLoad(r *fhttp.HTTPRunnerResults, u *wire.LoadHistograms, percentiles []string) (runinfo.Trial, error) {
	if u == nil {
		return TrialFromHTTP(r, percentiles)
	}
	if r == nil || r.DurationHistogram == nil {
		return runinfo.Trial{}, errors.New("no fortio result")
	}
	if err := u.Validate(); err != nil {
		return runinfo.Trial{}, fmt.Errorf("uniform histograms: %w", err)
	}
	var fortioErrors int64
	if r.ErrorsDurationHistogram != nil {
		fortioErrors = r.ErrorsDurationHistogram.Count
	}
	if u.All.Count != r.DurationHistogram.Count || u.Failed.Count != fortioErrors {
		return runinfo.Trial{}, fmt.Errorf("uniform histograms hold %d calls, %d failed; fortio's result %d calls, %d errors: not the same run",
			u.All.Count, u.Failed.Count, r.DurationHistogram.Count, fortioErrors)
	}
	t, err := TrialFromUniform(&u.All, percentiles)
	if err != nil {
		return runinfo.Trial{}, err
	}
	t.Started = r.StartTime
	t.Errors = u.Failed.Count
	return t, nil
}

// TrialFromRoundTrips converts `probe rr`'s result into a trial: from its
// uniform histogram when it has one (TrialFromUniform), else from its
// fortio histogram (TrialFromHistogram). Count is the successful samples
// (the failed ones have no latency), Errors the failed ones.
func TrialFromRoundTrips(r wire.RoundTrips, percentiles []string) (runinfo.Trial, error) {
	var t runinfo.Trial
	var err error
	if r.UniformHistogram != nil {
		if r.Histogram != nil && r.UniformHistogram.Count != r.Histogram.Count {
			return runinfo.Trial{}, fmt.Errorf("round trips: uniform histogram of %d samples, fortio's of %d: not the same run",
				r.UniformHistogram.Count, r.Histogram.Count)
		}
		t, err = TrialFromUniform(r.UniformHistogram, percentiles)
	} else {
		t, err = TrialFromHistogram(r.Histogram, percentiles)
	}
	if err != nil {
		return runinfo.Trial{}, fmt.Errorf("round trips: %w", err)
	}
	t.Errors = int64(r.Errors)
	return t, nil
}

// TrialFromUniform converts a uniform histogram (seconds) into a trial:
// its buckets, all h's width wide, in ms, and the percentiles in ms read by
// wire.Histogram.Percentile (linear within the bucket, at most one bucket
// width from the exact percentile).
func TrialFromUniform(h *wire.Histogram, percentiles []string) (runinfo.Trial, error) {
	if h == nil || h.Count == 0 {
		return runinfo.Trial{}, errors.New("empty uniform histogram: the trial recorded no calls")
	}
	if err := h.Validate(); err != nil {
		return runinfo.Trial{}, err
	}
	if len(percentiles) == 0 {
		percentiles = DefaultPercentiles
	}
	t := runinfo.Trial{Count: h.Count, Percentiles: map[string]float64{}, BucketMs: float64(h.Width()) / float64(time.Millisecond)}
	for _, s := range h.Spans(time.Millisecond) {
		t.Histogram = append(t.Histogram, runinfo.Bucket(s))
	}
	for _, name := range percentiles {
		p, err := ParsePercentile(name)
		if err != nil {
			return runinfo.Trial{}, err
		}
		v, err := h.Percentile(p)
		if err != nil {
			return runinfo.Trial{}, err
		}
		t.Percentiles[name] = v * 1000
	}
	return t, nil
}

// UniformBucket reports which histogram a trial's buckets come from: ok is
// true when they are a uniform histogram's (TrialFromUniform, or
// TrialFromLoad and TrialFromRoundTrips given one): every bucket widthMs
// wide, a whole number of nanoseconds, and starting on a multiple of it,
// so that every percentile of the trial is resolved to widthMs. False
// means fortio's buckets (the fallback): their width grows with the
// latency, and the outer two are narrowed to fortio's min and max;
// PercentileBucket gives the one of a percentile. runinfo.Trial does not
// record its source, so this is read from the buckets themselves; a
// fortio trial whose calls all fell in one bucket may read as uniform, and
// then that bucket, [min, max], is indeed the resolution of its
// percentiles.
func UniformBucket(t runinfo.Trial) (widthMs float64, ok bool) {
	if t.BucketMs > 0 {
		return t.BucketMs, true
	}
	if len(t.Histogram) == 0 {
		return 0, false
	}
	const nsPerMs = 1e6
	w := math.Round((t.Histogram[0].End - t.Histogram[0].Start) * nsPerMs)
	if !(w >= 1) {
		return 0, false
	}
	for _, b := range t.Histogram {
		start, end := b.Start*nsPerMs, b.End*nsPerMs
		tol := 1e-3 + 1e-12*math.Abs(end) // ns: float rounding of the ms values
		k := start / w
		if math.Abs((end-start)-w) > tol || math.Abs(k-math.Round(k))*w > tol {
			return 0, false
		}
	}
	return w / nsPerMs, true
}

// TrialFromHTTP converts a fortio HTTP run (fortio's JSON result, as the
// probe prints it) into a trial from fortio's own buckets: its
// DurationHistogram with the percentiles, and the failed calls (fortio's
// ErrorsDurationHistogram) as Errors. Failed calls stay in the histogram,
// as fortio keeps them. It is TrialFromLoad's fallback when the probe
// printed no uniform histograms.
func TrialFromHTTP(r *fhttp.HTTPRunnerResults, percentiles []string) (runinfo.Trial, error) {
	if r == nil {
		return runinfo.Trial{}, errors.New("no fortio result")
	}
	t, err := TrialFromHistogram(r.DurationHistogram, percentiles)
	if err != nil {
		return runinfo.Trial{}, fmt.Errorf("fortio HTTP result: %w", err)
	}
	t.Started = r.StartTime
	if r.ErrorsDurationHistogram != nil {
		t.Errors = r.ErrorsDurationHistogram.Count
	}
	return t, nil
}

// TrialFromHistogram converts a fortio histogram (seconds) into a trial:
// the percentiles in ms, interpolated by fortio (HistogramData.
// CalcPercentile) within the bucket that holds them, and every bucket in
// ms. Fortio's buckets are the -r resolution wide below 11 × it only, and
// 10-100% of the value above (at -r 10 µs: 50 µs wide at 0.2-0.5 ms, 100
// µs at 0.5-1 ms, 200 µs at 1-2 ms), so a percentile there is fortio's
// interpolation inside a wide bucket: use TrialFromUniform when the probe
// recorded a uniform histogram. Any bucket layout in fortio's format works,
// as long as the cumulative percents are fortio's.
func TrialFromHistogram(h *fstats.HistogramData, percentiles []string) (runinfo.Trial, error) {
	if err := checkHistogram(h); err != nil {
		return runinfo.Trial{}, err
	}
	if len(percentiles) == 0 {
		percentiles = DefaultPercentiles
	}
	t := runinfo.Trial{Count: h.Count, Percentiles: map[string]float64{}, Histogram: make([]runinfo.Bucket, len(h.Data))}
	for i, b := range h.Data {
		t.Histogram[i] = runinfo.Bucket{Start: b.Start * 1000, End: b.End * 1000, Count: b.Count}
	}
	for _, name := range percentiles {
		p, err := ParsePercentile(name)
		if err != nil {
			return runinfo.Trial{}, err
		}
		t.Percentiles[name] = h.CalcPercentile(p) * 1000
	}
	return t, nil
}

// checkHistogram refuses what CalcPercentile would silently misread.
func checkHistogram(h *fstats.HistogramData) error {
	if h == nil || h.Count == 0 || len(h.Data) == 0 {
		return errors.New("empty histogram: the trial recorded no calls")
	}
	var sum int64
	prevEnd, prevPct := math.Inf(-1), 0.0
	for i, b := range h.Data {
		sum += b.Count
		want := 100 * float64(sum) / float64(h.Count)
		switch {
		case b.Count < 0 || b.End < b.Start || b.Start < prevEnd-1e-12:
			return fmt.Errorf("histogram bucket %d [%g, %g) with %d calls is out of order", i, b.Start, b.End, b.Count)
		case math.Abs(b.Percent-want) > 1e-6 || b.Percent < prevPct:
			return fmt.Errorf("histogram bucket %d: cumulative percent %g, want %g from the counts", i, b.Percent, want)
		}
		prevEnd, prevPct = b.End, b.Percent
	}
	if sum != h.Count {
		return fmt.Errorf("histogram buckets hold %d calls, its count is %d", sum, h.Count)
	}
	return nil
}

// histogramOf rebuilds fortio's histogram (in ms) from a trial's buckets.
func histogramOf(t runinfo.Trial) *fstats.HistogramData {
	h := &fstats.HistogramData{Count: t.Count, Data: make([]fstats.Bucket, len(t.Histogram))}
	var sum int64
	for i, b := range t.Histogram {
		sum += b.Count
		h.Data[i] = fstats.Bucket{Interval: fstats.Interval{Start: b.Start, End: b.End}, Count: b.Count}
		if t.Count > 0 {
			h.Data[i].Percent = 100 * float64(sum) / float64(t.Count)
		}
	}
	if n := len(t.Histogram); n > 0 {
		h.Min, h.Max = t.Histogram[0].Start, t.Histogram[n-1].End
	}
	return h
}

// Percentile returns a trial's percentile in ms: the recorded one, or one
// read from its kept histogram: for uniform buckets (UniformBucket) by
// wire.Histogram.Percentile's rule (the bucket of the value of rank
// ⌈p × Count / 100⌉, linear by rank within it: at most one bucket from the
// exact value), else interpolated by fortio.
func Percentile(t runinfo.Trial, name string) (float64, error) {
	if v, ok := t.Percentiles[name]; ok {
		return v, nil
	}
	p, err := ParsePercentile(name)
	if err != nil {
		return 0, err
	}
	h := histogramOf(t)
	if err := checkHistogram(h); err != nil {
		return 0, fmt.Errorf("%s trial of %s, round %d: %s not recorded and %w", t.Kind, t.Arm, t.Round, name, err)
	}
	if _, ok := UniformBucket(t); ok {
		return uniformPercentile(t, p), nil
	}
	return h.CalcPercentile(p), nil
}

// uniformPercentile is wire.Histogram.Percentile on a trial's buckets
// (checked by checkHistogram), which keep no min and max: the bucket's
// own bounds are interpolated between.
func uniformPercentile(t runinfo.Trial, p float64) float64 {
	rank := p / 100 * float64(t.Count)
	var before int64
	for _, b := range t.Histogram {
		if float64(before+b.Count) >= rank {
			return b.Start + (rank-float64(before))/float64(b.Count)*(b.End-b.Start)
		}
		before += b.Count
	}
	return t.Histogram[len(t.Histogram)-1].End
}

// PercentileBucket returns the bucket of a trial's histogram that holds
// the percentile: its width (End − Start, ms) is the resolution the
// percentile was read with. For a trial from a uniform histogram that is
// the real bucket, the uniform width wide (e.g. 0.01 ms); for fortio's
// buckets it is fortio's, whose width grows with the latency (the outer
// two narrowed to its min and max).
func PercentileBucket(t runinfo.Trial, name string) (runinfo.Bucket, error) {
	p, err := ParsePercentile(name)
	if err != nil {
		return runinfo.Bucket{}, err
	}
	h := histogramOf(t)
	if err := checkHistogram(h); err != nil {
		return runinfo.Bucket{}, err
	}
	for i, b := range h.Data {
		if p <= b.Percent {
			return t.Histogram[i], nil
		}
	}
	return t.Histogram[len(t.Histogram)-1], nil
}
