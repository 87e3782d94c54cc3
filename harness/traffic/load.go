package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"fortio.org/fortio/fhttp"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
)

// Load describes a fortio load run from a pod (`probe load`).
type Load struct {
	URL         string
	QPS         float64
	Connections int
	Duration    time.Duration
	PayloadSize int // bytes; 0 = GET
	// Resolution is fortio's histogram resolution (the width of its lowest
	// buckets only); 0 keeps the probe's 10 µs.
	Resolution time.Duration
	// Bucket is the width of the uniform histograms of every call the probe
	// prints next to fortio's result (the same at every latency); 0 keeps
	// the probe's 10 µs, a negative width asks for none (--bucket 0).
	Bucket time.Duration
	// Uniform, NoCatchUp and Jitter are fortio's -uniform, -nocatchup and
	// -jitter (Istio's benchmark runs -uniform -nocatchup); they need QPS > 0.
	Uniform   bool
	NoCatchUp bool
	Jitter    bool
	// Headers are extra "Name: value" request headers.
	Headers []string
}

// Args renders the probe command line.
func (l Load) Args() []string {
	args := []string{image.BinaryPath, "load", "--url", l.URL,
		"--qps", strconv.FormatFloat(l.QPS, 'f', -1, 64), "--connections", strconv.Itoa(l.Connections),
		"--duration", l.Duration.String(), "--payload-size", strconv.Itoa(l.PayloadSize)}
	if l.Resolution != 0 {
		args = append(args, "--resolution", strconv.FormatFloat(l.Resolution.Seconds(), 'f', -1, 64))
	}
	if l.Bucket != 0 {
		args = append(args, "--bucket", bucketFlag(l.Bucket))
	}
	for _, f := range []struct {
		flag string
		on   bool
	}{{"--uniform", l.Uniform}, {"--nocatchup", l.NoCatchUp}, {"--jitter", l.Jitter}} {
		if f.on {
			args = append(args, f.flag)
		}
	}
	for _, h := range l.Headers {
		args = append(args, "--header", h)
	}
	return args
}

// bucketFlag renders a --bucket width in ASCII units ("10us", "500ns");
// a negative width is "0": none.
func bucketFlag(d time.Duration) string {
	switch {
	case d < 0:
		return "0"
	case d%time.Microsecond == 0:
		return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// LoadResult is everything `probe load` prints.
type LoadResult struct {
	// Fortio is fortio's result, as ParseLoad returns it.
	Fortio *fhttp.HTTPRunnerResults
	// Uniform are the uniform histograms of the same calls (every call and
	// the failed ones, in buckets of one width); nil when the probe printed
	// none (Load.Bucket negative, or a probe image older than them).
	Uniform *wire.LoadHistograms
}

// RunLoad runs the load in the pod and returns fortio's result.
func (c Client) RunLoad(ctx context.Context, l Load) (*fhttp.HTTPRunnerResults, error) {
	r, err := c.RunLoadFull(ctx, l)
	return r.Fortio, err
}

// RunLoadFull runs the load in the pod and returns fortio's result and the
// uniform histograms.
func (c Client) RunLoadFull(ctx context.Context, l Load) (LoadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, l.Duration+time.Minute)
	defer cancel()
	container := c.Container
	if container == "" {
		container = "probe"
	}
	out, err := c.Kube.Exec(ctx, c.Namespace, c.Pod, container, l.Args())
	probelog.Add("load", c.Namespace+"/"+c.Pod, l.Args(), out, err)
	if err != nil {
		return LoadResult{}, err
	}
	return ParseLoadFull(out)
}

// ParseLoadFull reads what `probe load` prints: fortio's result and, when
// present, the uniform histograms in its top-level field
// wire.LoadHistogramsField, which must be consistent in themselves (see
// wire.LoadHistograms.Validate) and hold as many calls and failed calls as
// fortio's DurationHistogram and ErrorsDurationHistogram.
func ParseLoadFull(out []byte) (LoadResult, error) {
	r, err := ParseLoad(out)
	if err != nil {
		return LoadResult{}, err
	}
	var extra struct {
		Uniform *wire.LoadHistograms `json:"uniformHistograms"`
	}
	if err := json.Unmarshal(out, &extra); err != nil {
		return LoadResult{}, fmt.Errorf("probe load's %s: %w", wire.LoadHistogramsField, err)
	}
	if u := extra.Uniform; u != nil {
		if err := u.Validate(); err != nil {
			return LoadResult{}, fmt.Errorf("probe load's %s: %w", wire.LoadHistogramsField, err)
		}
		var fortioErrors int64
		if r.ErrorsDurationHistogram != nil {
			fortioErrors = r.ErrorsDurationHistogram.Count
		}
		if u.All.Count != r.DurationHistogram.Count || u.Failed.Count != fortioErrors {
			return LoadResult{}, fmt.Errorf("probe load's %s hold %d calls, %d failed; fortio's result %d calls, %d errors",
				wire.LoadHistogramsField, u.All.Count, u.Failed.Count, r.DurationHistogram.Count, fortioErrors)
		}
	}
	return LoadResult{Fortio: r, Uniform: extra.Uniform}, nil
}

// ParseLoad reads fortio's JSON result (the uniform histograms the probe
// adds are ignored: ParseLoadFull reads them).
func ParseLoad(out []byte) (*fhttp.HTTPRunnerResults, error) {
	var r fhttp.HTTPRunnerResults
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("probe load printed no fortio result: %w: %q", err, truncate(string(out), 300))
	}
	if r.DurationHistogram == nil {
		return nil, fmt.Errorf("fortio result without a duration histogram: %q", truncate(string(out), 300))
	}
	return &r, nil
}

// Disruption is what a load run says about a change made during it.
type Disruption struct {
	Requests int64         // calls made
	Failed   int64         // calls without a 200 (fortio counts socket errors as code -1)
	Longest  time.Duration // the slowest call, failed or not
}

// SuccessRatio is the share of calls that got a 200.
func (d Disruption) SuccessRatio() float64 {
	if d.Requests == 0 {
		return 0
	}
	return float64(d.Requests-d.Failed) / float64(d.Requests)
}

func (d Disruption) String() string {
	return fmt.Sprintf("%d of %d requests failed (%.1f%% success), longest request %s",
		d.Failed, d.Requests, 100*d.SuccessRatio(), d.Longest.Round(time.Millisecond))
}

// Disrupted summarises a fortio result.
func Disrupted(r *fhttp.HTTPRunnerResults) Disruption {
	var d Disruption
	for code, n := range r.RetCodes {
		d.Requests += n
		if code != 200 {
			d.Failed += n
		}
	}
	if r.DurationHistogram != nil {
		d.Longest = time.Duration(r.DurationHistogram.Max * float64(time.Second))
	}
	return d
}

// Budget judges a Disruption: "report" never fails (Istio's own toggle test
// accepts 50% success, so by default the numbers are reported), "istio"
// fails below 50% success, "strict" fails on any failed request.
func Budget(name string, d Disruption) error {
	if d.Requests == 0 {
		return fmt.Errorf("the load made no requests, so nothing was measured")
	}
	switch name {
	case "report":
		return nil
	case "istio":
		if d.SuccessRatio() < 0.5 {
			return fmt.Errorf("disruption over the istio budget (≥ 50%% success): %s", d)
		}
		return nil
	case "strict":
		if d.Failed > 0 {
			return fmt.Errorf("disruption over the strict budget (no failed request): %s", d)
		}
		return nil
	}
	return fmt.Errorf("unknown ROLLBACK_BUDGET %q: want report, istio or strict", name)
}
