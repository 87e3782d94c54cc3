package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"fortio.org/fortio/fhttp"

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
	// Resolution is the histogram resolution; 0 keeps the probe's 10 µs.
	Resolution time.Duration
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

// RunLoad runs the load in the pod and returns fortio's result.
func (c Client) RunLoad(ctx context.Context, l Load) (*fhttp.HTTPRunnerResults, error) {
	ctx, cancel := context.WithTimeout(ctx, l.Duration+time.Minute)
	defer cancel()
	container := c.Container
	if container == "" {
		container = "probe"
	}
	out, err := c.Kube.Exec(ctx, c.Namespace, c.Pod, container, l.Args())
	probelog.Add("load", c.Namespace+"/"+c.Pod, l.Args(), out, err)
	if err != nil {
		return nil, err
	}
	return ParseLoad(out)
}

// ParseLoad reads fortio's JSON result.
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
