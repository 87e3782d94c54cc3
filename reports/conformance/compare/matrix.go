package compare

import (
	"bytes"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// Column is one report (one run) in a matrix or diff.
type Column struct {
	IstioVersion      string
	KubernetesVersion string
	SuiteVersion      string
	SuiteCommit       string
	RunID             string
	Date              time.Time
	Result            string
}

// Title is the column heading, e.g. "Istio 1.30.1".
func (c Column) Title() string { return "Istio " + orDash(c.IstioVersion) }

// Subtitle is the rest of the heading: Kubernetes version and suite commit.
func (c Column) Subtitle() string {
	return fmt.Sprintf("k8s %s · suite %s", orDash(c.KubernetesVersion), shortCommit(c.SuiteCommit, c.SuiteVersion))
}

func columnOf(r *conformance.Report) Column {
	return Column{IstioVersion: r.Mesh.Version, KubernetesVersion: r.Cluster.KubernetesVersion, SuiteVersion: r.Suite.Version,
		SuiteCommit: r.Suite.Commit, RunID: r.Suite.RunID, Date: r.Date, Result: r.Result}
}

// Cell is one test's result in one column; Result "" means the test is
// not in that run's report (another suite version).
type Cell struct {
	Result string
	Detail string // failure message or skip reason, first line
}

// Row is one test across the columns, matched by catalogue ID (by name in
// reports from before the catalogue); Test is its text in the newest column.
type Row struct {
	Profile string
	ID      string
	Test    string
	Cells   []Cell
}

// Matrix is the compatibility table of several runs.
type Matrix struct {
	Columns  []Column
	Profiles []ProfileRow // each profile's result per column
	Rows     []Row
}

// ProfileRow is one profile's result per column.
type ProfileRow struct {
	Profile string
	Results []string
}

// NewMatrix merges reports of the same suite into one table, the columns
// ordered by Istio version (then Kubernetes version), the rows by profile
// and then in the order the tests first appear.
func NewMatrix(reports []*conformance.Report) (*Matrix, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("matrix: no report given; pass one conformance report per matrix leg")
	}
	for _, r := range reports { // the first against itself too: it checks both sides
		if err := Compatible(reports[0], r); err != nil {
			return nil, err
		}
	}
	sorted := append([]*conformance.Report(nil), reports...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if c := compareVersions(a.Mesh.Version, b.Mesh.Version); c != 0 {
			return c < 0
		}
		return compareVersions(a.Cluster.KubernetesVersion, b.Cluster.KubernetesVersion) < 0
	})
	m := &Matrix{}
	key := keyer(sorted...)
	for _, r := range sorted {
		m.Columns = append(m.Columns, columnOf(r))
	}
	for _, name := range runinfo.Profiles {
		pr := ProfileRow{Profile: name}
		var order []string
		rows := map[string]*Row{}
		for ci, r := range sorted {
			p := r.Profile(name)
			if p == nil {
				pr.Results = append(pr.Results, "")
				continue
			}
			pr.Results = append(pr.Results, p.Result)
			for _, t := range p.Tests {
				k := key(t)
				row, ok := rows[k]
				if !ok {
					row = &Row{Profile: name, Cells: make([]Cell, len(sorted))}
					rows[k] = row
					order = append(order, k)
				}
				row.Test = t.Name
				if t.ID != "" {
					row.ID = t.ID
				}
				row.Cells[ci] = Cell{Result: t.Result, Detail: detail(t)}
			}
		}
		m.Profiles = append(m.Profiles, pr)
		for _, n := range order {
			m.Rows = append(m.Rows, *rows[n])
		}
	}
	return m, nil
}

// testCell is a row's test as the Markdown table shows it: its ID, then its text.
func testCell(r Row) string {
	if r.ID == "" {
		return mdCell(r.Test)
	}
	return "`" + r.ID + "` " + mdCell(r.Test)
}

// compareVersions orders versions like "1.30.1" or "v1.34.4" by semver;
// an empty or unparsable version sorts last.
func compareVersions(a, b string) int {
	va, vb := "v"+strings.TrimPrefix(a, "v"), "v"+strings.TrimPrefix(b, "v")
	okA, okB := semver.IsValid(va), semver.IsValid(vb)
	switch {
	case okA && okB:
		return semver.Compare(va, vb)
	case okA:
		return -1
	case okB:
		return 1
	}
	return strings.Compare(a, b)
}

