package perf

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/resources"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
)

// VerdictNoBudget is the verdict on a measured quantity the selected
// profile has no budget for. It is not a pass.
const VerdictNoBudget = "no budget in this profile"

// Quantities and units of the budget results.
const (
	QuantityLatency = "added latency"
	QuantityCPU     = "cpu per 1000 rps"
	QuantityMemory  = "memory"
	UnitMs          = "ms"
	UnitVCPU        = "vCPU"
	UnitMiB         = "MiB"
)

// Methods of the resource results.
const (
	MethodCPU = "cAdvisor through the API server: average cores of the busiest container of the component over the resource trial " +
		"(between the stats' own timestamps) × 1000 / qps; mean over resource trials"
	MethodMemory = "cAdvisor through the API server: working set at the end of the resource trial, highest container of the component; " +
		"highest over resource trials"
)

// DefaultModes maps the suite's arms to the budget modes they are judged
// by.
var DefaultModes = map[string]string{ArmL4: budget.ModeL4, ArmWaypoint: budget.ModeWaypoint}

// componentOf is the component whose resources a mode's budget covers.
var componentOf = map[string]string{budget.ModeL4: budget.ComponentZtunnel, budget.ModeWaypoint: budget.ComponentWaypoint}

// Judgement is one budget result with the one-line reason for its verdict.
type Judgement struct {
	runinfo.BudgetResult
	Reason string `json:"reason"`
}

// Results returns the budget results of js (runinfo.PerfData.Budgets).
func Results(js []Judgement) []runinfo.BudgetResult {
	out := make([]runinfo.BudgetResult, len(js))
	for i, j := range js {
		out[i] = j.BudgetResult
	}
	return out
}

// Judging says what Judge judges.
type Judging struct {
	Selection budget.Selection
	// Modes maps arm names to budget modes; nil means DefaultModes.
	Modes map[string]string
	// Component names the budget component (budget.ComponentZtunnel,
	// budget.ComponentWaypoint) a container's usage counts for, "" for
	// none. nil means resources are not judged.
	Component func(runinfo.Usage) string
	// Calibration, when given, is the instrument's calibration on this
	// machine: a latency budget at a percentile it does not cover cannot be
	// judged (never a pass, nor a failure).
	Calibration *Calibration
}

