package perf

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

func TestCalibrationRoundTripAndCoverage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench", "calibration.json")
	want := Calibration{Load: "short", Calibrated: []string{"p50", "p90"}, NotCalibrated: []string{"p99"}, When: time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)}
	if err := WriteCalibration(path, want); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCalibration(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != path || c.Load != "short" || len(c.Calibrated) != 2 || !c.When.Equal(want.When) {
		t.Errorf("read back %+v", c)
	}
	for _, tt := range []struct {
		load, p string
		ok      bool
		why     string
	}{
		{"short", "p50", true, ""},
		{"short", "p99", false, "not calibrated at p99"},
		{"lab", "p50", false, `calibrated at the "short" load`},
	} {
		ok, why := c.Covers(tt.load, tt.p)
		if ok != tt.ok || !strings.Contains(why, tt.why) {
			t.Errorf("Covers(%s, %s) = %v %q, want %v %q", tt.load, tt.p, ok, why, tt.ok, tt.why)
		}
	}
	var none *Calibration
	if ok, _ := none.Covers("lab", "p99"); !ok {
		t.Error("no calibration given: a percentile is not covered")
	}
	if _, err := ReadCalibration(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "LATENCY_CALIBRATION") {
		t.Errorf("a missing file: %v", err)
	}
}

// A percentile the instrument is not calibrated at is "cannot be judged"
// whatever the figure: never a pass.
func TestJudgeDoesNotJudgeAnUncalibratedPercentile(t *testing.T) {
	cal := &Calibration{Load: "short", Calibrated: []string{"p50", "p90"}, NotCalibrated: []string{"p99"}, Source: "c.json"}
	js, err := Judge(runinfo.PerfData{Arms: []string{ArmNone, ArmNoneAA, ArmL4}}, handAnalysis(), Judging{Selection: selection(t, "seed"), Calibration: cal})
	if err != nil {
		t.Fatal(err)
	}
	m := judged(t, js)
	if j := m["l4.http.p50"]; j.Verdict != runinfo.BudgetHolds {
		t.Errorf("calibrated p50: %q %s", j.Verdict, j.Reason)
	}
	if j := m["l4.http.p99"]; j.Verdict != runinfo.BudgetCannotJudge || !strings.Contains(j.Reason, "not calibrated at p99") {
		t.Errorf("uncalibrated p99 (+0.22 against 1 ms, a pass otherwise): %q %s", j.Verdict, j.Reason)
	}
}
