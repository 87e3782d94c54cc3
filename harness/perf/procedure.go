// Package perf runs the latency and resource procedure of the perf specs
// and turns its trials into estimates and budget verdicts. It is pure
// orchestration: switching the cluster between modes and running a load
// are functions the caller passes in (Arm.Enter, TrialFunc, ResourceHook),
// so the order, the warm-ups, the stop at the first unproven mode and the
// statistics are tested here with fakes.
//
// A procedure runs Rounds rounds. Each round runs every arm once, in the
// order stats.Interleave gives (rotated by one arm per round, so drift hits
// every arm alike). For each arm: Enter switches the cluster into the arm's
// mode and proves it, one warm-up HTTP trial is run and discarded, then one
// measured trial per kind of the arm (KindHTTP for every arm, KindTCPRR and
// KindTCPCRR for arms that list them). An arm that reads resources runs, at
// the end of its first visit, one longer resource trial (KindResources)
// after its own warm-up, with the ResourceHook around it: the kubelet's
// cAdvisor stats are refreshed only every 10-15 s, too seldom for short
// latency trials (see harness/resources).
package perf

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
)

// Trial kinds.
const (
	KindHTTP      = "http"      // fortio HTTP requests at the load's qps
	KindTCPRR     = "tcp-rr"    // round trips on one TCP connection (netperf TCP_RR style)
	KindTCPCRR    = "tcp-crr"   // connect, one round trip, close (netperf TCP_CRR style)
	KindResources = "resources" // a longer HTTP trial during which CPU and memory are read
)

// LatencyKinds are the kinds whose shifts are estimated, in report order.
var LatencyKinds = []string{KindHTTP, KindTCPRR, KindTCPCRR}

// Arm names of the suite's procedure.
const (
	ArmNone     = "none"       // not enrolled: the baseline
	ArmNoneAA   = "none (A/A)" // not enrolled, a second time: the noise floor
	ArmL4       = "L4"         // istio.io/dataplane-mode=ambient
	ArmWaypoint = "waypoint"   // L4 + istio.io/use-waypoint
)

// Arm is one mode of the procedure.
type Arm struct {
	Name string
	// Enter switches the cluster into this mode and proves it is active;
	// its error is the reason it is not (e.g. "L4 mode not active: no
	// redirection annotation on …"), and the procedure stops there.
	Enter func(ctx context.Context) error
	// Kinds are the trial kinds besides KindHTTP this arm runs: KindTCPRR,
	// KindTCPCRR.
	Kinds []string
	// Resources asks for one resource trial of this arm (at the end of its
	// first visit) when the procedure has a ResourceHook.
	Resources bool
}

// TrialFunc runs one trial of arm and kind. warmup marks a trial whose
// result is discarded: the HTTP warm-up after each Enter and the warm-up
// before a resource trial. The procedure sets Round, Position, Arm and Kind
// of the trial it returns.
type TrialFunc func(ctx context.Context, arm, kind string, warmup bool) (runinfo.Trial, error)

// ResourceHook starts reading resources before a resource trial of arm; the
// done function it returns reads them after the trial.
type ResourceHook func(ctx context.Context, arm string) (done func(context.Context) ([]runinfo.Usage, error), err error)

// Procedure is one whole latency and resource procedure.
type Procedure struct {
	Arms      []Arm
	Rounds    int
	Trial     TrialFunc
	Resources ResourceHook      // optional
	Load      runinfo.LoadShape // recorded in the data
}

// ModeError is an arm whose mode could not be entered or proven: the trial
// would not be a measurement of that mode.
type ModeError struct {
	Arm    string
	Round  int // 0-based
	Rounds int
	Err    error // Enter's error: the reason
}

func (e *ModeError) Error() string {
	return fmt.Sprintf("arm %q, round %d of %d: %v", e.Arm, e.Round+1, e.Rounds, e.Err)
}

// Unwrap returns Enter's error.
func (e *ModeError) Unwrap() error { return e.Err }

// ErrResources marks resource readings that failed; the latency data is
// complete when Run's error is only this.
var ErrResources = errors.New("resources not read")

