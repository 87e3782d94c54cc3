package compare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
)

// run builds the report of a fixture run against the given Istio version.
func run(t *testing.T, istio string, env ...string) *conformance.Report {
	t.Helper()
	dir := fixturerun.Scenario{Env: env}.Run(t)
	fixturerun.WriteEnvironment(t, dir, func(e *runinfo.Environment) {
		e.Mesh.Version = istio
		e.Suite.RunID = "run-" + istio
	})
	r, err := conformance.Build(conformance.Inputs{GinkgoReport: filepath.Join(dir, "report.json")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// oldAndNew are two runs: in the old one the L7 header check fails; in the
// new one it passes (a fix), the ztunnel-log check fails (a regression),
// the deny metric is skipped (a new skip) and the p99 budget is exceeded.
func oldAndNew(t *testing.T) (*conformance.Report, *conformance.Report) {
	old := run(t, "1.29.3", "FIXTURE_FAIL=l7")
	new := run(t, "1.30.1", "FIXTURE_FAIL=ztunnel-log", "FIXTURE_SKIP=deny-metric", "FIXTURE_P99=1.4")
	return old, new
}

func names(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Test+": "+c.Old+" → "+c.New)
	}
	return out
}

func TestDiff(t *testing.T) {
	old, new := oldAndNew(t)
	c, err := Diff(old, new)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []Change, want ...string) {
		t.Helper()
		if g := names(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %q, want %q", what, g, want)
		}
	}
	check("regressions", c.Regressions, "Phase 3: mTLS ztunnel logs both identities: passed → failed")
	check("fixes", c.Fixes, "Phase 4: waypoint the server sees X-Request-Id: failed → passed")
	check("new skips", c.NewSkips, "Phase 3: mTLS denied connections are counted: passed → skipped")
	check("added", c.Added)
	check("removed", c.Removed)
	if len(c.Budgets) != 1 || !c.Budgets[0].Worse || c.Budgets[0].OldVerdict != runinfo.BudgetHolds || c.Budgets[0].NewVerdict != runinfo.BudgetExceeded {
		t.Errorf("budget changes %+v, want l4.http.p99 holds → exceeded", c.Budgets)
	}
	if !c.HasRegressions() {
		t.Error("HasRegressions is false")
	}
	md := string(c.Markdown())
	for _, want := range []string{"## ambient-e2e diff: REGRESSIONS", "old: Istio 1.29.3", "new: Istio 1.30.1",
		"### Regressions (1)", "- l4 `Phase 3: mTLS ztunnel logs both identities`: passed → failed — ztunnel-log: expected the connection to be mTLS, got plaintext",
		"### Fixes (1)", "### New skips (1)", "deny-metric needs Istio >= 1.29", "- l7: failure → success",
		"| l4.http.p99 | 0.42 ms [0.31, 0.55] of 1: holds | 1.4 ms [1.3, 1.5] of 1: exceeded | **worse** |"} {
		if !strings.Contains(md, want) {
			t.Errorf("diff summary lacks %q:\n%s", want, md)
		}
	}

	// The other way round: the fix becomes a regression.
	back, err := Diff(new, old)
	if err != nil {
		t.Fatal(err)
	}
	check("reverse regressions", back.Regressions, "Phase 4: waypoint the server sees X-Request-Id: passed → failed")
	check("reverse now run", back.NowRun, "Phase 3: mTLS denied connections are counted: skipped → passed")
	if back.Budgets[0].Worse {
		t.Error("exceeded → holds counted as worse")
	}

	// A run against itself changes nothing.
	same, err := Diff(new, new)
	if err != nil {
		t.Fatal(err)
	}
	if same.HasRegressions() || len(same.Fixes)+len(same.NewSkips)+len(same.Budgets)+len(same.Profiles) != 0 {
		t.Errorf("a report differs from itself: %+v", same)
	}
}

func TestDiffAddedAndRemoved(t *testing.T) {
	old, new := oldAndNew(t)
	l7 := old.Profile("l7")
	dropped := l7.Tests[0].Name
	l7.Tests = l7.Tests[1:] // an older suite without that spec
	c, err := Diff(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Added) != 1 || c.Added[0].Test != dropped || c.Added[0].New != conformance.TestPassed {
		t.Errorf("added %+v, want %q", c.Added, dropped)
	}
	c, err = Diff(new, old)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Removed) != 1 || c.Removed[0].Test != dropped {
		t.Errorf("removed %+v, want %q", c.Removed, dropped)
	}
}

func TestDiffRefusesOtherSuites(t *testing.T) {
	old, new := oldAndNew(t)
	other := *new
	other.Suite.Name = "gateway-api-conformance"
	if _, err := Diff(old, &other); err == nil || !strings.Contains(err.Error(), `cannot compare reports of different suites`) || !strings.Contains(err.Error(), `"gateway-api-conformance"`) {
		t.Errorf("another suite: %v", err)
	}
	future := *new
	future.APIVersion = "ambient-e2e.io/v2"
	if _, err := Diff(&future, new); err == nil || !strings.Contains(err.Error(), "apiVersion ambient-e2e.io/v2") {
		t.Errorf("another schema version: %v", err)
	}
	if _, err := NewMatrix([]*conformance.Report{old, &other}); err == nil {
		t.Error("the matrix merged another suite's report")
	}
	if _, err := NewMatrix(nil); err == nil || !strings.Contains(err.Error(), "no report given") {
		t.Errorf("empty matrix: %v", err)
	}
}

