package restart

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

// NewConnections is what a rollout did to a steady stream of new
// connections (`probe rr --mode crr` paced at a rate), split by when each
// sample was due: before the rollout started, during it, after it ended.
type NewConnections struct {
	// Attempts and Failed count the samples due during the rollout.
	Attempts, Failed int
	// AttemptsBefore, FailedBefore, AttemptsAfter and FailedAfter count
	// those due before it started and after it finished.
	AttemptsBefore, FailedBefore int
	AttemptsAfter, FailedAfter   int
	// FirstFailure and LastFailure bound the failures of any window, from
	// the rollout's start (negative before it); both 0 when none failed.
	FirstFailure, LastFailure time.Duration
	// Classes counts every failure by how it failed.
	Classes map[wire.ErrorClass]int
}

// Stream splits a paced stream's samples by the rollout's window. Sample i
// is due at the run's start plus i/QPS (the probe starts it then, or late
// when an earlier one outlasted its slot); a failure is placed at the time
// it started. The stream must be paced (QPS > 0) and must have started
// before the rollout. The stream's times are the pod's clock, the
// rollout's the harness's: kind's nodes share the host's clock, and NTP
// keeps a real cluster's within milliseconds of it, well under the 50 ms
// slot of a sample.
func Stream(rt wire.RoundTrips, r Rollout) (NewConnections, error) {
	var n NewConnections
	if rt.QPS <= 0 || rt.StartedUnixMicros == 0 {
		return n, fmt.Errorf("the stream of new connections is not paced or has no start time (qps %g, started %d)", rt.QPS, rt.StartedUnixMicros)
	}
	start := time.UnixMicro(rt.StartedUnixMicros)
	if !start.Before(r.Started) {
		return n, fmt.Errorf("the stream of new connections started %s after the rollout did: nothing shows it worked before", start.Sub(r.Started).Round(time.Millisecond))
	}
	interval := time.Duration(float64(time.Second) / rt.QPS)
	window := func(at time.Time) int {
		switch {
		case at.Before(r.Started):
			return -1
		case at.After(r.Finished):
			return 1
		}
		return 0
	}
	for i := range rt.Attempts {
		switch window(start.Add(time.Duration(i) * interval)) {
		case -1:
			n.AttemptsBefore++
		case 0:
			n.Attempts++
		default:
			n.AttemptsAfter++
		}
	}
	n.Classes = map[wire.ErrorClass]int{}
	for k, f := range rt.Failures {
		at := start.Add(time.Duration(f.AtMicros) * time.Microsecond)
		switch window(start.Add(time.Duration(f.Index) * interval)) {
		case -1:
			n.FailedBefore++
		case 0:
			n.Failed++
		default:
			n.FailedAfter++
		}
		n.Classes[f.Class]++
		if k == 0 {
			n.FirstFailure = at.Sub(r.Started)
		}
		n.LastFailure = at.Sub(r.Started)
	}
	if len(rt.Failures) < rt.Errors {
		return n, fmt.Errorf("the probe kept %d of %d failures: the split is incomplete", len(rt.Failures), rt.Errors)
	}
	return n, nil
}

// String is the figures in one line.
func (n NewConnections) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d new connections failed during the rollout", n.Failed, n.Attempts)
	if n.Attempts > 0 {
		fmt.Fprintf(&b, " (%.2f%%)", 100*float64(n.Failed)/float64(n.Attempts))
	}
	if n.Failed+n.FailedBefore+n.FailedAfter > 0 {
		fmt.Fprintf(&b, ", failures from %s to %s after the restart began (%s)", signed(n.FirstFailure), signed(n.LastFailure), classes(n.Classes))
	}
	fmt.Fprintf(&b, "; %d of %d failed before it, %d of %d after it", n.FailedBefore, n.AttemptsBefore, n.FailedAfter, n.AttemptsAfter)
	return b.String()
}

// Held is the fate of one connection held open across a rollout.
type Held struct {
	Name string
	// Survived: it still carried pings when its hold ended.
	Survived bool
	// Closed is when it broke, from the rollout's start (Survived false).
	Closed time.Duration
	// Class and Error say how it broke.
	Class wire.ErrorClass
	Error string
	// Pings is how many pings came back.
	Pings int
}

// Fate reads a held connection's result against the rollout.
func Fate(name string, res wire.HoldResult, r Rollout) Held {
	h := Held{Name: name, Survived: res.Connected && !res.Broken, Pings: res.Pings}
	if res.Broken {
		h.Closed = time.UnixMicro(res.EndedUnixMicros).Sub(r.Started)
		h.Class, h.Error = res.ErrorClass, res.Error
	}
	return h
}

// String is the fate in one line.
func (h Held) String() string {
	if h.Survived {
		return fmt.Sprintf("%s: survived (%d pings)", h.Name, h.Pings)
	}
	return fmt.Sprintf("%s: closed %s after the restart began (%s: %s; %d pings)", h.Name, signed(h.Closed), h.Class, h.Error, h.Pings)
}

func signed(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).Round(time.Millisecond).String()
	}
	return "+" + d.Round(time.Millisecond).String()
}

func classes(c map[wire.ErrorClass]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}
