// Package compare reads several conformance reports together: Diff lists
// what changed between two runs (regressions, fixes, new skips, budget
// changes, added and removed tests), and NewMatrix merges runs into a
// compatibility table (test × Istio version, with the Kubernetes version
// and suite commit of each column). Both refuse reports of another suite or
// schema version.
package compare

import (
	"fmt"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// Compatible returns an error when two reports cannot be compared: another
// kind, another schema version or another suite.
func Compatible(a, b *conformance.Report) error {
	if a == nil || b == nil {
		return fmt.Errorf("compare: a report is missing (nil)")
	}
	for _, r := range []*conformance.Report{a, b} {
		if r.Kind != conformance.Kind || r.APIVersion != conformance.APIVersion || r.Suite.Name != conformance.SuiteName {
			return fmt.Errorf("cannot compare reports of different suites or schema versions: %s and %s; only %s reports of suite %s (apiVersion %s) are compared",
				identity(a), identity(b), conformance.Kind, conformance.SuiteName, conformance.APIVersion)
		}
	}
	return nil
}

func identity(r *conformance.Report) string {
	return fmt.Sprintf("%s of suite %q (apiVersion %s, run %s)", orDash(r.Kind), r.Suite.Name, orDash(r.APIVersion), orDash(r.Suite.RunID))
}

// Change is one test whose outcome differs between the two reports.
type Change struct {
	Profile string
	ID      string // the test's catalogue ID ("" in a report from before the catalogue)
	Test    string
	Old     string // the old result ("" when the test is new)
	New     string // the new result ("" when the test was removed)
	Detail  string // the new failure message or skip reason, first line
}

// BudgetChange is one budget whose measurement or verdict changed.
type BudgetChange struct {
	Name       string
	Unit       string
	Old, New   *conformance.Budget // nil when absent on that side
	OldVerdict string
	NewVerdict string
	// Worse says the budget held before and, measured again, does not
	// (exceeded or cannot be judged); it counts as a regression. A budget
	// not measured in the new run is listed but not Worse.
	Worse bool
}

// Changes is what Diff found.
type Changes struct {
	Old, New    Column
	Regressions []Change // was not failing, fails now
	Fixes       []Change // failed, passes now
	NewSkips    []Change // ran before (passed or failed), is skipped or not run now
	NowRun      []Change // was skipped or not run, runs now and passes
	Added       []Change // only in the new report
	Removed     []Change // only in the old report
	Retitled    []Change // the same ID with another text (Detail: the old text); not a change of result
	Budgets     []BudgetChange
	Profiles    []Change // profiles whose result changed (Test is empty)
}

// HasRegressions says whether a test now fails that did not, or a budget
// that held no longer holds: the exit status of `report diff`.
func (c *Changes) HasRegressions() bool {
	if len(c.Regressions) > 0 {
		return true
	}
	for _, b := range c.Budgets {
		if b.Worse {
			return true
		}
	}
	return false
}

// Diff compares an older and a newer report of the same suite, test by
// test, matched by catalogue ID (by name for a report from before the
// catalogue): a reworded test is neither removed nor added.
func Diff(old, new *conformance.Report) (*Changes, error) {
	if err := Compatible(old, new); err != nil {
		return nil, err
	}
	c := &Changes{Old: columnOf(old), New: columnOf(new)}
	key := keyer(old, new)
	oldTests := index(old, key)
	newTests := index(new, key)
	for _, p := range new.Profiles {
		for _, t := range p.Tests {
			o, ok := oldTests[key(t)]
			if !ok {
				c.Added = append(c.Added, Change{Profile: p.Name, ID: t.ID, Test: t.Name, New: t.Result, Detail: detail(t)})
				continue
			}
			if o.Name != t.Name {
				c.Retitled = append(c.Retitled, Change{Profile: p.Name, ID: t.ID, Test: t.Name, Old: o.Result, New: t.Result, Detail: "was: " + o.Name})
			}
			ch := Change{Profile: p.Name, ID: t.ID, Test: t.Name, Old: o.Result, New: t.Result, Detail: detail(t)}
			oldRan, newRan := ran(o.Result), ran(t.Result)
			switch {
			case conformance.Failed(t.Result) && !conformance.Failed(o.Result):
				c.Regressions = append(c.Regressions, ch)
			case conformance.Failed(o.Result) && t.Result == conformance.TestPassed:
				c.Fixes = append(c.Fixes, ch)
			case oldRan && !newRan:
				c.NewSkips = append(c.NewSkips, ch)
			case !oldRan && t.Result == conformance.TestPassed:
				c.NowRun = append(c.NowRun, ch)
			}
		}
	}
	for _, p := range old.Profiles {
		for _, t := range p.Tests {
			if _, ok := newTests[key(t)]; !ok {
				c.Removed = append(c.Removed, Change{Profile: p.Name, ID: t.ID, Test: t.Name, Old: t.Result})
			}
		}
	}
	for _, name := range runinfo.Profiles {
		o, n := old.Profile(name), new.Profile(name)
		if o != nil && n != nil && o.Result != n.Result {
			c.Profiles = append(c.Profiles, Change{Profile: name, Old: o.Result, New: n.Result})
		}
	}
	c.Budgets = budgetChanges(old, new)
	return c, nil
}

// ran says the test started and reached a verdict.
func ran(result string) bool {
	return result == conformance.TestPassed || conformance.Failed(result)
}

func detail(t conformance.Test) string {
	if t.NotRunReason != "" {
		return t.NotRunReason
	}
	s := strings.TrimSpace(t.Message)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func index(r *conformance.Report, key func(conformance.Test) string) map[string]conformance.Test {
	m := map[string]conformance.Test{}
	for _, t := range r.Tests() {
		m[key(t)] = t
	}
	return m
}

// keyer returns what tests of these reports are matched by: the catalogue
// ID; for a test without one (a report from before the catalogue), the ID
// another report gives a test of the same name, else the name.
func keyer(reports ...*conformance.Report) func(conformance.Test) string {
	idOfName := map[string]string{}
	for _, r := range reports {
		for _, t := range r.Tests() {
			if t.ID != "" {
				idOfName[t.Name] = t.ID
			}
		}
	}
	return func(t conformance.Test) string {
		if t.ID != "" {
			return "id:" + t.ID
		}
		if id, ok := idOfName[t.Name]; ok {
			return "id:" + id
		}
		return "name:" + t.Name
	}
}

func budgets(r *conformance.Report) ([]string, map[string]conformance.Budget) {
	var names []string
	m := map[string]conformance.Budget{}
	for _, p := range r.Profiles {
		for _, b := range p.Budgets {
			if _, dup := m[b.Name]; !dup {
				names = append(names, b.Name)
			}
			m[b.Name] = b
		}
	}
	return names, m
}

func budgetChanges(old, new *conformance.Report) []BudgetChange {
	oldNames, ob := budgets(old)
	newNames, nb := budgets(new)
	var out []BudgetChange
	seen := map[string]bool{}
	for _, name := range append(newNames, oldNames...) {
		if seen[name] {
			continue
		}
		seen[name] = true
		o, oOK := ob[name]
		n, nOK := nb[name]
		bc := BudgetChange{Name: name}
		if oOK {
			bc.Old, bc.OldVerdict, bc.Unit = &o, o.Verdict, o.Unit
		}
		if nOK {
			bc.New, bc.NewVerdict, bc.Unit = &n, n.Verdict, n.Unit
		}
		if oOK && nOK && o.Verdict == n.Verdict && o.Estimate == n.Estimate && o.Low == n.Low && o.High == n.High && o.Budget == n.Budget {
			continue
		}
		bc.Worse = oOK && nOK && o.Verdict == runinfo.BudgetHolds && n.Verdict != runinfo.BudgetHolds
		out = append(out, bc)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
