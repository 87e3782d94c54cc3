package wait

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestForSucceedsAndReportsNothingForShortWaits(t *testing.T) {
	var out bytes.Buffer
	w := Waiter{Out: &out, Every: time.Hour, Interval: time.Millisecond}
	n := 0
	err := w.For(context.Background(), "three polls", time.Second, func(context.Context) (bool, string, error) {
		n++
		return n == 3, "polled", nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err=%v n=%d", err, n)
	}
	if out.Len() != 0 {
		t.Fatalf("unexpected progress output %q", out.String())
	}
}

func TestForTimesOutNamingWhatAndLastStatus(t *testing.T) {
	var out bytes.Buffer
	w := Waiter{Out: &out, Every: 20 * time.Millisecond, Interval: 5 * time.Millisecond}
	err := w.For(context.Background(), "istiod to be ready", 100*time.Millisecond, func(context.Context) (bool, string, error) {
		return false, "0/1 replicas ready", nil
	})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("want TimeoutError, got %v", err)
	}
	for _, want := range []string{"istiod to be ready", "100ms", "0/1 replicas ready"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(out.String(), "waiting for istiod to be ready: 0/1 replicas ready") {
		t.Errorf("no progress line in %q", out.String())
	}
}

func TestForStopsAtOnceOnPermanentError(t *testing.T) {
	w := Waiter{Out: &bytes.Buffer{}, Interval: time.Millisecond}
	start := time.Now()
	err := w.For(context.Background(), "a namespace", time.Minute, func(context.Context) (bool, string, error) {
		return false, "", Permanent(errors.New("namespace is terminating"))
	})
	if err == nil || !strings.Contains(err.Error(), "a namespace: namespace is terminating") || time.Since(start) > 5*time.Second {
		t.Fatalf("err=%v after %s", err, time.Since(start))
	}
}

func TestForShowsTransientErrorsAsStatus(t *testing.T) {
	w := Waiter{Out: &bytes.Buffer{}, Interval: time.Millisecond}
	err := w.For(context.Background(), "the API", 50*time.Millisecond, func(context.Context) (bool, string, error) {
		return false, "", errors.New("connection refused")
	})
	if err == nil || !strings.Contains(err.Error(), "last status: connection refused") {
		t.Fatalf("err=%v", err)
	}
}

func TestForHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := Waiter{Out: &bytes.Buffer{}, Interval: time.Millisecond}
	err := w.For(ctx, "anything", time.Minute, func(context.Context) (bool, string, error) { return false, "", nil })
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for anything") {
		t.Fatalf("err=%v", err)
	}
}

// A poll cut short by the bound must not replace the last real status with
// the client's "context deadline exceeded".
func TestForKeepsTheLastStatusWhenTheBoundCutsAPoll(t *testing.T) {
	w := Waiter{Out: &bytes.Buffer{}, Interval: time.Millisecond}
	err := w.For(context.Background(), "pods to be enrolled", 60*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		select {
		case <-ctx.Done():
			return false, "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
			return false, "0/3 enrolled", nil
		}
	})
	if err == nil || !strings.Contains(err.Error(), "last status: 0/3 enrolled") {
		t.Fatalf("err=%v", err)
	}
}

// client-go's rate limiter refuses a request that could not start before
// the deadline, before the context is done: that is the bound too, not a
// status worth reporting instead of the last real one.
func TestForKeepsTheLastStatusWhenTheRateLimiterSeesTheDeadline(t *testing.T) {
	w := Waiter{Out: &bytes.Buffer{}, Interval: time.Millisecond}
	polls := 0
	err := w.For(context.Background(), "a condition", 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		polls++
		if polls == 1 {
			return false, "no such condition", nil
		}
		return false, "", errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
	})
	if err == nil || !strings.Contains(err.Error(), "last status: no such condition") {
		t.Fatalf("err=%v", err)
	}
}

func TestLedger(t *testing.T) {
	Take()
	w := Waiter{Out: io.Discard, Interval: 5 * time.Millisecond}
	_ = w.For(context.Background(), "met", time.Second, func(context.Context) (bool, string, error) { return true, "", nil })
	_ = w.For(context.Background(), "never", 30*time.Millisecond, func(context.Context) (bool, string, error) { return false, "no", nil })
	_ = w.For(context.Background(), "permanent", time.Second, func(context.Context) (bool, string, error) {
		return false, "", Permanent(errors.New("gone"))
	})
	Observe("a held connection to break", 2*time.Second, true)
	l := Take()
	if l.Count != 4 {
		t.Fatalf("count = %d, want 4", l.Count)
	}
	if l.TimedOut < 2*time.Second+30*time.Millisecond || l.TimedOut > 3*time.Second {
		t.Errorf("timed out = %s, want the 30ms bound plus the observed 2s", l.TimedOut)
	}
	if l.Met > time.Second {
		t.Errorf("met = %s: the met and permanent waits ended at once", l.Met)
	}
	if len(l.Bounds) != 2 || l.Bounds[0].What != "never" || l.Bounds[1].What != "a held connection to break" || l.Bounds[1].Took != 2*time.Second {
		t.Errorf("bounds = %+v, want the two waits that ran to their bound, in order", l.Bounds)
	}
	if n := Take().Count; n != 0 {
		t.Errorf("Take does not empty the ledger: %d", n)
	}
}
