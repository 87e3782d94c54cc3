package soak

import (
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/reports/verdict"
)

func run(name string, wall time.Duration, states ...string) Run {
	r := Run{Name: name, Wall: wall}
	for i := 0; i+2 < len(states); i += 3 {
		r.Outcomes = append(r.Outcomes, verdict.Outcome{ID: strings.ToUpper(states[i]), Spec: states[i], State: states[i+1], Message: states[i+2]})
	}
	return r
}

func TestJudgeFindsAStateThatChangedAndNothingElse(t *testing.T) {
	runs := []Run{
		run("run-1", 5*time.Minute, "a", "passed", "", "b", "failed", "no ztunnel"),
		run("run-2", 6*time.Minute, "a", "passed", "", "b", "passed", ""),
		run("run-3", 7*time.Minute, "a", "passed", "", "b", "failed", "no ztunnel"),
	}
	res := Judge(runs, nil)
	if len(res.Changes) != 1 || res.Changes[0].ID != "B" || res.Changes[0].Spec != "b" {
		t.Fatalf("changes = %+v, want only B (b)", res.Changes)
	}
	if got := strings.Join(res.Changes[0].Verdicts, ","); got != "failed,passed,failed" {
		t.Errorf("b's verdicts = %s", got)
	}
	if res.Changes[0].Message != "no ztunnel" {
		t.Errorf("message = %q, want the first run's failure when the differing run has none", res.Changes[0].Message)
	}
	md := res.Markdown()
	for _, want := range []string{"| run-2 | 6m0s | 2 | — |", "mean wall time 6m0s", "1 specs changed", "failed · passed · failed"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestJudgeCountsTheSameFailureForAnotherReasonAsAChange(t *testing.T) {
	table := verdict.Table{Rows: []verdict.Row{{ID: "B", Spec: "b", Verdict: verdict.Fail, Reason: "no ztunnel"}}}
	runs := []Run{
		run("run-1", time.Minute, "b", "failed", "no ztunnel found"),
		run("run-2", time.Minute, "b", "failed", "timed out waiting for the API server"),
	}
	res := Judge(runs, &table)
	if len(res.Changes) != 1 {
		t.Fatalf("changes = %+v, want b (wrong reason in run 2)", res.Changes)
	}
	if v := res.Changes[0].Verdicts; v[0] != "failed" || !strings.HasPrefix(v[1], "failed, wrong reason") {
		t.Errorf("verdicts = %q", v)
	}
	if res.Mismatches[0] != 0 || res.Mismatches[1] != 1 {
		t.Errorf("objections per run = %v, want [0 1]", res.Mismatches)
	}
	if !strings.Contains(res.Changes[0].Message, "timed out") {
		t.Errorf("message = %q, want the differing run's", res.Changes[0].Message)
	}
}

func TestJudgeReportsASpecMissingFromARun(t *testing.T) {
	runs := []Run{run("run-1", time.Minute, "a", "passed", ""), run("run-2", time.Minute)}
	res := Judge(runs, nil)
	if len(res.Changes) != 1 || res.Changes[0].Verdicts[1] != "absent" {
		t.Fatalf("changes = %+v, want a absent from run-2", res.Changes)
	}
}

func TestSteadyRunsSayNoChange(t *testing.T) {
	runs := []Run{run("run-1", time.Minute, "a", "passed", ""), run("run-2", time.Minute, "a", "passed", "")}
	res := Judge(runs, nil)
	if len(res.Changes) != 0 || !strings.Contains(res.Markdown(), "No spec's verdict changed between the 2 runs") {
		t.Fatalf("%+v\n%s", res.Changes, res.Markdown())
	}
}
