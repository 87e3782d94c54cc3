package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// lateTail is the applied delays' tail of the arm "+1 ms" in the data of
// calibrationData(true): 5% of its replies held back 0.3 ms longer, which
// puts its true p99 shift at about 1.3 ms while p50 and p90 stay at 1 ms.
const lateTail = 0.3

// calibrationData is a calibration's trials over 5 rounds: every baseline
// reply takes 0.3 ms (one 10 µs bucket), and every arm's server applied
// exactly its injected delay, except with tail the "+1 ms" arm, 5% of whose
// replies were held lateTail longer.
func calibrationData(tail bool) runinfo.PerfData {
	d := runinfo.PerfData{}
	for _, c := range calibrations {
		d.Arms = append(d.Arms, c.arm)
	}
	for r := range 5 {
		d.Trials = append(d.Trials, runinfo.Trial{Round: r, Arm: perf.ArmNone, Kind: perf.KindHTTP, Count: 1000, BucketMs: 0.01,
			Histogram: []runinfo.Bucket{{Start: 0.3, End: 0.31, Count: 1000}}})
		for _, c := range calibrations[1:] {
			ms := float64(c.delay) / float64(time.Millisecond)
			applied := []runinfo.Bucket{{Start: ms, End: ms + 0.001, Count: 1000}}
			if tail && c.arm == "+1 ms" {
				applied = []runinfo.Bucket{{Start: ms, End: ms + 0.001, Count: 950}, {Start: ms + lateTail, End: ms + lateTail + 0.001, Count: 50}}
			}
			d.Trials = append(d.Trials, runinfo.Trial{Round: r, Arm: c.arm, Kind: perf.KindHTTP, Count: 1000, BucketMs: 0.01, Applied: applied})
		}
	}
	return d
}

// analysisWith builds the analysis of a calibration whose every arm is
// measured at measured(arm, percentile) (ms), with 95% intervals of
// half-width h over 5 rounds.
func analysisWith(measured func(arm, p string, nominal float64) float64, h float64) perf.Analysis {
	a := perf.Analysis{Baseline: perf.ArmNone, AA: perf.ArmNoneAA, Level: 0.95}
	for _, c := range calibrations[1:] {
		nominal := float64(c.delay) / float64(time.Millisecond)
		for _, p := range calibrationPercentiles {
			est := measured(c.arm, p, nominal)
			a.Shifts = append(a.Shifts, runinfo.Shift{Kind: perf.KindHTTP, Arm: c.arm, Baseline: perf.ArmNone, Percentile: p,
				Estimate: est, Low: est - h, High: est + h, Rounds: 5})
		}
	}
	return a
}

// biased measures every arm at its nominal delay plus bias[arm].
func biased(bias map[string]float64) func(arm, p string, nominal float64) float64 {
	return func(arm, _ string, nominal float64) float64 { return nominal + bias[arm] }
}

func TestCalibrationTableJudgesContainmentFamilyWiseWithinTheResolution(t *testing.T) {
	const resolution = 0.01
	// The tail's true p99: 1 ms plus lateTail, and the half bucket.
	tailTruth := func(arm, p string, nominal float64) float64 {
		if arm == "+1 ms" && p == "p99" {
			return nominal + lateTail
		}
		return nominal
	}
	for _, tt := range []struct {
		name     string
		measured func(arm, p string, nominal float64) float64
		tail     bool
		h        float64
		ok       bool
		want     []string
	}{
		{"unbiased", biased(nil), false, 0.01, true, []string{"calibrated at: p50, p90, p99; not calibrated at: none"}},
		// 95% half-width 0.005 ms → family-wise (99.67%, 4 df) about 0.0115;
		// + 0.01 resolution: a bias of 0.015 ms is inside, 0.03 ms is not.
		{"bias within the family-wise interval and the resolution", biased(map[string]float64{"+1 ms": -0.015}), false, 0.005, true, nil},
		{"bias beyond them", biased(map[string]float64{"+1 ms": -0.03}), false, 0.005, false, []string{"true shift outside the 99.67% interval"}},
		{"A/A away from 0", biased(map[string]float64{perf.ArmNoneAA: 0.05}), false, 0.005, false, []string{"true shift outside"}},
		{"0.2 ms not told from 0", biased(nil), false, 0.25, false, []string{"0.2 ms or more not told from 0 at p50"}},
		// The server's late replies move the true p99: an instrument that
		// reads them is right, one that reads the nominal delay is not.
		{"the applied delays' tail, measured", tailTruth, true, 0.005, true, []string{"(+1.299)", "1000.5 / 1000.9 / 1300.8 µs (n=5000)"}},
		{"the applied delays' tail, missed at p99", biased(nil), true, 0.005, false,
			[]string{"p99: true shift outside", "calibrated at: p50, p90; not calibrated at: p99"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := calibrationData(tt.tail)
			table, cal, ok := calibrationTable(data, analysisWith(tt.measured, tt.h), resolution)
			if got := strings.Join(cal.Calibrated, ", "); !strings.Contains(table, "calibrated at: "+orNone(cal.Calibrated)+";") || (ok && got != "p50, p90, p99") {
				t.Errorf("calibration record %+v does not match the table (ok %v):\n%s", cal, ok, table)
			}
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v\n%s", ok, tt.ok, table)
			}
			for _, want := range tt.want {
				if !strings.Contains(table, want) {
					t.Errorf("table does not say %q:\n%s", want, table)
				}
			}
			if !strings.Contains(table, "Bonferroni over 15 intervals") {
				t.Errorf("table does not say how containment was judged:\n%s", table)
			}
		})
	}
}

func TestCalibrationTableWithoutAppliedDelaysJudgesNothing(t *testing.T) {
	data := calibrationData(false)
	for i := range data.Trials {
		data.Trials[i].Applied = nil
	}
	table, _, ok := calibrationTable(data, analysisWith(biased(nil), 0.01), 0.01)
	if ok || !strings.Contains(table, "no applied delays recorded") || !strings.Contains(table, "calibrated at: none") {
		t.Errorf("ok = %v; want a failure naming the missing applied delays:\n%s", ok, table)
	}
}
