package traffic

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	"fortio.org/fortio/stats"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

func fortioJSON(t *testing.T, codes map[int]int64, max float64) []byte {
	t.Helper()
	r := fhttp.HTTPRunnerResults{RunnerResults: periodic.RunnerResults{DurationHistogram: &stats.HistogramData{Count: 1, Max: max}}, RetCodes: codes}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDisruptedAndBudgets(t *testing.T) {
	r, err := ParseLoad(fortioJSON(t, map[int]int64{200: 70, -1: 20, 503: 10}, 1.25))
	if err != nil {
		t.Fatal(err)
	}
	d := Disrupted(r)
	if d.Requests != 100 || d.Failed != 30 || d.Longest != 1250*time.Millisecond || d.SuccessRatio() != 0.7 {
		t.Fatalf("%+v", d)
	}
	if !strings.Contains(d.String(), "30 of 100 requests failed (70.0% success), longest request 1.25s") {
		t.Fatal(d.String())
	}
	for budget, wantErr := range map[string]bool{"report": false, "istio": false, "strict": true, "lenient": true} {
		if err := Budget(budget, d); (err != nil) != wantErr {
			t.Errorf("budget %s: err=%v", budget, err)
		}
	}
	bad := Disruption{Requests: 10, Failed: 6}
	if Budget("istio", bad) == nil {
		t.Error("40% success passed the istio budget")
	}
	if Budget("report", Disruption{}) == nil {
		t.Error("a load that made no request passed")
	}
}

func TestParseLoadRejectsNonFortioOutput(t *testing.T) {
	if _, err := ParseLoad([]byte("load: bad flag")); err == nil {
		t.Fatal("accepted")
	}
	if _, err := ParseLoad([]byte(`{"RetCodes":{"200":1}}`)); err == nil || !strings.Contains(err.Error(), "histogram") {
		t.Fatalf("err=%v", err)
	}
}

func TestLoadArgs(t *testing.T) {
	got := strings.Join(Load{URL: "http://s:8080/", QPS: 50, Connections: 2, Duration: 30 * time.Second}.Args(), " ")
	if got != "/probe load --url http://s:8080/ --qps 50 --connections 2 --duration 30s --payload-size 0" {
		t.Fatal(got)
	}
	// Istio's benchmark shape: 1000 qps, 1 KB, -uniform -nocatchup, 1 µs buckets.
	got = strings.Join(Load{URL: "http://s:8080/?delay=200us", QPS: 1000, Connections: 8, Duration: 10 * time.Second, PayloadSize: 1024,
		Resolution: time.Microsecond, Uniform: true, NoCatchUp: true, Jitter: true, Headers: []string{"X-A: 1"}}.Args(), " ")
	want := "/probe load --url http://s:8080/?delay=200us --qps 1000 --connections 8 --duration 10s --payload-size 1024 " +
		"--resolution 0.000001 --uniform --nocatchup --jitter --header X-A: 1"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// probeLoadJSON is `probe load`'s document: fortio's result with the
// uniform histograms in the extra top-level field.
func probeLoadJSON(t *testing.T, codes map[int]int64, u *wire.LoadHistograms) []byte {
	t.Helper()
	var n, failed int64
	for code, c := range codes {
		n += c
		if code != 200 {
			failed += c
		}
	}
	doc := struct {
		*fhttp.HTTPRunnerResults
		U *wire.LoadHistograms `json:"uniformHistograms,omitempty"`
	}{&fhttp.HTTPRunnerResults{RunnerResults: periodic.RunnerResults{DurationHistogram: &stats.HistogramData{Count: n},
		ErrorsDurationHistogram: &stats.HistogramData{Count: failed}}, RetCodes: codes}, u}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func uniformOf(t *testing.T, all, failed []float64) *wire.LoadHistograms {
	t.Helper()
	a, _ := wire.NewHistogram(10 * time.Microsecond)
	f, _ := wire.NewHistogram(10 * time.Microsecond)
	for _, x := range all {
		a.Record(x)
	}
	for _, x := range failed {
		f.Record(x)
	}
	return &wire.LoadHistograms{All: *a, Failed: *f}
}

func TestParseLoadFullReadsTheUniformHistograms(t *testing.T) {
	u := uniformOf(t, []float64{0.1e-3, 0.5e-3, 0.52e-3}, []float64{0.52e-3})
	out := probeLoadJSON(t, map[int]int64{200: 2, 503: 1}, u)
	r, err := ParseLoadFull(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fortio == nil || r.Fortio.RetCodes[503] != 1 || r.Uniform == nil || r.Uniform.All.Count != 3 || r.Uniform.Failed.Count != 1 ||
		!slices.Equal(r.Uniform.All.Buckets, u.All.Buckets) || r.Uniform.All.Width() != 10*time.Microsecond {
		t.Fatalf("parsed %+v", r)
	}
	// ParseLoad still reads fortio's result from the same document.
	if f, err := ParseLoad(out); err != nil || f.RetCodes[200] != 2 {
		t.Errorf("ParseLoad: %v %v", f, err)
	}
	// Without the field (--bucket 0, an older probe): fortio's only.
	r, err = ParseLoadFull(probeLoadJSON(t, map[int]int64{200: 3}, nil))
	if err != nil || r.Uniform != nil || r.Fortio.DurationHistogram.Count != 3 {
		t.Errorf("no uniform field: %+v, %v", r, err)
	}
}

func TestParseLoadFullRefusesInconsistentHistograms(t *testing.T) {
	for want, out := range map[string][]byte{
		"hold 3 calls, 1 failed; fortio's result 4 calls, 1 errors": probeLoadJSON(t, map[int]int64{200: 3, -1: 1},
			uniformOf(t, []float64{1e-4, 2e-4, 3e-4}, []float64{3e-4})),
		"hold 3 calls, 0 failed; fortio's result 3 calls, 1 errors": probeLoadJSON(t, map[int]int64{200: 2, -1: 1},
			uniformOf(t, []float64{1e-4, 2e-4, 3e-4}, nil)),
		"failed calls":        probeLoadJSON(t, map[int]int64{200: 2, -1: 1}, uniformOf(t, []float64{1e-4, 2e-4, 3e-4}, []float64{9e-4})),
		"want [index, count]": []byte(`{"DurationHistogram":{"Count":1},"uniformHistograms":{"all":{"buckets":[7]}}}`),
	} {
		if _, err := ParseLoadFull(out); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.80s…: err %v, want one containing %q", out, err, want)
		}
	}
}

func TestRunLoadFull(t *testing.T) {
	u := uniformOf(t, []float64{0.3e-3, 0.4e-3}, nil)
	f := &recordingExec{out: string(probeLoadJSON(t, map[int]int64{200: 2}, u))}
	c := Client{Kube: f, Namespace: "ns", Pod: "client-1"}
	l := Load{URL: "http://s:8080/", QPS: 10, Connections: 1, Duration: time.Second, Bucket: time.Microsecond}
	r, err := c.RunLoadFull(t.Context(), l)
	if err != nil || r.Uniform == nil || r.Uniform.All.Count != 2 || r.Fortio.RetCodes[200] != 2 {
		t.Fatalf("RunLoadFull: %+v, %v", r, err)
	}
	if got := strings.Join(f.cmd, " "); !strings.Contains(got, " --bucket 1us") {
		t.Errorf("ran %q", got)
	}
	fr, err := c.RunLoad(t.Context(), l)
	if err != nil || fr.RetCodes[200] != 2 {
		t.Errorf("RunLoad: %v, %v", fr, err)
	}
	f.err = errors.New("exec failed")
	if _, err := c.RunLoad(t.Context(), l); err == nil {
		t.Error("exec failure not returned")
	}
}

func TestLoadBucketArgs(t *testing.T) {
	for bucket, want := range map[time.Duration]string{
		0:                     "",
		10 * time.Microsecond: " --bucket 10us",
		time.Microsecond:      " --bucket 1us",
		500:                   " --bucket 500ns",
		-1:                    " --bucket 0",
	} {
		got := strings.Join(Load{URL: "http://s/", QPS: 1, Connections: 1, Duration: time.Second, Bucket: bucket}.Args(), " ")
		if base := "/probe load --url http://s/ --qps 1 --connections 1 --duration 1s --payload-size 0"; got != base+want {
			t.Errorf("bucket %s: %q, want %q", bucket, got, base+want)
		}
	}
}
