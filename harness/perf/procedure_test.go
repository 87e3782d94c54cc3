package perf

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
)

// fake records what the procedure asked the cluster for.
type fake struct {
	calls   []string
	enter   map[string]error // Enter's error per arm
	trialFn func(ctx context.Context, arm, kind string, warmup bool) (runinfo.Trial, error)
}

func (f *fake) arm(name string, kinds ...string) Arm {
	return Arm{Name: name, Kinds: kinds, Enter: func(context.Context) error {
		f.calls = append(f.calls, "enter "+name)
		return f.enter[name]
	}}
}

func (f *fake) trial(ctx context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
	what := "trial"
	if warmup {
		what = "warmup"
	}
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s", what, arm, kind))
	if f.trialFn != nil {
		return f.trialFn(ctx, arm, kind, warmup)
	}
	t := runinfo.Trial{Count: 1000, Started: time.Unix(int64(len(f.calls)), 0)}
	if warmup {
		t.Count = -1 // a warm-up's result must never reach the data
	}
	return t, nil
}

func suiteArms(f *fake) []Arm {
	return []Arm{
		f.arm(ArmNone, KindTCPRR, KindTCPCRR),
		f.arm(ArmNoneAA, KindTCPRR, KindTCPCRR),
		f.arm(ArmL4, KindTCPRR, KindTCPCRR),
		f.arm(ArmWaypoint),
	}
}

