package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/inventory"
)

// cleanupListBound bounds each listing of an interrupted run's objects, so
// the whole interrupt stays within seconds (the self-test's interrupt check
// bounds it at 15 s).
const cleanupListBound = 4 * time.Second

// cleanupWatch tells the person who interrupted a run what its clean-up
// removes: this run's objects (by RUN_ID) when the signal came, then, once
// Ginkgo has exited, which are gone, which Kubernetes is still deleting and
// which are left behind.
type cleanupWatch struct {
	cfg    *config.Config
	runID  string
	once   sync.Once
	fired  atomic.Bool
	before chan listing
}

type listing struct {
	inv inventory.Inventory
	err error
}

func newCleanupWatch(cfg *config.Config, runID string) *cleanupWatch {
	return &cleanupWatch{cfg: cfg, runID: runID, before: make(chan listing, 1)}
}

func (w *cleanupWatch) take(ctx context.Context) listing {
	ctx, cancel := context.WithTimeout(ctx, cleanupListBound)
	defer cancel()
	inv, err := takeInventory(ctx, w.cfg, w.runID)
	return listing{inv, err}
}

// interrupted lists the run's objects in the background (the first signal
// only): the specs are cleaning up meanwhile.
func (w *cleanupWatch) interrupted(ctx context.Context) {
	w.once.Do(func() {
		w.fired.Store(true)
		go func() {
			l := w.take(ctx)
			switch {
			case l.err != nil:
				say(fmt.Sprintf("ambient-e2e run: could not list run %s's objects within %s: %v", w.runID, cleanupListBound, l.err))
			case l.inv.Empty():
				say(fmt.Sprintf("ambient-e2e run: run %s has nothing in the cluster to clean up", w.runID))
			default:
				say(fmt.Sprintf("ambient-e2e run: cleaning up run %s: %s", w.runID, strings.Join(l.inv.Items(), ", ")))
			}
			w.before <- l
		}()
	})
}

// report prints what the clean-up removed, after Ginkgo exited; nothing
// when the run was not interrupted.
func (w *cleanupWatch) report(ctx context.Context) {
	if !w.fired.Load() {
		return
	}
	var before listing
	select {
	case before = <-w.before:
	case <-time.After(cleanupListBound):
		return
	}
	if before.err != nil || before.inv.Empty() {
		return
	}
	after := w.take(ctx)
	if after.err != nil {
		say(fmt.Sprintf("ambient-e2e run: could not list what is left within %s: %v; run `make inventory` to see", cleanupListBound, after.err))
		return
	}
	for _, line := range cleanupLines(inventory.CleanedUp(before.inv, after.inv)) {
		say("ambient-e2e run: " + line)
	}
}

// cleanupLines says what became of each object of the run.
func cleanupLines(c inventory.CleanUp) []string {
	var out []string
	if len(c.Removed) > 0 {
		out = append(out, "removed: "+strings.Join(c.Removed, ", "))
	}
	if len(c.Deleting) > 0 {
		out = append(out, "being deleted by Kubernetes (it finishes on its own): "+strings.Join(c.Deleting, ", "))
	}
	if len(c.Left) > 0 {
		out = append(out, "LEFT BEHIND: "+strings.Join(c.Left, ", ")+" (make sweep removes it)")
	} else {
		out = append(out, "nothing of this run is left behind")
	}
	return out
}
