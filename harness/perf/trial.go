package perf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"fortio.org/fortio/fhttp"
	fstats "fortio.org/fortio/stats"

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

// TrialFromHTTP converts a fortio HTTP run (fortio's JSON result, as the
// probe prints it) into a trial: its DurationHistogram with the
// percentiles, and the failed calls (fortio's ErrorsDurationHistogram) as
// Errors. Failed calls stay in the histogram, as fortio keeps them.
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
// ms. Any bucket layout works: fortio's own (its buckets are the -r
// resolution wide below 11 × it and 10-25% of the value above) or a finer
// one a probe records, as long as the cumulative percents are fortio's.
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
// interpolated from its kept histogram by fortio.
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
	return h.CalcPercentile(p), nil
}

// PercentileBucket returns the bucket of a trial's histogram that holds
// the percentile: its width (End − Start, ms) is the resolution the
// percentile was read with.
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