func TestRunOrderAndWarmups(t *testing.T) {
	f := &fake{}
	arms := suiteArms(f)
	data, err := Run(context.Background(), Procedure{Arms: arms, Rounds: 3, Trial: f.trial, Load: runinfo.LoadShape{Preset: "short", QPS: 500}})
	if err != nil {
		t.Fatal(err)
	}
	// The expected calls, built from the rule: rounds rotate the arms left
	// by one; every Enter is followed by one HTTP warm-up, then the kinds.
	kinds := map[string][]string{ArmNone: {"http", "tcp-rr", "tcp-crr"}, ArmNoneAA: {"http", "tcp-rr", "tcp-crr"},
		ArmL4: {"http", "tcp-rr", "tcp-crr"}, ArmWaypoint: {"http"}}
	rotations := [][]string{
		{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint},
		{ArmNoneAA, ArmL4, ArmWaypoint, ArmNone},
		{ArmL4, ArmWaypoint, ArmNone, ArmNoneAA},
	}
	var want []string
	var wantTrials []string
	for r, order := range rotations {
		for pos, arm := range order {
			want = append(want, "enter "+arm, "warmup "+arm+" http")
			for _, k := range kinds[arm] {
				want = append(want, "trial "+arm+" "+k)
				wantTrials = append(wantTrials, fmt.Sprintf("r%d p%d %s %s", r, pos, arm, k))
			}
		}
	}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
	var got []string
	for _, tr := range data.Trials {
		if tr.Count < 0 {
			t.Errorf("a warm-up trial reached the data: %+v", tr)
		}
		got = append(got, fmt.Sprintf("r%d p%d %s %s", tr.Round, tr.Position, tr.Arm, tr.Kind))
	}
	if !slices.Equal(got, wantTrials) {
		t.Errorf("trials:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantTrials, "\n"))
	}
	if !slices.Equal(data.Arms, []string{ArmNone, ArmNoneAA, ArmL4, ArmWaypoint}) || data.Load.Preset != "short" ||
		data.Method != stats.Method || data.SchemaVersion != runinfo.SchemaVersion {
		t.Errorf("data header = arms %v, load %+v, method %q", data.Arms, data.Load, data.Method)
	}
}

func TestRunStopsAtTheFirstUnprovenArm(t *testing.T) {
	reason := errors.New("L4 mode not active: no redirection annotation on perf-7c2f9/server-6d8f9c7b5-q4m2z within 30s")
	f := &fake{enter: map[string]error{ArmL4: reason}}
	data, err := Run(context.Background(), Procedure{Arms: suiteArms(f), Rounds: 5, Trial: f.trial})
	var me *ModeError
	if !errors.As(err, &me) || me.Arm != ArmL4 || me.Round != 0 || !errors.Is(err, reason) {
		t.Fatalf("error = %v, want a ModeError of L4 in round 1 wrapping the reason", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `arm "L4", round 1 of 5: L4 mode not active: no redirection annotation`) {
		t.Errorf("error %q does not name the arm and the reason", msg)
	}
	// The none arms ran and were measured; nothing ran after the failure.
	if last := f.calls[len(f.calls)-1]; last != "enter "+ArmL4 {
		t.Errorf("calls went on after L4 failed: last call %q", last)
	}
	arms := map[string]int{}
	for _, tr := range data.Trials {
		arms[tr.Arm]++
	}
	if arms[ArmNone] != 3 || arms[ArmNoneAA] != 3 || arms[ArmL4] != 0 || arms[ArmWaypoint] != 0 {
		t.Errorf("trials per arm = %v, want none and none (A/A) 3 each (http, tcp-rr, tcp-crr), L4 and waypoint 0", arms)
	}
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fake{}
	n := 0
	f.trialFn = func(ctx context.Context, _, _ string, warmup bool) (runinfo.Trial, error) {
		if !warmup {
			n++
			if n == 3 {
				cancel() // e.g. Ctrl-C during the third measured trial
			}
		}
		return runinfo.Trial{Count: 1000}, nil
	}
	data, err := Run(ctx, Procedure{Arms: suiteArms(f), Rounds: 5, Trial: f.trial})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if len(data.Trials) != 3 {
		t.Errorf("%d trials kept, want the 3 run before the cancellation", len(data.Trials))
	}
	if calls := len(f.calls); calls != 5 { // enter, warm-up, 3 trials
		t.Errorf("%d calls, want 5 (nothing after the cancellation): %v", calls, f.calls)
	}
}

func TestRunStopsAtAFailedTrial(t *testing.T) {
	f := &fake{}
	boom := errors.New("probe load printed no fortio result")
	f.trialFn = func(_ context.Context, arm, kind string, warmup bool) (runinfo.Trial, error) {
		if arm == ArmNoneAA && kind == KindTCPRR && !warmup {
			return runinfo.Trial{}, boom
		}
		return runinfo.Trial{Count: 1}, nil
	}
	data, err := Run(context.Background(), Procedure{Arms: suiteArms(f), Rounds: 5, Trial: f.trial})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `arm "none (A/A)", round 1 of 5: tcp-rr trial`) {
		t.Fatalf("error = %v", err)
	}
	if len(data.Trials) != 4 { // none: 3 kinds; A/A: http
		t.Errorf("%d trials kept, want 4", len(data.Trials))
	}
}

func TestRunResourceTrials(t *testing.T) {
	f := &fake{}
	arms := suiteArms(f)
	arms[2].Resources = true // L4
	arms[3].Resources = true // waypoint
	var hooked []string
	hook := func(_ context.Context, arm string) (func(context.Context) ([]runinfo.Usage, error), error) {
		hooked = append(hooked, "start "+arm)
		f.calls = append(f.calls, "hook "+arm)
		return func(context.Context) ([]runinfo.Usage, error) {
			f.calls = append(f.calls, "read "+arm)
			if arm == ArmWaypoint {
				return nil, errors.New("node w: container ns/waypoint-x/istio-proxy: in the second scrape only")
			}
			return []runinfo.Usage{{Pod: "istio-system/ztunnel-a", Container: "istio-proxy", CPUCores: 0.03}}, nil
		}, nil
	}
	data, err := Run(context.Background(), Procedure{Arms: arms, Rounds: 3, Trial: f.trial, Resources: hook})
	if !errors.Is(err, ErrResources) || !strings.Contains(err.Error(), "in the second scrape only") {
		t.Fatalf("error = %v, want the waypoint's resource error wrapping ErrResources", err)
	}
	// The latency rounds ran to the end despite the resource error.
	var resTrials []runinfo.Trial
	http := 0
	for _, tr := range data.Trials {
		switch tr.Kind {
		case KindResources:
			resTrials = append(resTrials, tr)
		case KindHTTP:
			http++
		}
	}
	if http != 12 {
		t.Errorf("%d http trials, want 12 (4 arms × 3 rounds)", http)
	}
	if len(resTrials) != 2 || resTrials[0].Arm != ArmL4 || resTrials[0].Round != 0 || len(resTrials[0].Resources) != 1 ||
		resTrials[1].Arm != ArmWaypoint || len(resTrials[1].Resources) != 0 {
		t.Errorf("resource trials = %+v, want one for L4 (with its usage) and one for waypoint, in round 1", resTrials)
	}
	if !slices.Equal(hooked, []string{"start " + ArmL4, "start " + ArmWaypoint}) {
		t.Errorf("hook calls = %v, want one per arm that reads resources", hooked)
	}
	// Around the L4 resource trial: its own warm-up, the hook, the trial, the read.
	i := slices.Index(f.calls, "hook "+ArmL4)
	if i < 1 || f.calls[i-1] != "warmup L4 resources" || f.calls[i+1] != "trial L4 resources" || f.calls[i+2] != "read L4" {
		t.Errorf("calls around the L4 resource trial: %v", f.calls[max(0, i-2):min(len(f.calls), i+3)])
	}
}

func TestRunRefusesAnInvalidProcedure(t *testing.T) {
	f := &fake{}
	for name, p := range map[string]Procedure{
		"no arms":      {Rounds: 3, Trial: f.trial},
		"no rounds":    {Arms: suiteArms(f), Trial: f.trial},
		"no trial":     {Arms: suiteArms(f), Rounds: 3},
		"twice":        {Arms: []Arm{f.arm("a"), f.arm("a")}, Rounds: 3, Trial: f.trial},
		"no enter":     {Arms: []Arm{{Name: "a"}}, Rounds: 3, Trial: f.trial},
		"unknown kind": {Arms: []Arm{f.arm("a", "udp")}, Rounds: 3, Trial: f.trial},
	} {
		if _, err := Run(context.Background(), p); err == nil || !strings.HasPrefix(err.Error(), "invalid procedure") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("an invalid procedure touched the cluster: %v", f.calls)
	}
}
