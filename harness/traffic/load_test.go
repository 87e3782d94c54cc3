package traffic

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	"fortio.org/fortio/stats"
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
