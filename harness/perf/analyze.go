package perf

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
)

// Noise is the A/A interval of one kind and percentile: the baseline
// against its second run in the same rounds. Its half-width is the run's
// noise floor.
type Noise struct {
	Kind       string
	Percentile string
	Interval   stats.Interval
}

// Floor is the noise floor: the A/A interval's half-width.
func (n Noise) Floor() float64 { return n.Interval.HalfWidth() }

// Analysis is what Analyze estimates from a procedure's trials.
type Analysis struct {
	Baseline string
	AA       string
	Level    float64
	// Shifts: every arm but the baseline against the baseline, the A/A arm
	// included, per kind and percentile (runinfo.PerfData.Shifts).
	Shifts []runinfo.Shift
	Noise  []Noise
}

// NoiseFloor returns the noise floor of kind at percentile; ok is false
// when the run had no A/A interval for it.
func (a Analysis) NoiseFloor(kind, percentile string) (floor float64, ok bool) {
	for _, n := range a.Noise {
		if n.Kind == kind && n.Percentile == percentile {
			return n.Floor(), true
		}
	}
	return 0, false
}

// Shift returns the estimated shift of arm for kind at percentile.
func (a Analysis) Shift(arm, kind, percentile string) (runinfo.Shift, bool) {
	for _, s := range a.Shifts {
		if s.Arm == arm && s.Kind == kind && s.Percentile == percentile {
			return s, true
		}
	}
	return runinfo.Shift{}, false
}

// Analyze estimates, per latency kind and percentile, the shift of every
// arm over baseline from paired rounds (stats.PairedShift at
// stats.DefaultLevel), and the noise floor from the aa arm ("" when the
// run has none). percentiles defaults to DefaultPercentiles. A round
// counts for an arm when both it and the baseline have a trial of that
// kind in it. Estimates that cannot be made (an arm never measured, fewer
// than stats.MinRounds paired rounds) are errors, joined; the others are
// returned.
func Analyze(data runinfo.PerfData, baseline, aa string, percentiles []string) (Analysis, error) {
	if len(percentiles) == 0 {
		percentiles = DefaultPercentiles
	}
	for _, p := range percentiles {
		if _, err := ParsePercentile(p); err != nil {
			return Analysis{}, err
		}
	}
	if !slices.Contains(data.Arms, baseline) {
		return Analysis{}, fmt.Errorf("baseline arm %q is not one of the procedure's arms %v", baseline, data.Arms)
	}
	if aa != "" && !slices.Contains(data.Arms, aa) {
		return Analysis{}, fmt.Errorf("A/A arm %q is not one of the procedure's arms %v", aa, data.Arms)
	}
	type key struct {
		arm, kind string
		round     int
	}
	trials := map[key]runinfo.Trial{}
	has := map[[2]string]bool{} // arm, kind
	for _, t := range data.Trials {
		if !slices.Contains(LatencyKinds, t.Kind) {
			continue
		}
		k := key{t.Arm, t.Kind, t.Round}
		if _, dup := trials[k]; dup {
			return Analysis{}, fmt.Errorf("two %s trials of arm %q in round %d; a round has one trial per arm and kind", t.Kind, t.Arm, t.Round)
		}
		trials[k] = t
		has[[2]string{t.Arm, t.Kind}] = true
	}
	rounds := 0
	for k := range trials {
		rounds = max(rounds, k.round+1)
	}

	a := Analysis{Baseline: baseline, AA: aa, Level: stats.DefaultLevel}
	var errs []error
	for _, kind := range LatencyKinds {
		if !has[[2]string{baseline, kind}] {
			if kind == KindHTTP {
				errs = append(errs, fmt.Errorf("baseline %q has no %s trials", baseline, kind))
			}
			continue
		}
		for _, arm := range data.Arms {
			if arm == baseline {
				continue
			}
			if !has[[2]string{arm, kind}] {
				if kind == KindHTTP {
					errs = append(errs, fmt.Errorf("arm %q has no %s trials: the procedure stopped before it was measured", arm, kind))
				}
				continue
			}
			for _, p := range percentiles {
				var b, tr []float64
				for r := range rounds {
					bt, ok1 := trials[key{baseline, kind, r}]
					at, ok2 := trials[key{arm, kind, r}]
					if !ok1 || !ok2 {
						continue
					}
					bv, err1 := Percentile(bt, p)
					av, err2 := Percentile(at, p)
					if err := errors.Join(err1, err2); err != nil {
						errs = append(errs, err)
						continue
					}
					b, tr = append(b, bv), append(tr, av)
				}
				iv, err := stats.PairedShift(b, tr, a.Level)
				if err != nil {
					errs = append(errs, fmt.Errorf("arm %q, %s %s: %w", arm, kind, p, err))
					continue
				}
				a.Shifts = append(a.Shifts, runinfo.Shift{Kind: kind, Arm: arm, Baseline: baseline, Percentile: p,
					Estimate: iv.Estimate, Low: iv.Low, High: iv.High, Rounds: iv.N})
				if arm == aa {
					a.Noise = append(a.Noise, Noise{Kind: kind, Percentile: p, Interval: iv})
				}
			}
		}
	}
	return a, errors.Join(errs...)
}
