package perfrig

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// server is a fake probe server's applied-delay statistics: each trial
// adds the given delays (µs) to the histogram of its arm's delay.
type server struct {
	hists map[string]*wire.Histogram
	reads int
	fail  error
}

func (s *server) read(context.Context) (map[string]wire.DelayStats, error) {
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	out := map[string]wire.DelayStats{}
	for k, h := range s.hists {
		out[k] = wire.DelayStats{Count: h.Count, Applied: h.Clone()}
	}
	return out, nil
}

func (s *server) apply(key string, us ...float64) {
	if s.hists == nil {
		s.hists = map[string]*wire.Histogram{}
	}
	h := s.hists[key]
	if h == nil {
		h, _ = wire.NewHistogram(wire.AppliedBucket)
		s.hists[key] = h
	}
	for _, v := range us {
		h.Record(v / 1e6)
	}
}

func TestWithAppliedDelaysKeepsEachTrialsOwnDelays(t *testing.T) {
	srv := &server{}
	srv.apply("1ms", 1000, 1000) // an earlier trial's, not this one's
	trials := 0
	trial := func(_ context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
		trials++
		srv.apply("1ms", 1001, 1002, 1250) // what the server applied during it
		return runinfo.Trial{Arm: arm, Kind: kind, Count: 3}, nil
	}
	f := WithAppliedDelays(trial, srv.read, func(string) string { return (time.Millisecond).String() })
	got, err := f(t.Context(), "+1 ms", perf.KindHTTP, false)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range got.Applied {
		n += b.Count
		if b.Start < 1.000 || b.End > 1.252 || b.End-b.Start > 0.0011 {
			t.Errorf("applied bucket [%g, %g) ms: want 1 µs buckets of this trial's delays", b.Start, b.End)
		}
	}
	if n != 3 || srv.reads != 2 {
		t.Errorf("%d applied delays from %d reads, want this trial's 3 from a read before and after it", n, srv.reads)
	}

	// Warm-ups and TCP trials are not read.
	for _, c := range []struct {
		kind   string
		warmup bool
	}{{perf.KindHTTP, true}, {perf.KindTCPRR, false}} {
		got, err := f(t.Context(), "+1 ms", c.kind, c.warmup)
		if err != nil || got.Applied != nil {
			t.Errorf("%s warm-up %v: applied %v, err %v; want none read", c.kind, c.warmup, got.Applied, err)
		}
	}
	if srv.reads != 2 {
		t.Errorf("%d reads after a warm-up and a TCP trial, want still 2", srv.reads)
	}

	// No delay recorded for the arm, or the server unreadable: errors that say so.
	none := WithAppliedDelays(func(context.Context, string, string, bool) (runinfo.Trial, error) { return runinfo.Trial{}, nil },
		srv.read, func(string) string { return "2ms" })
	if _, err := none(t.Context(), "+2 ms", perf.KindHTTP, false); err == nil || !strings.Contains(err.Error(), "no applied delays of 2ms") {
		t.Errorf("an arm whose delay the server never applied: %v", err)
	}
	srv.fail = errors.New("pod gone")
	if _, err := f(t.Context(), "+1 ms", perf.KindHTTP, false); err == nil || !strings.Contains(err.Error(), "before the trial: pod gone") {
		t.Errorf("an unreadable server: %v", err)
	}
}
