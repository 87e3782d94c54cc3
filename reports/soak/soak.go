// Package soak compares N back-to-back runs of the suite on one cluster: the
// specs whose verdict changed between runs (a flake), and each run's wall
// time. A verdict is a spec's state and, with a verdict table, whether the
// table accepted it (the same failure for another reason is a change too).
package soak

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ambient-e2e/ambient-e2e/reports/verdict"
)

// Run is one run of the suite.
type Run struct {
	Name     string
	Wall     time.Duration
	Outcomes []verdict.Outcome
}

// Change is one spec whose verdict was not the same in every run.
type Change struct {
	ID   string // the spec's catalogue ID ("" in a report from before the catalogue)
	Spec string
	// Verdicts holds the spec's verdict in each run, in run order: its state,
	// with the table's objection when it had one ("failed, wrong reason"), or
	// "absent".
	Verdicts []string
	// Message is the first line of a message from a run that differed from
	// the first run, for the reader looking for the cause.
	Message string
}

// Result is a soak's judgement.
type Result struct {
	Runs    []Run
	Changes []Change
	// Mismatches counts, per run, the table's objections to that run (nil
	// without a table).
	Mismatches []int
}

// Judge compares the runs spec by spec; with a table (non-nil), each run's
// verdicts are also judged against it and an objection is part of the verdict.
func Judge(runs []Run, table *verdict.Table) Result {
	res := Result{Runs: runs}
	objections := make([]map[string]string, len(runs))
	for i, r := range runs {
		objections[i] = map[string]string{}
		if table == nil {
			continue
		}
		ms := verdict.Compare(*table, r.Outcomes, false)
		res.Mismatches = append(res.Mismatches, len(ms))
		for _, m := range ms {
			objections[i][m.Key()] = m.Kind
		}
	}
	specs := map[string]bool{}
	byRun := make([]map[string]verdict.Outcome, len(runs))
	for i, r := range runs {
		byRun[i] = map[string]verdict.Outcome{}
		for _, o := range r.Outcomes {
			byRun[i][o.Key()] = o
			specs[o.Key()] = true
		}
	}
	for _, s := range slices.Sorted(maps.Keys(specs)) {
		vs := make([]string, len(runs))
		var msg string
		var seen verdict.Outcome // the spec as the last run that had it names it
		for i := range runs {
			o, ok := byRun[i][s]
			if ok {
				seen = o
			}
			switch {
			case !ok:
				vs[i] = "absent"
			case objections[i][s] != "":
				vs[i] = o.State + ", " + objections[i][s]
			default:
				vs[i] = o.State
			}
			if i > 0 && vs[i] != vs[0] && msg == "" {
				msg = firstLine(o.Message)
				if msg == "" {
					msg = firstLine(byRun[0][s].Message)
				}
			}
		}
		if !allSame(vs) {
			res.Changes = append(res.Changes, Change{ID: seen.ID, Spec: seen.Spec, Verdicts: vs, Message: msg})
		}
	}
	return res
}

func allSame(vs []string) bool {
	for _, v := range vs[1:] {
		if v != vs[0] {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 160
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Markdown renders the result: the runs with their wall time, spec count and
// (with a table) objections, then every spec whose verdict changed.
func (r Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| run | wall time | specs | table objections |\n|---|---|---|---|\n")
	var total time.Duration
	for i, run := range r.Runs {
		obj := "—"
		if r.Mismatches != nil {
			obj = fmt.Sprint(r.Mismatches[i])
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", run.Name, run.Wall.Round(time.Second), len(run.Outcomes), obj)
		total += run.Wall
	}
	if n := len(r.Runs); n > 0 {
		fmt.Fprintf(&b, "\n%d runs, mean wall time %s.\n", n, (total / time.Duration(n)).Round(time.Second))
	}
	if len(r.Changes) == 0 {
		fmt.Fprintf(&b, "\nNo spec's verdict changed between the %d runs.\n", len(r.Runs))
		return b.String()
	}
	fmt.Fprintf(&b, "\n%d specs changed verdict between runs:\n\n| ID | spec | verdict per run | a differing message |\n|---|---|---|---|\n", len(r.Changes))
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(c.ID), cell(c.Spec), cell(strings.Join(c.Verdicts, " · ")), cell(c.Message))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
