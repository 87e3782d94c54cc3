package perf

import (
	"encoding/json"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	fstats "fortio.org/fortio/stats"
	"fortio.org/log"
	"gonum.org/v1/gonum/stat"
)

// A real fortio run against a local server, its result passed through
// JSON as the probe prints it and harness/traffic.ParseLoad reads it.
func TestTrialFromHTTPOnARealFortioRun(t *testing.T) {
	log.SetLogLevelQuiet(log.Error)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	ho := fhttp.HTTPOptions{URL: srv.URL, Resolution: 0.00001}
	ho.InitHeaders()
	res, err := fhttp.RunHTTPTest(&fhttp.HTTPRunnerOptions{
		RunnerOptions: periodic.RunnerOptions{QPS: -1, Exactly: 300, NumThreads: 2, Resolution: 0.00001,
			Percentiles: []float64{50, 90, 99}, Out: io.Discard},
		HTTPOptions:        ho,
		AllowInitialErrors: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var r fhttp.HTTPRunnerResults
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}

	tr, err := TrialFromHTTP(&r, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := int64(0)
	for code, c := range r.RetCodes {
		if code != http.StatusOK {
			failed += c
		}
	}
	if tr.Count != r.DurationHistogram.Count || tr.Count < 300 || tr.Errors != failed || failed == 0 {
		t.Errorf("count %d, errors %d; fortio: %d calls, %d not 200", tr.Count, tr.Errors, r.DurationHistogram.Count, failed)
	}
	if !tr.Started.Equal(r.StartTime) {
		t.Errorf("started %s, fortio %s", tr.Started, r.StartTime)
	}
	var sum int64
	for _, b := range tr.Histogram {
		sum += b.Count
	}
	if sum != tr.Count || len(tr.Histogram) != len(r.DurationHistogram.Data) {
		t.Errorf("histogram holds %d calls in %d buckets; fortio %d in %d", sum, len(tr.Histogram), tr.Count, len(r.DurationHistogram.Data))
	}
	// Fortio's own percentiles, in seconds, are ours in ms.
	for _, p := range r.DurationHistogram.Percentiles {
		name := "p" + fmtFloat(p.Percentile)
		if got := tr.Percentiles[name]; math.Abs(got-p.Value*1000) > 1e-9 {
			t.Errorf("%s = %g ms, fortio says %g s", name, got, p.Value)
		}
	}
	if !(tr.Percentiles["p50"] <= tr.Percentiles["p90"] && tr.Percentiles["p90"] <= tr.Percentiles["p99"]) {
		t.Errorf("percentiles not ordered: %v", tr.Percentiles)
	}
	if min, max := r.DurationHistogram.Min*1000, r.DurationHistogram.Max*1000; tr.Histogram[0].Start != min || tr.Histogram[len(tr.Histogram)-1].End != max {
		t.Errorf("histogram spans [%g, %g] ms, fortio [%g, %g]", tr.Histogram[0].Start, tr.Histogram[len(tr.Histogram)-1].End, min, max)
	}
}

func fmtFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// samples draws n latencies (seconds) from a lognormal around median,
// shifted by offset.
func samples(rng *rand.Rand, n int, median, sigma, offset float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = median*math.Exp(sigma*rng.NormFloat64()) + offset
	}
	return out
}

// fortioHistogram records xs (seconds) as fortio's runner does, with
// resolution res.
func fortioHistogram(xs []float64, res float64) *fstats.HistogramData {
	h := fstats.NewHistogram(0, res)
	for _, x := range xs {
		h.Record(x)
	}
	return h.Export()
}

func TestFortioBucketsWidenWithTheValue(t *testing.T) {
	// What "resolution" means for fortio: the width of its lowest buckets.
	// At -r 0.00001 a latency near 1 ms is read within a 100 µs bucket, and
	// at -r 0.000001 (Istio's benchmark) one between 1 and 2 ms within a
	// 1 ms bucket. Hence 10 µs in the budgets file.
	for _, c := range []struct {
		res, value, width float64 // seconds
	}{{1e-5, 0.055e-3, 0.01e-3}, {1e-5, 0.95e-3, 0.1e-3}, {1e-6, 1.5e-3, 1e-3}} {
		// A value far below and one far above keep the value's bucket edges
		// in the export (fortio writes Min and Max into the outer buckets).
		tr, err := TrialFromHistogram(fortioHistogram([]float64{c.res / 2, c.value, c.value * 100}, c.res), []string{"p50"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := PercentileBucket(tr, "p50")
		if err != nil {
			t.Fatal(err)
		}
		if !(b.Start < c.value*1000 && c.value*1000 <= b.End) || math.Abs((b.End-b.Start)-c.width*1000) > 1e-9 {
			t.Errorf("-r %g: %g ms lies in bucket [%g, %g] ms, want one %g ms wide", c.res, c.value*1000, b.Start, b.End, c.width*1000)
		}
	}
}

func TestPercentileFromTheKeptHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	h := fortioHistogram(samples(rng, 3000, 0.5e-3, 0.3, 0), 1e-5)
	tr, err := TrialFromHistogram(h, []string{"p50"})
	if err != nil {
		t.Fatal(err)
	}
	// p95 was not recorded: it comes from the kept buckets, as fortio reads them.
	got, err := Percentile(tr, "p95")
	if err != nil {
		t.Fatal(err)
	}
	if want := h.CalcPercentile(95) * 1000; math.Abs(got-want) > 1e-9 {
		t.Errorf("p95 from the kept histogram = %g ms, fortio %g ms", got, want)
	}
	if got, _ := Percentile(tr, "p50"); got != tr.Percentiles["p50"] {
		t.Errorf("a recorded percentile is not returned as recorded")
	}
	b, err := PercentileBucket(tr, "p95")
	if err != nil {
		t.Fatal(err)
	}
	if !(b.Start <= got && got <= b.End) {
		t.Errorf("p95 %g ms is outside its bucket [%g, %g]", got, b.Start, b.End)
	}
	if _, err := Percentile(tr, "median"); err == nil {
		t.Error("Percentile accepted a name that is not p<number>")
	}
}

// A probe may record finer buckets than fortio's (e.g. 10 µs everywhere);
// the same conversion then reads percentiles to 10 µs.
func TestTrialFromFineUniformBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	xs := samples(rng, 5000, 0.5e-3, 0.3, 0)
	const width = 10e-6
	h := uniformHistogram(xs, width)
	tr, err := TrialFromHistogram(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(xs)
	for _, p := range DefaultPercentiles {
		v, _ := ParsePercentile(p)
		exact := stat.Quantile(v/100, stat.Empirical, xs, nil) * 1000
		if got := tr.Percentiles[p]; math.Abs(got-exact) > width*1000 {
			t.Errorf("%s = %.4f ms, exact %.4f ms: off by more than one 10 µs bucket", p, got, exact)
		}
	}
}

// uniformHistogram records xs (seconds) in buckets width wide, in fortio's
// export format (empty buckets left out), as a probe recording finer
// buckets than fortio's would.
func uniformHistogram(xs []float64, width float64) *fstats.HistogramData {
	counts := map[int]int64{}
	for _, x := range xs {
		counts[int(math.Ceil(x/width))-1]++
	}
	idx := slices.Sorted(maps.Keys(counts))
	h := &fstats.HistogramData{Count: int64(len(xs)), Min: slices.Min(xs), Max: slices.Max(xs)}
	var sum int64
	for _, i := range idx {
		sum += counts[i]
		h.Data = append(h.Data, fstats.Bucket{Interval: fstats.Interval{Start: float64(i) * width, End: float64(i+1) * width},
			Count: counts[i], Percent: 100 * float64(sum) / float64(len(xs))})
	}
	return h
}

func TestTrialFromHistogramRefusesBadHistograms(t *testing.T) {
	good := func() *fstats.HistogramData {
		return fortioHistogram([]float64{0.4e-3, 0.5e-3, 0.7e-3}, 1e-5)
	}
	for name, mutate := range map[string]func(h *fstats.HistogramData){
		"empty":           func(h *fstats.HistogramData) { h.Count, h.Data = 0, nil },
		"count mismatch":  func(h *fstats.HistogramData) { h.Count++ },
		"percent wrong":   func(h *fstats.HistogramData) { h.Data[0].Percent = 90 },
		"bucket reversed": func(h *fstats.HistogramData) { h.Data[1].Start, h.Data[1].End = h.Data[1].End, h.Data[1].Start },
	} {
		h := good()
		mutate(h)
		if _, err := TrialFromHistogram(h, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := TrialFromHistogram(nil, nil); err == nil {
		t.Error("nil histogram accepted")
	}
	if _, err := TrialFromHistogram(good(), []string{"p100"}); err == nil {
		t.Error("p100 accepted")
	}
	if _, err := TrialFromHTTP(nil, nil); err == nil {
		t.Error("nil result accepted")
	}
}

func TestParsePercentile(t *testing.T) {
	for name, want := range map[string]float64{"p50": 50, "p99": 99, "p99.9": 99.9} {
		if got, err := ParsePercentile(name); err != nil || got != want {
			t.Errorf("ParsePercentile(%q) = %g, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "p", "99", "p0", "p100", "pabc", "P50"} {
		if _, err := ParsePercentile(bad); err == nil {
			t.Errorf("ParsePercentile(%q) accepted", bad)
		}
	}
}