// Run runs p. It stops at the first arm whose Enter fails (a *ModeError),
// at the first failed trial, and when ctx ends; the data gathered until
// then is returned with the error. A failed resource reading does not stop
// it: those errors are returned at the end, wrapping ErrResources.
func Run(ctx context.Context, p Procedure) (runinfo.PerfData, error) {
	if err := p.validate(); err != nil {
		return runinfo.PerfData{}, err
	}
	names := make([]string, len(p.Arms))
	arms := map[string]Arm{}
	for i, a := range p.Arms {
		names[i] = a.Name
		arms[a.Name] = a
	}
	data := runinfo.PerfData{SchemaVersion: runinfo.SchemaVersion, Load: p.Load, Arms: names, Method: stats.Method}
	var resErrs []error
	for r, order := range stats.Interleave(names, p.Rounds) {
		for pos, name := range order {
			arm := arms[name]
			if err := ctx.Err(); err != nil {
				return data, fmt.Errorf("procedure stopped before arm %q, round %d of %d: %w", name, r+1, p.Rounds, err)
			}
			if err := arm.Enter(ctx); err != nil {
				return data, &ModeError{Arm: name, Round: r, Rounds: p.Rounds, Err: err}
			}
			if _, err := p.Trial(ctx, name, KindHTTP, true); err != nil {
				return data, fmt.Errorf("arm %q, round %d of %d: warm-up: %w", name, r+1, p.Rounds, err)
			}
			for _, kind := range kindsOf(arm) {
				if err := ctx.Err(); err != nil {
					return data, fmt.Errorf("procedure stopped before the %s trial of arm %q, round %d of %d: %w", kind, name, r+1, p.Rounds, err)
				}
				t, err := p.Trial(ctx, name, kind, false)
				if err != nil {
					return data, fmt.Errorf("arm %q, round %d of %d: %s trial: %w", name, r+1, p.Rounds, kind, err)
				}
				data.Trials = append(data.Trials, label(t, name, kind, r, pos))
			}
			if r == 0 && arm.Resources && p.Resources != nil {
				t, ran, err := p.resourceTrial(ctx, name)
				if ran {
					data.Trials = append(data.Trials, label(t, name, KindResources, r, pos))
				}
				switch {
				case errors.Is(err, ErrResources):
					resErrs = append(resErrs, err)
				case err != nil:
					return data, err
				}
			}
		}
	}
	return data, errors.Join(resErrs...)
}

// resourceTrial runs the warm-up and the resource trial of arm with the
// hook around the trial; ran reports whether the trial ran. A hook error
// wraps ErrResources; when the hook cannot start, the trial is not run.
func (p Procedure) resourceTrial(ctx context.Context, arm string) (t runinfo.Trial, ran bool, err error) {
	where := fmt.Sprintf("arm %q: resource trial", arm)
	if _, err := p.Trial(ctx, arm, KindResources, true); err != nil {
		return t, false, fmt.Errorf("%s: warm-up: %w", where, err)
	}
	done, err := p.Resources(ctx, arm)
	if err != nil {
		return t, false, fmt.Errorf("%s: %w: %w", where, ErrResources, err)
	}
	if t, err = p.Trial(ctx, arm, KindResources, false); err != nil {
		return t, false, fmt.Errorf("%s: %w", where, err)
	}
	usages, err := done(ctx)
	t.Resources = usages
	if err != nil {
		return t, true, fmt.Errorf("%s: %w: %w", where, ErrResources, err)
	}
	return t, true, nil
}

func label(t runinfo.Trial, arm, kind string, round, pos int) runinfo.Trial {
	t.Arm, t.Kind, t.Round, t.Position = arm, kind, round, pos
	return t
}

// kindsOf is KindHTTP followed by the arm's other kinds.
func kindsOf(a Arm) []string {
	out := []string{KindHTTP}
	for _, k := range a.Kinds {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (p Procedure) validate() error {
	var errs []error
	if len(p.Arms) == 0 {
		errs = append(errs, errors.New("procedure has no arms"))
	}
	if p.Rounds < 1 {
		errs = append(errs, fmt.Errorf("procedure has %d rounds, want at least 1 (%d for an interval)", p.Rounds, stats.MinRounds))
	}
	if p.Trial == nil {
		errs = append(errs, errors.New("procedure has no TrialFunc"))
	}
	seen := map[string]bool{}
	for i, a := range p.Arms {
		switch {
		case a.Name == "":
			errs = append(errs, fmt.Errorf("arm %d has no name", i))
		case seen[a.Name]:
			errs = append(errs, fmt.Errorf("arm %q is listed twice", a.Name))
		}
		seen[a.Name] = true
		if a.Enter == nil {
			errs = append(errs, fmt.Errorf("arm %q has no Enter: every mode must be switched to and proven", a.Name))
		}
		for _, k := range a.Kinds {
			if !slices.Contains(LatencyKinds, k) {
				errs = append(errs, fmt.Errorf("arm %q: unknown trial kind %q; the kinds are %v", a.Name, k, LatencyKinds))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid procedure: %w", errors.Join(errs...))
	}
	return nil
}
