package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	fstats "fortio.org/fortio/stats"
	"fortio.org/log"
	"gonum.org/v1/gonum/stat"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/uniform"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

const uniformWidth = 10 * time.Microsecond

// uniformWidthMs is uniformWidth in ms, the unit of a trial.
var uniformWidthMs = float64(uniformWidth) / float64(time.Millisecond)

// recorded feeds latencies (seconds) to the probe's Recorder as fortio's
// per-call hook would, failing those whose index is in failed.
func recorded(t *testing.T, xs []float64, failed func(i int) bool) *wire.LoadHistograms {
	t.Helper()
	rec, err := uniform.NewRecorder(uniformWidth)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		rec.Report(t.Context(), 0, int64(i), time.Time{}, x, !failed(i), "")
	}
	return rec.Histograms()
}

// fortioResult is fortio's result for the same latencies.
func fortioResult(xs []float64, failed func(i int) bool) *fhttp.HTTPRunnerResults {
	all, errs := fstats.NewHistogram(0, 1e-5), fstats.NewHistogram(0, 1e-5)
	for i, x := range xs {
		all.Record(x)
		if failed(i) {
			errs.Record(x)
		}
	}
	return &fhttp.HTTPRunnerResults{RunnerResults: periodic.RunnerResults{
		StartTime:               time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		DurationHistogram:       all.Export().CalcPercentiles([]float64{50, 90, 99}),
		ErrorsDurationHistogram: errs.Export(),
	}}
}

func exactMs(sorted []float64, p float64) float64 {
	return stat.Quantile(p/100, stat.Empirical, sorted, nil) * 1000
}

func TestTrialFromLoadReadsTheUniformHistograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	xs := samples(rng, 4000, 0.6e-3, 0.3, 0)
	every9th := func(i int) bool { return i%9 == 0 }
	u, r := recorded(t, xs, every9th), fortioResult(xs, every9th)
	tr, err := TrialFromLoad(r, u, []string{"p50", "p99", "p99.9"})
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := UniformBucket(tr); !ok || math.Abs(w-uniformWidthMs) > 1e-12 {
		t.Errorf("UniformBucket = %g ms, %v; want %g ms, true", w, ok, uniformWidthMs)
	}
	if tr.Count != 4000 || tr.Errors != u.Failed.Count || tr.Errors != 445 || !tr.Started.Equal(r.StartTime) {
		t.Errorf("count %d, errors %d (recorder %d), started %s", tr.Count, tr.Errors, u.Failed.Count, tr.Started)
	}
	if len(tr.Histogram) != len(u.All.Buckets) {
		t.Fatalf("%d buckets, the uniform histogram %d", len(tr.Histogram), len(u.All.Buckets))
	}
	for i, b := range tr.Histogram {
		ub := u.All.Buckets[i]
		if math.Abs(b.Start-float64(ub.Index)*uniformWidthMs) > 1e-12 || math.Abs(b.End-b.Start-uniformWidthMs) > 1e-12 || b.Count != ub.Count {
			t.Fatalf("bucket %d = %+v, uniform [%d, %d]", i, b, ub.Index, ub.Count)
		}
	}
	slices.Sort(xs)
	for name, p := range map[string]float64{"p50": 50, "p99": 99, "p99.9": 99.9} {
		want, _ := u.All.Percentile(p)
		if got := tr.Percentiles[name]; got != want*1000 || math.Abs(got-exactMs(xs, p)) > uniformWidthMs {
			t.Errorf("%s = %g ms, uniform histogram %g ms, exact %g ms", name, got, want*1000, exactMs(xs, p))
		}
	}

	// Without uniform histograms: fortio's buckets, as TrialFromHTTP.
	fb, err := TrialFromLoad(r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := TrialFromHTTP(r, nil)
	if fb.Count != want.Count || fb.Errors != want.Errors || len(fb.Histogram) != len(want.Histogram) || fb.Percentiles["p50"] != want.Percentiles["p50"] {
		t.Errorf("fallback %+v, TrialFromHTTP %+v", fb, want)
	}
	if _, ok := UniformBucket(fb); ok {
		t.Error("a trial from fortio's buckets passes for uniform")
	}

	// Histograms of another run are refused.
	other := recorded(t, xs[:3999], every9th)
	if _, err := TrialFromLoad(r, other, nil); err == nil || !strings.Contains(err.Error(), "not the same run") {
		t.Errorf("histograms of 3999 calls with fortio's 4000: %v", err)
	}
	broken := recorded(t, xs, every9th)
	broken.All.Count++
	if _, err := TrialFromLoad(r, broken, nil); err == nil {
		t.Error("an inconsistent uniform histogram accepted")
	}
	if _, err := TrialFromLoad(nil, u, nil); err == nil {
		t.Error("no fortio result accepted")
	}
}

func TestTrialFromRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	xs := samples(rng, 500, 0.15e-3, 0.4, 0)
	uh, _ := wire.NewHistogram(uniformWidth)
	for _, x := range xs {
		uh.Record(x)
	}
	rt := wire.RoundTrips{Mode: wire.RoundTripRR, Attempts: 503, Errors: 3, Histogram: fortioHistogram(xs, 1e-5), UniformHistogram: uh}
	tr, err := TrialFromRoundTrips(rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := UniformBucket(tr); !ok || tr.Count != 500 || tr.Errors != 3 {
		t.Errorf("uniform round trips: uniform %v, count %d, errors %d", ok, tr.Count, tr.Errors)
	}
	rt.UniformHistogram = nil // an older probe, or --bucket 0
	tr, err = TrialFromRoundTrips(rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := UniformBucket(tr); ok || tr.Count != 500 || tr.Errors != 3 {
		t.Errorf("fortio round trips: uniform %v, count %d, errors %d", ok, tr.Count, tr.Errors)
	}
	uh.Record(1e-3)
	rt.UniformHistogram = uh
	if _, err := TrialFromRoundTrips(rt, nil); err == nil || !strings.Contains(err.Error(), "not the same run") {
		t.Errorf("uniform 501 samples, fortio 500: %v", err)
	}
	if _, err := TrialFromUniform(&wire.Histogram{BucketSeconds: 1e-5}, nil); err == nil {
		t.Error("an empty uniform histogram accepted")
	}
}

// A uniform trial, written to and read back from REPORT_DIR's JSON: a
// percentile it did not record is read from its buckets within one bucket
// of the exact value, and PercentileBucket reports the real 10 µs bucket.
func TestPercentileAndBucketOfAUniformTrial(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	xs := samples(rng, 3000, 0.7e-3, 0.35, 0)
	tr, err := TrialFromLoad(fortioResult(xs, func(int) bool { return false }), recorded(t, xs, func(int) bool { return false }), []string{"p50"})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back runinfo.Trial
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if _, ok := UniformBucket(back); !ok {
		t.Fatal("a uniform trial read back from JSON is not uniform")
	}
	slices.Sort(xs)
	for _, name := range []string{"p90", "p95", "p99"} {
		p, _ := ParsePercentile(name)
		exact := exactMs(xs, p)
		got, err := Percentile(back, name)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-exact) > uniformWidthMs*(1+1e-9) {
			t.Errorf("%s = %.4f ms from the kept buckets, exact %.4f ms: more than one bucket off", name, got, exact)
		}
		b, err := PercentileBucket(back, name)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b.End-b.Start-uniformWidthMs) > 1e-12 || !(b.Start <= exact && exact < b.End) {
			t.Errorf("%s: bucket [%g, %g) ms, want the %g ms one holding the exact %g ms", name, b.Start, b.End, uniformWidthMs, exact)
		}
	}
}

