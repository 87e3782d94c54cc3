package traffic

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

// recordingExec answers one exec with out and err and records the command
// and the context's deadline.
type recordingExec struct {
	out      string
	err      error
	cmd      []string
	deadline time.Time
	calls    int
}

func (r *recordingExec) Exec(ctx context.Context, _, _, _ string, cmd []string) ([]byte, error) {
	r.calls++
	r.cmd = cmd
	r.deadline, _ = ctx.Deadline()
	return []byte(r.out), r.err
}

func (r *recordingExec) ExecStream(context.Context, string, string, string, []string, io.Writer, io.Writer) error {
	return errors.New("not used")
}

const rrJSON = `{"url":"tcp://s:9090","mode":"rr","count":3,"size":1024,"qps":0,"attempts":3,"connections":1,"errors":1,` +
	`"errorClasses":{"reset":1},"firstError":"read: connection reset by peer","firstErrorClass":"reset","elapsedMicros":900,` +
	`"histogram":{"Count":2,"Min":0.0001,"Max":0.0002,"Sum":0.0003,"Avg":0.00015,"StdDev":0.00005,` +
	`"Data":[{"Start":0.0001,"End":0.0002,"Percent":100,"Count":2}],"Percentiles":[{"Percentile":50,"Value":0.00015}]}}`

func TestRoundTripArgs(t *testing.T) {
	got := strings.Join(RoundTrip{URL: "tcp://s:9090"}.Args(), " ")
	if want := "/probe rr --url tcp://s:9090 --mode rr --count 100 --size 1 --timeout 5s"; got != want {
		t.Errorf("defaults:\n got  %q\n want %q", got, want)
	}
	got = strings.Join(RoundTrip{URL: "tcp://s:9090", Mode: wire.RoundTripCRR, Count: 500, Size: 1024, Timeout: 2 * time.Second,
		Resolution: time.Microsecond, QPS: 250}.Args(), " ")
	if want := "/probe rr --url tcp://s:9090 --mode crr --count 500 --size 1024 --timeout 2s --resolution 0.000001 --qps 250"; got != want {
		t.Errorf("all fields:\n got  %q\n want %q", got, want)
	}
	got = strings.Join(RoundTrip{URL: "tcp://s:9090", Mode: wire.RoundTripCRR, Size: 1024, Payload: "canary-1"}.Args(), " ")
	if want := "/probe rr --url tcp://s:9090 --mode crr --count 100 --size 8 --timeout 5s --payload canary-1"; got != want {
		t.Errorf("a payload sets the size:\n got  %q\n want %q", got, want)
	}
}

func TestRoundTripsRunsTheProbeWithABound(t *testing.T) {
	f := &recordingExec{out: rrJSON}
	c := Client{Kube: f, Namespace: "ns", Pod: "client-1"}
	q := RoundTrip{URL: "tcp://s:9090", Count: 3, Size: 1024, Timeout: 2 * time.Second}
	start := time.Now()
	res, err := c.RoundTrips(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 1 || res.FirstErrorClass != wire.ClassReset || res.Histogram.Count != 2 || res.Histogram.Percentiles[0].Value != 0.00015 {
		t.Errorf("result %+v", res)
	}
	if strings.Join(f.cmd, " ") != strings.Join(q.Args(), " ") {
		t.Errorf("ran %q, want %q", f.cmd, q.Args())
	}
	// 3 samples × 2 s + 30 s for the exec.
	if d := f.deadline.Sub(start); d < 35*time.Second || d > 37*time.Second {
		t.Errorf("exec bound %v, want 36s (count × timeout + 30s)", d)
	}
	if b := (RoundTrip{Count: 100, Timeout: time.Second, QPS: 10}).Bound(); b != 140*time.Second {
		t.Errorf("paced bound %v, want 100 × 1s + 100/10 qps + 30s = 140s", b)
	}
}

func TestRoundTripsRejectsBadInputBeforeExec(t *testing.T) {
	for want, q := range map[string]RoundTrip{
		"want tcp://host:port":       {URL: "http://s:8080"},
		`mode "udp"`:                 {URL: "tcp://s:9090", Mode: "udp"},
		"round trip count -1":        {URL: "tcp://s:9090", Count: -1},
		"round trip timeout -1s":     {URL: "tcp://s:9090", Timeout: -time.Second},
		"round trip qps -3":          {URL: "tcp://s:9090", QPS: -3},
		"round trip resolution -1µs": {URL: "tcp://s:9090", Resolution: -time.Microsecond},
	} {
		f := &recordingExec{out: rrJSON}
		_, err := Client{Kube: f}.RoundTrips(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), want) || f.calls != 0 {
			t.Errorf("%+v: err %v after %d execs; want an error naming %q before any exec", q, err, f.calls, want)
		}
	}
}