// Markdown renders the matrix as a GitHub table for a job summary.
func (m *Matrix) Markdown() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "## ambient-e2e compatibility matrix (%d runs)\n\n| profile | test |", len(m.Columns))
	for _, c := range m.Columns {
		fmt.Fprintf(&b, " %s<br>%s |", c.Title(), c.Subtitle())
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(m.Columns)) + "\n")
	for _, p := range m.Profiles {
		fmt.Fprintf(&b, "| **%s** | *profile result* |", p.Profile)
		for _, res := range p.Results {
			fmt.Fprintf(&b, " **%s** |", orDash(res))
		}
		b.WriteString("\n")
		for _, r := range m.Rows {
			if r.Profile != p.Profile {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |", r.Profile, testCell(r))
			for _, c := range r.Cells {
				fmt.Fprintf(&b, " %s |", cellText(c))
			}
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

func cellText(c Cell) string {
	switch {
	case c.Result == "":
		return "absent"
	case c.Result == conformance.TestPassed:
		return "✅ passed"
	case conformance.Failed(c.Result):
		return "❌ " + c.Result
	}
	return "⚠️ " + c.Result
}

var matrixPage = template.Must(template.New("matrix").Funcs(template.FuncMap{
	"cls": func(s string) string {
		if s == "" {
			return "absent"
		}
		return s
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ambient-e2e compatibility matrix</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2329; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #d5dbe1; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
.passed, .success { background: #dcf5e3; }
.failed, .timedout, .panicked, .interrupted, .aborted, .failure { background: #fde0e0; }
.skipped, .notRun, .partial { background: #fff1cc; }
.absent { background: #eceff2; color: #6b7580; }
small { color: #4a545e; }
</style></head><body>
<h1>ambient-e2e compatibility matrix</h1>
<table id="matrix" data-columns="{{len .Columns}}" data-rows="{{len .Rows}}">
<tr><th>profile</th><th>test</th>{{range .Columns}}<th data-istio="{{.IstioVersion}}">{{.Title}}<br><small>{{.Subtitle}}</small></th>{{end}}</tr>
{{range $p := .Profiles}}<tr data-profile="{{.Profile}}"><th>{{.Profile}}</th><th>profile result</th>{{range .Results}}<td class="{{cls .}}"><b>{{or . "absent"}}</b></td>{{end}}</tr>
{{range $.Rows}}{{if eq .Profile $p.Profile}}<tr data-test="{{.Test}}"><td>{{.Profile}}</td><td>{{if .ID}}<code>{{.ID}}</code> {{end}}{{.Test}}</td>{{range .Cells}}<td class="{{cls .Result}}" data-result="{{.Result}}" title="{{.Detail}}">{{or .Result "absent"}}</td>{{end}}</tr>
{{end}}{{end}}{{end}}</table>
</body></html>
`))

// HTML renders the matrix as one self-contained HTML page.
func (m *Matrix) HTML() ([]byte, error) {
	var buf bytes.Buffer
	if err := matrixPage.Execute(&buf, m); err != nil {
		return nil, fmt.Errorf("rendering the matrix: %w", err)
	}
	return buf.Bytes(), nil
}

const retitled = "Reworded tests (same ID, same test)"

// Markdown renders the diff for a job summary or a terminal.
func (c *Changes) Markdown() []byte {
	var b strings.Builder
	verdict := "no regression"
	if c.HasRegressions() {
		verdict = "REGRESSIONS"
	}
	fmt.Fprintf(&b, "## ambient-e2e diff: %s\n\nold: %s (%s), run %s, result %s\nnew: %s (%s), run %s, result %s\n",
		verdict, c.Old.Title(), c.Old.Subtitle(), orDash(c.Old.RunID), c.Old.Result,
		c.New.Title(), c.New.Subtitle(), orDash(c.New.RunID), c.New.Result)
	section := func(title string, list []Change) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n### %s (%d)\n\n", title, len(list))
		for _, ch := range list {
			name := "`" + mdCell(ch.Test) + "`"
			if ch.ID != "" {
				name = "`" + ch.ID + "` " + mdCell(ch.Test)
			}
			fmt.Fprintf(&b, "- %s %s: %s → %s", ch.Profile, name, orDash(ch.Old), orDash(ch.New))
			if ch.Detail != "" && (ch.New != conformance.TestPassed || title == retitled) {
				fmt.Fprintf(&b, " — %s", mdCell(ch.Detail))
			}
			b.WriteString("\n")
		}
	}
	section("Regressions", c.Regressions)
	section("Fixes", c.Fixes)
	section("New skips", c.NewSkips)
	section("Now run", c.NowRun)
	section("Added tests", c.Added)
	section("Removed tests", c.Removed)
	section(retitled, c.Retitled)
	if len(c.Profiles) > 0 {
		fmt.Fprintf(&b, "\n### Profile results (%d)\n\n", len(c.Profiles))
		for _, p := range c.Profiles {
			fmt.Fprintf(&b, "- %s: %s → %s\n", p.Profile, p.Old, p.New)
		}
	}
	if len(c.Budgets) > 0 {
		fmt.Fprintf(&b, "\n### Budget changes (%d)\n\n| budget | old | new | |\n|---|---|---|---|\n", len(c.Budgets))
		for _, bc := range c.Budgets {
			worse := ""
			if bc.Worse {
				worse = "**worse**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", bc.Name, budgetText(bc.Old), budgetText(bc.New), worse)
		}
	}
	return []byte(b.String())
}

func budgetText(b *conformance.Budget) string {
	if b == nil {
		return "not measured"
	}
	return fmt.Sprintf("%g %s [%g, %g] of %g: %s", b.Estimate, b.Unit, b.Low, b.High, b.Budget, b.Verdict)
}

func shortCommit(commit, version string) string {
	if commit != "" {
		return commit[:min(len(commit), 12)]
	}
	return orDash(version)
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