// TestUniformHistogramRecoversAKnownShift: the calibration's injected
// shifts, on synthetic latencies shaped like a loopback HTTP call (median
// 0.1 ms, a right tail). The treated arm is every baseline latency plus the
// shift, so the true shift of every percentile is exactly that shift. From
// the uniform histograms (fed through the probe's fortio hook) it is
// recovered within one bucket at p50, p90 and p99; fortio's buckets, which
// are 50 to 200 µs wide where the shifted latencies land, miss it by more
// than two buckets at the larger shifts: the bias that would make the
// calibration's intervals miss the injected shift.
func TestUniformHistogramRecoversAKnownShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	base := samples(rng, 5000, 0.1e-3, 0.35, 0)
	none := func(int) bool { return false }
	ua, err := TrialFromLoad(fortioResult(base, none), recorded(t, base, none), nil)
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := TrialFromHTTP(fortioResult(base, none), nil)
	for _, shift := range []time.Duration{100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond, time.Millisecond} {
		treated := make([]float64, len(base))
		for i, x := range base {
			treated[i] = x + shift.Seconds()
		}
		ub, err := TrialFromLoad(fortioResult(treated, none), recorded(t, treated, none), nil)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := TrialFromHTTP(fortioResult(treated, none), nil)
		want := float64(shift) / float64(time.Millisecond)
		fortioWorst, row := 0.0, ""
		for _, p := range DefaultPercentiles {
			uErr := ub.Percentiles[p] - ua.Percentiles[p] - want
			fErr := fb.Percentiles[p] - fa.Percentiles[p] - want
			fortioWorst = max(fortioWorst, math.Abs(fErr))
			row += fmt.Sprintf("  %s uniform %+.1f µs, fortio %+.1f µs", p, uErr*1000, fErr*1000)
			if math.Abs(uErr) > uniformWidthMs {
				t.Errorf("shift %s, %s: %.4f ms from the uniform histograms, off by more than one bucket", shift, p, ub.Percentiles[p]-ua.Percentiles[p])
			}
		}
		t.Logf("shift %s:%s", shift, row)
		if shift >= 500*time.Microsecond && fortioWorst <= 2*uniformWidthMs {
			t.Errorf("shift %s: fortio's buckets are off by at most %.1f µs: the case against them does not show here", shift, fortioWorst*1000)
		}
	}
}

// teeLogger is fortio's per-call hook for the test: it passes every call
// to the probe's Recorder and keeps the raw latency fortio measured, the
// ground truth the histograms are judged against.
type teeLogger struct {
	*uniform.Recorder
	mu  sync.Mutex
	raw []float64
}

func (l *teeLogger) Report(ctx context.Context, id periodic.ThreadID, iter int64, start time.Time, latency float64, ok bool, details string) {
	l.Recorder.Report(ctx, id, iter, start, latency, ok, details)
	l.mu.Lock()
	l.raw = append(l.raw, latency)
	l.mu.Unlock()
}

// spinDelay answers after the delay in the query parameter d, spun on the
// monotonic clock (a sleep would overshoot by up to a millisecond).
func spinDelay(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
		runtime.Gosched()
	}
	_, _ = w.Write([]byte("ok"))
}

// fortioBucketWidthMs is the width of fortio's bucket (at resolution res)
// that holds v seconds: a value far below and one far above keep its
// edges in the export.
func fortioBucketWidthMs(v, res float64) float64 {
	tr, _ := TrialFromHistogram(fortioHistogram([]float64{res / 2, v, v * 100}, res), []string{"p50"})
	b, _ := PercentileBucket(tr, "p50")
	return b.End - b.Start
}

