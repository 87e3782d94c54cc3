package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// analysisWith builds the analysis of a calibration whose every arm is
// measured at its true shift plus bias[arm] (ms), with 95% intervals of
// half-width h over 5 rounds.
func analysisWith(bias map[string]float64, h float64) perf.Analysis {
	a := perf.Analysis{Baseline: perf.ArmNone, AA: perf.ArmNoneAA, Level: 0.95}
	for _, c := range calibrations[1:] {
		truth := float64(c.delay) / float64(time.Millisecond)
		for _, p := range calibrationPercentiles {
			est := truth + bias[c.arm]
			a.Shifts = append(a.Shifts, runinfo.Shift{Kind: perf.KindHTTP, Arm: c.arm, Baseline: perf.ArmNone, Percentile: p,
				Estimate: est, Low: est - h, High: est + h, Rounds: 5})
		}
	}
	return a
}

func TestCalibrationTableJudgesContainmentFamilyWiseWithinTheResolution(t *testing.T) {
	const resolution = 0.01
	for _, tt := range []struct {
		name string
		bias map[string]float64
		h    float64
		ok   bool
		want string
	}{
		{"unbiased", nil, 0.01, true, ""},
		// 95% half-width 0.005 ms → family-wise (99.67%, 4 df) about 0.0115;
		// + 0.01 resolution: a bias of 0.015 ms is inside, 0.03 ms is not.
		{"bias within the family-wise interval and the resolution", map[string]float64{"+1 ms": -0.015}, 0.005, true, ""},
		{"bias beyond them", map[string]float64{"+1 ms": -0.03}, 0.005, false, "does not contain the true shift"},
		{"A/A away from 0", map[string]float64{perf.ArmNoneAA: 0.05}, 0.005, false, "does not contain the true shift"},
		{"0.2 ms not told from 0", nil, 0.25, false, "0.2 ms or more not told from 0 at p50"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table, ok := calibrationTable(analysisWith(tt.bias, tt.h), nil, nil, resolution)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v\n%s", ok, tt.ok, table)
			}
			if tt.want != "" && !strings.Contains(table, tt.want) {
				t.Errorf("table does not say %q:\n%s", tt.want, table)
			}
			if !strings.Contains(table, "Bonferroni over 15 intervals") {
				t.Errorf("table does not say how containment was judged:\n%s", table)
			}
		})
	}
}