func TestRoundTripsReportsProbeFailures(t *testing.T) {
	f := &recordingExec{err: errors.New(`exec "/probe rr" in ns/client-1: command terminated with exit code 2: rr: mode "x"`)}
	if _, err := (Client{Kube: f}).RoundTrips(t.Context(), RoundTrip{URL: "tcp://s:9090"}); err == nil || !strings.Contains(err.Error(), "exit code 2") {
		t.Errorf("exec failure: err %v", err)
	}
	for out, want := range map[string]string{
		"rr: unknown subcommand":                                  "no RoundTrips document",
		`{"mode":"rr","count":1}`:                                 "without a latency histogram",
		strings.Replace(rrJSON, `"mode":"rr"`, `"mode":"crr"`, 1): `ran mode "crr", want "rr"`,
	} {
		_, err := Client{Kube: &recordingExec{out: out}}.RoundTrips(t.Context(), RoundTrip{URL: "tcp://s:9090"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("output %.40q: err %v, want one containing %q", out, err, want)
		}
	}
}

// rrUniformJSON is rrJSON with the uniform histogram of its two samples.
var rrUniformJSON = strings.TrimSuffix(rrJSON, "}") +
	`,"uniformHistogram":{"bucketSeconds":0.00001,"count":2,"min":0.0001,"max":0.0002,"sum":0.0003,"buckets":[[10,1],[20,1]]}}`

func TestRoundTripsCarriesTheUniformHistogram(t *testing.T) {
	f := &recordingExec{out: rrUniformJSON}
	res, err := Client{Kube: f}.RoundTrips(t.Context(), RoundTrip{URL: "tcp://s:9090", Bucket: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	u := res.UniformHistogram
	if u == nil || u.Count != 2 || u.Width() != 10*time.Microsecond || len(u.Buckets) != 2 || u.Buckets[1] != (wire.Bucket{Index: 20, Count: 1}) {
		t.Fatalf("uniform histogram %+v", u)
	}
	if got := strings.Join(f.cmd, " "); !strings.HasSuffix(got, "--timeout 5s --bucket 1us") {
		t.Errorf("ran %q", got)
	}
	if got := strings.Join(RoundTrip{URL: "tcp://s:9090", Bucket: -1}.Args(), " "); !strings.HasSuffix(got, " --bucket 0") {
		t.Errorf("negative bucket: %q, want --bucket 0 (none)", got)
	}
	if res, err := ParseRoundTrips([]byte(rrJSON), wire.RoundTripRR); err != nil || res.UniformHistogram != nil {
		t.Errorf("a document without the uniform histogram (an older probe): %+v, %v", res.UniformHistogram, err)
	}
	for want, out := range map[string]string{
		"holds 3 samples, its fortio histogram 2": strings.Replace(strings.Replace(rrUniformJSON, `"count":2,"min"`, `"count":3,"min"`, 1),
			`[[10,1],`, `[[10,2],`, 1),
		"buckets hold 2 values, its count is 3": strings.Replace(rrUniformJSON, `"count":2,"min"`, `"count":3,"min"`, 1),
		"not in its first bucket":               strings.Replace(rrUniformJSON, `"min":0.0001,"max"`, `"min":0.00005,"max"`, 1),
	} {
		if _, err := ParseRoundTrips([]byte(out), wire.RoundTripRR); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want one containing %q", err, want)
		}
	}
}

func TestStopNamesEveryRunAndReportsOneNotRunning(t *testing.T) {
	f := &recordingExec{out: "rr-1: stopped\nhold-1: not running (dial unix @x: connect: connection refused)\n"}
	c := Client{Kube: f, Namespace: "ns", Pod: "client-1"}
	gone, err := c.Stop(t.Context(), "rr-1", "hold-1")
	if err != nil || len(gone) != 1 || gone[0] != "hold-1" {
		t.Errorf("Stop = %v, %v; want hold-1 not running", gone, err)
	}
	if got, want := strings.Join(f.cmd, " "), "/probe stop --name rr-1 --name hold-1"; got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	f.err = errors.New("pod not found")
	if _, err := c.Stop(t.Context(), "rr-1"); err == nil || !strings.Contains(err.Error(), "pod not found") {
		t.Errorf("an exec that failed: err %v, want it returned", err)
	}
	if got := strings.Join(RoundTrip{URL: "tcp://s:9090", StopName: "rr-1"}.Args(), " "); !strings.HasSuffix(got, "--stop-name rr-1") {
		t.Errorf("a stoppable stream's command %q does not end with --stop-name rr-1", got)
	}
}