// Judge judges the HTTP latency shifts of the judged arms and their
// resource trials against the selected profile. Every budget of the
// profile for a judged arm yields a result: one that was not measured is
// "cannot be judged" (not a pass); a measured quantity without a budget is
// VerdictNoBudget.
func Judge(data runinfo.PerfData, a Analysis, j Judging) ([]Judgement, error) {
	modes := j.Modes
	if modes == nil {
		modes = DefaultModes
	}
	for arm, mode := range modes {
		if _, ok := componentOf[mode]; !ok {
			return nil, fmt.Errorf("arm %q is mapped to unknown budget mode %q; the modes are %s, %s", arm, mode, budget.ModeL4, budget.ModeWaypoint)
		}
	}
	var out []Judgement
	var errs []error
	for _, arm := range data.Arms {
		mode, ok := modes[arm]
		if !ok {
			continue
		}
		js, err := judgeLatency(arm, mode, a, j.Selection, j.Calibration)
		out = append(out, js...)
		errs = append(errs, err)
		if j.Component != nil {
			js, err := judgeResources(data, arm, mode, j)
			out = append(out, js...)
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func judgeLatency(arm, mode string, a Analysis, sel budget.Selection, cal *Calibration) ([]Judgement, error) {
	var ps []string
	for _, p := range budget.Percentiles {
		_, has := sel.Profile.LatencyBudget(mode, p)
		_, measured := a.Shift(arm, KindHTTP, p)
		if has || measured {
			ps = append(ps, p)
		}
	}
	for _, s := range a.Shifts {
		if s.Arm == arm && s.Kind == KindHTTP && !slices.Contains(ps, s.Percentile) {
			ps = append(ps, s.Percentile)
		}
	}
	var out []Judgement
	var errs []error
	for _, p := range ps {
		b, has := sel.Profile.LatencyBudget(mode, p)
		s, measured := a.Shift(arm, KindHTTP, p)
		label := arm + " " + p
		r := runinfo.BudgetResult{
			Name: mode + "." + KindHTTP + "." + p, Quantity: QuantityLatency, Mode: arm, Percentile: p, Unit: UnitMs,
			Estimate: s.Estimate, Low: s.Low, High: s.High, Budget: b, Profile: sel.ProfileName, Method: stats.Method,
		}
		covered, why := cal.Covers(sel.LoadName, p)
		floor, hasFloor := a.NoiseFloor(KindHTTP, p)
		if hasFloor {
			r.NoiseFloor = floor
		} else {
			floor = math.NaN()
		}
		switch {
		case !measured:
			r.Verdict = runinfo.BudgetCannotJudge
			out = append(out, Judgement{r, fmt.Sprintf("%s: not measured (no paired rounds of %s against %s), budget %g ms: %s; this is not a pass",
				label, arm, a.Baseline, b, runinfo.BudgetCannotJudge)})
		case !has:
			r.Verdict = VerdictNoBudget
			out = append(out, Judgement{r, fmt.Sprintf("%s: %+.3f ms [%.3f, %.3f]: %s %q",
				label, s.Estimate, s.Low, s.High, VerdictNoBudget, sel.ProfileName)})
		case !covered:
			r.Verdict = runinfo.BudgetCannotJudge
			out = append(out, Judgement{r, fmt.Sprintf("%s: %+.3f ms [%.3f, %.3f], budget %g ms: %s: %s; this is not a pass",
				label, s.Estimate, s.Low, s.High, b, runinfo.BudgetCannotJudge, why)})
		default:
			iv := stats.Interval{Estimate: s.Estimate, Low: s.Low, High: s.High, N: s.Rounds, Level: a.Level}
			jd, err := stats.Judge(label, iv, b, floor, UnitMs)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r.Verdict = jd.Verdict
			out = append(out, Judgement{r, jd.Reason})
		}
	}
	return out, errors.Join(errs...)
}

// readings are a component's figures in an arm's resource trials.
type readings struct {
	cpuPer1000 []float64 // per trial: busiest container, per 1000 rps
	memoryMiB  []float64 // per trial: highest container
	containers int       // most containers of the component in one trial
}

func judgeResources(data runinfo.PerfData, arm, mode string, j Judging) ([]Judgement, error) {
	comp := componentOf[mode]
	if !(data.Load.QPS > 0) {
		return nil, fmt.Errorf("arm %q: the load's qps is %g; CPU per 1000 rps needs the qps the trials ran", arm, data.Load.QPS)
	}
	var rd readings
	for _, t := range data.Trials {
		if t.Arm != arm || t.Kind != KindResources {
			continue
		}
		maxCores, maxMiB, n := math.Inf(-1), math.Inf(-1), 0
		for _, u := range t.Resources {
			if j.Component(u) != comp {
				continue
			}
			maxCores, maxMiB, n = max(maxCores, u.CPUCores), max(maxMiB, u.MemoryMiB), n+1
		}
		if n == 0 {
			continue
		}
		rd.cpuPer1000 = append(rd.cpuPer1000, resources.PerThousandRPS(maxCores, data.Load.QPS))
		rd.memoryMiB = append(rd.memoryMiB, maxMiB)
		rd.containers = max(rd.containers, n)
	}
	var out []Judgement
	for _, q := range []struct {
		key, quantity, unit, method, what string
		values                            []float64
		combine                           func([]float64) float64
	}{
		{budget.QuantityCPU, QuantityCPU, UnitVCPU, MethodCPU, "CPU", rd.cpuPer1000, func(xs []float64) float64 { return stat.Mean(xs, nil) }},
		{budget.QuantityMemory, QuantityMemory, UnitMiB, MethodMemory, "memory", rd.memoryMiB, slices.Max[[]float64]},
	} {
		b, has := j.Selection.Profile.ResourceBudget(comp, q.key)
		measured := len(q.values) > 0
		if !has && !measured {
			continue
		}
		label := fmt.Sprintf("%s %s %s", arm, comp, q.what)
		r := runinfo.BudgetResult{
			Name: mode + "." + comp + "." + q.key, Quantity: q.quantity, Mode: arm, Unit: q.unit,
			Budget: b, Profile: j.Selection.ProfileName, Method: q.method,
		}
		if !measured {
			r.Verdict = runinfo.BudgetCannotJudge
			out = append(out, Judgement{r, fmt.Sprintf("%s: not measured (no resource trial of %s read a %s container), budget %g %s: %s; this is not a pass",
				label, arm, comp, b, q.unit, runinfo.BudgetCannotJudge)})
			continue
		}
		v := q.combine(q.values)
		r.Estimate, r.Low, r.High = v, v, v
		unit := q.unit
		if q.key == budget.QuantityCPU {
			unit += " per 1000 rps"
		}
		head := fmt.Sprintf("%s: %.3f %s (busiest of %d containers, %d resource trials)", label, v, unit, rd.containers, len(q.values))
		switch {
		case !has:
			r.Verdict = VerdictNoBudget
			out = append(out, Judgement{r, fmt.Sprintf("%s: %s %q", head, VerdictNoBudget, j.Selection.ProfileName)})
		case v <= b:
			r.Verdict = runinfo.BudgetHolds
			out = append(out, Judgement{r, fmt.Sprintf("%s, budget %g %s: %s", head, b, q.unit, runinfo.BudgetHolds)})
		default:
			r.Verdict = runinfo.BudgetExceeded
			out = append(out, Judgement{r, fmt.Sprintf("%s, budget %g %s: %s", head, b, q.unit, runinfo.BudgetExceeded)})
		}
	}
	return out, nil
}

// ForMode returns the judgements of one budget mode (budget.ModeL4,
// budget.ModeWaypoint) and, unless quantity is "", one quantity
// (QuantityLatency, QuantityCPU, QuantityMemory). A judgement's Mode is the
// arm it measured ("L4"); its budget mode heads its Name ("l4.http.p50").
func ForMode(js []Judgement, mode, quantity string) []Judgement {
	var out []Judgement
	for _, j := range js {
		if strings.HasPrefix(j.Name, mode+".") && (quantity == "" || j.Quantity == quantity) {
			out = append(out, j)
		}
	}
	return out
}