// TestKnownShiftThroughTheRealFortioRunner runs fortio (1 connection, 800
// qps, 10 µs resolution) against a local server that delays its answer by
// 0, 100 µs and 500 µs, with the probe's Recorder as the per-call hook,
// and passes the results through JSON as the probe prints them. Against the
// raw latencies of the same calls: every percentile of the uniform trial is
// within one bucket, so every shift within two (the documented worst case);
// fortio's buckets at the delayed latencies are 5 to 10 buckets wide. The
// errors of both are logged.
func TestKnownShiftThroughTheRealFortioRunner(t *testing.T) {
	log.SetLogLevelQuiet(log.Error)
	srv := httptest.NewServer(http.HandlerFunc(spinDelay))
	defer srv.Close()

	type arm struct {
		delay          time.Duration
		uniform, fort  runinfo.Trial
		exact          map[string]float64 // ms, from the raw latencies
		widestFortioMs float64
	}
	var arms []arm
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 500 * time.Microsecond} {
		rec, err := uniform.NewRecorder(uniformWidth)
		if err != nil {
			t.Fatal(err)
		}
		tee := &teeLogger{Recorder: rec}
		ho := fhttp.HTTPOptions{URL: srv.URL + "/?d=" + d.String(), Resolution: 1e-5}
		ho.InitHeaders()
		res, err := fhttp.RunHTTPTest(&fhttp.HTTPRunnerOptions{
			RunnerOptions: periodic.RunnerOptions{QPS: 800, Duration: 500 * time.Millisecond, NumThreads: 1, Resolution: 1e-5,
				Percentiles: []float64{50, 90, 99}, Out: io.Discard, AccessLogger: tee},
			HTTPOptions: ho,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Through JSON, as `probe load` prints and harness/traffic reads.
		doc, err := json.Marshal(struct {
			*fhttp.HTTPRunnerResults
			U *wire.LoadHistograms `json:"uniformHistograms"`
		}{res, rec.Histograms()})
		if err != nil {
			t.Fatal(err)
		}
		var fr fhttp.HTTPRunnerResults
		var u struct {
			U *wire.LoadHistograms `json:"uniformHistograms"`
		}
		if err := errors.Join(json.Unmarshal(doc, &fr), json.Unmarshal(doc, &u)); err != nil {
			t.Fatal(err)
		}
		a := arm{delay: d, exact: map[string]float64{}}
		if a.uniform, err = TrialFromLoad(&fr, u.U, nil); err != nil {
			t.Fatal(err)
		}
		if a.fort, err = TrialFromHTTP(&fr, nil); err != nil {
			t.Fatal(err)
		}
		if int64(len(tee.raw)) != a.uniform.Count || a.uniform.Errors != 0 {
			t.Fatalf("delay %s: %d raw latencies, %d calls in the trial, %d failed", d, len(tee.raw), a.uniform.Count, a.uniform.Errors)
		}
		slices.Sort(tee.raw)
		for _, name := range DefaultPercentiles {
			p, _ := ParsePercentile(name)
			a.exact[name] = exactMs(tee.raw, p)
			if got := a.uniform.Percentiles[name]; math.Abs(got-a.exact[name]) > uniformWidthMs*(1+1e-9) {
				t.Errorf("delay %s, %s: %.4f ms from the uniform histogram, exact %.4f ms: more than one bucket off", d, name, got, a.exact[name])
			}
			a.widestFortioMs = max(a.widestFortioMs, fortioBucketWidthMs(a.exact[name]/1000, 1e-5))
		}
		arms = append(arms, a)
	}
	base := arms[0]
	for _, a := range arms[1:] {
		row := ""
		for _, p := range DefaultPercentiles {
			exact := a.exact[p] - base.exact[p]
			uErr := a.uniform.Percentiles[p] - base.uniform.Percentiles[p] - exact
			fErr := a.fort.Percentiles[p] - base.fort.Percentiles[p] - exact
			row += fmt.Sprintf("  %s exact %.4f ms: uniform %+.1f µs, fortio %+.1f µs", p, exact, uErr*1000, fErr*1000)
			if math.Abs(uErr) > 2*uniformWidthMs*(1+1e-9) {
				t.Errorf("delay %s, %s: shift off by %.1f µs from the uniform histograms, more than two buckets", a.delay, p, uErr*1000)
			}
		}
		t.Logf("delay %s:%s; fortio's widest bucket there %.0f µs", a.delay, row, a.widestFortioMs*1000)
	}
	if w := arms[2].widestFortioMs; w < 5*uniformWidthMs {
		t.Errorf("at a 500 µs delay fortio's buckets are at most %g ms wide: want at least 5 × %g ms", w, uniformWidthMs)
	}
}

// UniformBucket tells a uniform trial from a fortio one at any latency and
// width, 1 µs buckets at 10 s included, after the JSON round trip.
func TestUniformBucketAtAnyScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, c := range []struct {
		width  time.Duration
		median float64 // seconds
	}{{time.Microsecond, 50e-6}, {time.Microsecond, 10}, {uniformWidth, 0.5e-3}, {uniformWidth, 2}, {250 * time.Nanosecond, 0.3e-3}} {
		xs := samples(rng, 2000, c.median, 0.3, 0)
		h, err := wire.NewHistogram(c.width)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			h.Record(x)
		}
		ut, err := TrialFromUniform(h, nil)
		if err != nil {
			t.Fatal(err)
		}
		ft, err := TrialFromHistogram(fortioHistogram(xs, 1e-5), nil)
		if err != nil {
			t.Fatal(err)
		}
		var back runinfo.Trial
		js, _ := json.Marshal(ut)
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		wantMs := float64(c.width) / float64(time.Millisecond)
		if w, ok := UniformBucket(back); !ok || math.Abs(w-wantMs) > 1e-12 {
			t.Errorf("%s buckets around %gs: UniformBucket = %g ms, %v", c.width, c.median, w, ok)
		}
		if w, ok := UniformBucket(ft); ok {
			t.Errorf("fortio's buckets around %gs read as uniform, %g ms wide", c.median, w)
		}
	}
}