func TestMatrix(t *testing.T) {
	old, new := oldAndNew(t)
	m, err := NewMatrix([]*conformance.Report{new, old}) // out of order on purpose
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 2 || m.Columns[0].IstioVersion != "1.29.3" || m.Columns[1].IstioVersion != "1.30.1" || m.Columns[0].KubernetesVersion != "v1.34.4" {
		t.Fatalf("columns %+v, want Istio 1.29.3 then 1.30.1", m.Columns)
	}
	if len(m.Rows) != len(new.Tests()) {
		t.Errorf("%d rows, want %d", len(m.Rows), len(new.Tests()))
	}
	cells := map[string][]string{}
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			cells[r.Test] = append(cells[r.Test], c.Result)
		}
	}
	for test, want := range map[string]string{
		"Phase 3: mTLS ztunnel logs both identities":     "passed failed",
		"Phase 4: waypoint the server sees X-Request-Id": "failed passed",
		"Phase 3: mTLS denied connections are counted":   "passed skipped",
		"Phase 1: install istiod is ready":               "passed passed",
	} {
		if got := strings.Join(cells[test], " "); got != want {
			t.Errorf("%s: %s, want %s", test, got, want)
		}
	}
	md := string(m.Markdown())
	for _, want := range []string{"| profile | test | Istio 1.29.3<br>k8s v1.34.4 · suite aaaaaaaaaaaa | Istio 1.30.1<br>k8s v1.34.4 · suite aaaaaaaaaaaa |",
		"| **l4** | *profile result* | **success** | **failure** |",
		"| l4 | Phase 3: mTLS ztunnel logs both identities | ✅ passed | ❌ failed |",
		"| l4 | Phase 3: mTLS denied connections are counted | ✅ passed | ⚠️ skipped |"} {
		if !strings.Contains(md, want) {
			t.Errorf("matrix lacks %q:\n%s", want, md)
		}
	}
	html, err := m.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-columns="2"`, `data-rows="10"`, `<th data-istio="1.29.3">`, `class="failed" data-result="failed" title="ztunnel-log: expected the connection to be mTLS, got plaintext"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("matrix HTML lacks %s", want)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(fixturerun.Main(m)) }

// withIDs gives every test of r an ID made from its name, as the catalogue
// gives every spec one; rename rewords the named test's text.
func withIDs(r *conformance.Report, rename map[string]string) {
	for pi := range r.Profiles {
		for ti := range r.Profiles[pi].Tests {
			t := &r.Profiles[pi].Tests[ti]
			t.ID = strings.ToUpper(strings.NewReplacer(" ", "-", ":", "", ".", "").Replace(t.Name))
			if to, ok := rename[t.Name]; ok {
				t.Name = to
			}
		}
	}
}

// Tests are matched by ID: a reworded test is the same test (no removal,
// no addition), listed as reworded; a report from before the catalogue
// (no IDs) still diffs, matched by name.
func TestDiffMatchesByIDSoARewordedTestIsNotRemoved(t *testing.T) {
	old, new := oldAndNew(t)
	const was, now = "Phase 3: mTLS ztunnel logs both identities", "Phase 3: mTLS the ztunnels log both SPIFFE identities"
	withIDs(old, nil)
	withIDs(new, map[string]string{was: now})
	c, err := Diff(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Removed) != 0 || len(c.Added) != 0 {
		t.Fatalf("removed %q, added %q: a reworded test must stay the same test", names(c.Removed), names(c.Added))
	}
	if len(c.Regressions) != 1 || c.Regressions[0].Test != now || c.Regressions[0].ID == "" {
		t.Fatalf("regressions %+v, want the reworded test, with its ID", c.Regressions)
	}
	if len(c.Retitled) != 1 || c.Retitled[0].Detail != "was: "+was {
		t.Fatalf("retitled %+v", c.Retitled)
	}
	md := string(c.Markdown())
	if !strings.Contains(md, "### Reworded tests (same ID, same test) (1)") || !strings.Contains(md, "`"+c.Retitled[0].ID+"` "+now) {
		t.Errorf("diff summary:\n%s", md)
	}

	// The old report from before the catalogue: no IDs at all.
	old, _ = oldAndNew(t)
	for pi := range old.Profiles {
		for ti := range old.Profiles[pi].Tests {
			old.Profiles[pi].Tests[ti].ID = ""
		}
	}
	c, err = Diff(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Removed) != 1 || c.Removed[0].Test != was || len(c.Added) != 1 || c.Added[0].Test != now {
		t.Fatalf("without IDs on one side only the names match: removed %q, added %q", names(c.Removed), names(c.Added))
	}
	if len(c.Regressions) != 0 || len(c.Fixes) != 1 {
		t.Fatalf("the other tests are matched by name through the new report's IDs: regressions %q, fixes %q", names(c.Regressions), names(c.Fixes))
	}
}

func TestMatrixRowsAreKeyedByID(t *testing.T) {
	old, new := oldAndNew(t)
	const was, now = "Phase 3: mTLS ztunnel logs both identities", "Phase 3: mTLS the ztunnels log both SPIFFE identities"
	withIDs(old, nil)
	withIDs(new, map[string]string{was: now})
	m, err := NewMatrix([]*conformance.Report{old, new})
	if err != nil {
		t.Fatal(err)
	}
	var got *Row
	for i, r := range m.Rows {
		if r.Test == was {
			t.Fatalf("the old text has its own row: %+v", r)
		}
		if r.Test == now {
			got = &m.Rows[i]
		}
	}
	if got == nil || got.ID == "" || got.Cells[0].Result != conformance.TestPassed || got.Cells[1].Result != conformance.TestFailed {
		t.Fatalf("the reworded test's row: %+v", got)
	}
	if md := string(m.Markdown()); !strings.Contains(md, "`"+got.ID+"` "+now) {
		t.Errorf("matrix markdown lacks the ID:\n%s", md)
	}
}
