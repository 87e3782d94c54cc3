// Package perfrig is the perf procedure's measuring rig on a cluster: the
// probe's fortio load and TCP round trips from a client pod to a server pod,
// turned into trials with uniform 10 µs histograms, and CPU and memory read
// from the kubelets' cAdvisor endpoints around the resource trials. The
// perf specs and `ambient-e2e bench-latency` both use it; harness/perf
// decides what runs when.
package perfrig

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/resources"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// Rig runs trials from Client to a server.
type Rig struct {
	Client traffic.Client
	// HTTP is the server's HTTP URL; TCP its tcp:// echo URL.
	HTTP, TCP string
	Load      budget.Load
	// Percentiles the trials report; perf.DefaultPercentiles when empty.
	Percentiles []string
	// Query adds query parameters per arm (the calibration's ?delay=);
	// nil adds none.
	Query func(arm string) url.Values
}

// Trial is a perf.TrialFunc.
func (r Rig) Trial(ctx context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
	switch kind {
	case perf.KindHTTP, perf.KindResources:
		d := r.Load.Trial()
		switch {
		case kind == perf.KindResources && warmup:
			d = r.Load.ResourceWarmup()
		case kind == perf.KindResources:
			d = r.Load.ResourceTrial()
		case warmup:
			d = r.Load.Warmup()
		}
		return r.http(ctx, arm, d)
	case perf.KindTCPRR, perf.KindTCPCRR:
		q := traffic.RoundTrip{URL: r.TCP, Mode: wire.RoundTripRR, Count: r.Load.TCPRoundTrips}
		if kind == perf.KindTCPCRR {
			q.Mode, q.Count = wire.RoundTripCRR, r.Load.TCPConnects
		}
		res, err := r.Client.RoundTrips(ctx, q)
		if err != nil {
			return runinfo.Trial{}, err
		}
		if res.Errors > 0 {
			return runinfo.Trial{}, fmt.Errorf("%d of %d %s round trips failed (first: %s %s): not a clean measurement",
				res.Errors, res.Attempts, q.Mode, res.FirstErrorClass, res.FirstError)
		}
		t, err := perf.TrialFromRoundTrips(res, r.Percentiles)
		t.Started = time.Now()
		return t, err
	}
	return runinfo.Trial{}, fmt.Errorf("unknown trial kind %q", kind)
}

func (r Rig) http(ctx context.Context, arm string, d time.Duration) (runinfo.Trial, error) {
	target := r.HTTP
	if r.Query != nil {
		if q := r.Query(arm); len(q) > 0 {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + q.Encode()
		}
	}
	l := traffic.Load{URL: target, QPS: r.Load.QPS, Connections: r.Load.Connections, Duration: d,
		PayloadSize: r.Load.PayloadBytes, Resolution: time.Duration(r.Load.ResolutionMs * float64(time.Millisecond)),
		Uniform: true, NoCatchUp: true}
	res, err := r.Client.RunLoadFull(ctx, l)
	if err != nil {
		return runinfo.Trial{}, err
	}
	t, err := perf.TrialFromLoad(res.Fortio, res.Uniform, r.Percentiles)
	if err != nil {
		return runinfo.Trial{}, err
	}
	if t.Errors > 0 {
		return t, fmt.Errorf("%d of %d requests failed (%v): not a clean measurement", t.Errors, t.Count, res.Fortio.RetCodes)
	}
	return t, nil
}

// Readers are the containers whose CPU and memory a resource trial reads,
// as a selector made when the trial starts (the pods of the moment: a
// waypoint's, the ztunnels').
type Readers func(ctx context.Context) (resources.Selector, error)

// Resources reads CPU and memory on nodes around a resource trial.
type Resources struct {
	Cluster resources.Cluster
	Nodes   []string
	Readers Readers
}

// Hook is a perf.ResourceHook: one cAdvisor scrape of every node before the
// trial, one after, and the usage of the selected containers in between.
func (r Resources) Hook(ctx context.Context, arm string) (func(context.Context) ([]runinfo.Usage, error), error) {
	sel, err := r.Readers(ctx)
	if err != nil {
		return nil, err
	}
	before := map[string]resources.Sample{}
	for _, n := range r.Nodes {
		s, err := resources.Scrape(ctx, r.Cluster, n)
		if err != nil {
			return nil, err
		}
		before[n] = s
	}
	return func(ctx context.Context) ([]runinfo.Usage, error) {
		var out []runinfo.Usage
		var errs []error
		for _, n := range r.Nodes {
			after, err := resources.Scrape(ctx, r.Cluster, n)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			u, err := resources.Usage(before[n], after, sel)
			out = append(out, u...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return out, errors.Join(errs...)
	}, nil
}

// AppliedDelays reads the probe server's applied-delay statistics (its
// /stats), keyed by requested delay.
type AppliedDelays func(ctx context.Context) (map[string]wire.DelayStats, error)

// WithAppliedDelays is the calibration's perf.TrialFunc: trial (a Rig's
// Trial), and for a measured HTTP trial the delays the server applied to
// its replies (runinfo.Trial.Applied), read from the server's histogram of
// the arm's requested delay just before and just after the trial. delay
// names the arm's requested delay (its time.Duration.String()).
func WithAppliedDelays(trial perf.TrialFunc, read AppliedDelays, delay func(arm string) string) perf.TrialFunc {
	return func(ctx context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
		if kind != perf.KindHTTP || warmup {
			return trial(ctx, arm, kind, warmup)
		}
		before, err := read(ctx)
		if err != nil {
			return runinfo.Trial{}, fmt.Errorf("the server's applied delays before the trial: %w", err)
		}
		t, err := trial(ctx, arm, kind, warmup)
		if err != nil {
			return t, err
		}
		after, err := read(ctx)
		if err != nil {
			return t, fmt.Errorf("the server's applied delays after the trial: %w", err)
		}
		key := delay(arm)
		a := after[key].Applied
		if a == nil {
			return t, fmt.Errorf("the server recorded no applied delays of %s for arm %q", key, arm)
		}
		between := a.Clone()
		if err := between.Subtract(before[key].Applied); err != nil {
			return t, fmt.Errorf("the applied delays of arm %q's trial: %w", arm, err)
		}
		for _, s := range between.Spans(time.Millisecond) {
			t.Applied = append(t.Applied, runinfo.Bucket(s))
		}
		if len(t.Applied) == 0 {
			return t, fmt.Errorf("the server applied no delay of %s during arm %q's trial", key, arm)
		}
		return t, nil
	}
}
