package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/inventory"
)

func TestCleanupLinesNameWhatIsLeft(t *testing.T) {
	got := strings.Join(cleanupLines(inventory.CleanUp{Removed: []string{"namespace a"}, Deleting: []string{"namespace b"}}), "\n")
	for _, want := range []string{"removed: namespace a", "being deleted by Kubernetes (it finishes on its own): namespace b", "nothing of this run is left behind"} {
		if !strings.Contains(got, want) {
			t.Errorf("lines lack %q:\n%s", want, got)
		}
	}
	got = strings.Join(cleanupLines(inventory.CleanUp{Left: []string{"namespace c"}}), "\n")
	if !strings.Contains(got, "LEFT BEHIND: namespace c (make sweep removes it)") || strings.Contains(got, "nothing of this run") {
		t.Errorf("a leftover must be named:\n%s", got)
	}
}

// A run that was not interrupted reports nothing and does not wait.
func TestReportIsSilentWithoutASignal(t *testing.T) {
	w := newCleanupWatch(nil, "r1")
	start := time.Now()
	w.report(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Fatalf("report waited %s without a signal", d)
	}
}
