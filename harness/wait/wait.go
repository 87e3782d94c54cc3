// Package wait bounds every wait of the suite, names what it waits for, and
// prints a progress line while it waits. It wraps e2e-framework's wait.For.
package wait

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	e2ewait "sigs.k8s.io/e2e-framework/klient/wait"
)

// Check reports whether the awaited state is reached, and a short status
// describing the current state ("2/3 pods ready"). An error stops the wait
// only when it is wrapped with Permanent; other errors are shown as status.
type Check func(ctx context.Context) (done bool, status string, err error)

// Waiter carries where progress goes and how often.
type Waiter struct {
	Out      io.Writer     // progress lines; os.Stderr when nil
	Every    time.Duration // progress interval; 10s when zero
	Interval time.Duration // poll interval; 1s when zero
}

type permanent struct{ error }

// Permanent marks an error that no amount of waiting can fix.
func Permanent(err error) error { return permanent{err} }

func (p permanent) Unwrap() error { return p.error }

var (
	defaultMu     sync.Mutex
	defaultWaiter = Waiter{}
)

// SetDefault replaces the Waiter used by For.
func SetDefault(w Waiter) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultWaiter = w
}

// For waits with the default Waiter.
func For(ctx context.Context, what string, timeout time.Duration, check Check) error {
	defaultMu.Lock()
	w := defaultWaiter
	defaultMu.Unlock()
	return w.For(ctx, what, timeout, check)
}

// For polls check until it is done, the timeout passes or ctx ends. The
// error names what was awaited, the bound, and the last status seen.
func (w Waiter) For(ctx context.Context, what string, timeout time.Duration, check Check) error {
	out, every, interval := w.Out, w.Every, w.Interval
	if out == nil {
		out = os.Stderr
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	if interval <= 0 {
		interval = time.Second
	}
	start := time.Now()
	nextProgress := start.Add(every)
	var last string
	var perm error
	cond := func(ctx context.Context) (bool, error) {
		done, status, err := check(ctx)
		if err != nil {
			var p permanent
			if errors.As(err, &p) {
				perm = p.error
				return false, p.error
			}
			if ctx.Err() != nil || cutByDeadline(err) {
				// The bound cut this poll short: keep the last real status.
				return false, nil
			}
			status = err.Error()
		}
		if status != "" {
			last = status
		}
		if !done && time.Now().After(nextProgress) {
			fmt.Fprintf(out, "  … waiting for %s: %s (%s of %s)\n", what, orUnknown(last), time.Since(start).Round(time.Second), timeout)
			nextProgress = time.Now().Add(every)
		}
		return done, nil
	}
	err := e2ewait.For(cond, e2ewait.WithContext(ctx), e2ewait.WithTimeout(timeout), e2ewait.WithInterval(interval), e2ewait.WithImmediate())
	timedOut := err != nil && perm == nil && ctx.Err() == nil
	Observe(what, time.Since(start), timedOut)
	switch {
	case err == nil:
		if d := time.Since(start); d >= every {
			fmt.Fprintf(out, "  ✓ %s after %s\n", what, d.Round(time.Second))
		}
		return nil
	case perm != nil:
		return fmt.Errorf("%s: %w", what, perm)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted while waiting for %s after %s (last status: %s): %w", what, time.Since(start).Round(time.Second), orUnknown(last), ctx.Err())
	default:
		return &TimeoutError{What: what, Bound: timeout, Last: last}
	}
}

// TimeoutError is returned when the bound passes; its text is what a report shows.
type TimeoutError struct {
	What  string
	Bound time.Duration
	Last  string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for %s (last status: %s)", e.Bound, e.What, orUnknown(e.Last))
}

func orUnknown(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

// cutByDeadline says whether err only reports that the poll's deadline
// came: context.DeadlineExceeded, or client-go's rate limiter refusing to
// wait past the deadline ("rate: Wait(n=1) would exceed context deadline"),
// which it says before the context itself is done.
func cutByDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "would exceed context deadline")
}

// The ledger sums, per process, the time spent in bounded waits: those that
// ran to their bound (on a cluster with no mesh, the mesh waits do) and the
// others. A spec's time minus its timed-out waits is the suite's own work.
var ledger struct {
	sync.Mutex
	Ledger
}

// Ledger is what the bounded waits of a spec took.
type Ledger struct {
	Met, TimedOut time.Duration
	Count         int
	// Bounds are the waits that ran to their bound, in order: what each
	// awaited and how long it took.
	Bounds []Bound
}

// Bound is one wait that ran to its bound.
type Bound struct {
	What string
	Took time.Duration
}

// Observe adds a bounded wait for what, of duration d, to the ledger;
// timedOut says it ran to its bound. For records itself; a wait For does
// not run records itself with Observe.
func Observe(what string, d time.Duration, timedOut bool) {
	ledger.Lock()
	defer ledger.Unlock()
	ledger.Count++
	if timedOut {
		ledger.TimedOut += d
		ledger.Bounds = append(ledger.Bounds, Bound{What: what, Took: d})
	} else {
		ledger.Met += d
	}
}

// Take returns what the ledger holds and empties it.
func Take() Ledger {
	ledger.Lock()
	defer ledger.Unlock()
	l := ledger.Ledger
	ledger.Ledger = Ledger{}
	return l
}
