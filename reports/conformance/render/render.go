// Package render turns a conformance report into what people read: one
// self-contained HTML file (inline CSS and inline SVG latency plots drawn
// with gonum.org/v1/plot, no external asset, opens offline) and a short
// Markdown summary for CI job summaries. Write puts every form of the
// report in the report directory.
package render

import (
	"bytes"
	_ "embed" // the HTML template
	"fmt"
	"html/template"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// File names next to conformance-report.yaml.
const (
	FileHTML     = "conformance-report.html"
	FileMarkdown = "conformance-report.md"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"firstLine": firstLine,
	"short":     func(s string) string { return s[:min(len(s), 12)] },
	"cls":       func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"num":       Number,
}).Parse(htmlTemplate))

// Number formats a measured value the way the HTML and Markdown show it
// (and CheckHTML expects it): the shortest decimal that reads back as v.
func Number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

type budgetRow struct {
	Profile string
	B       conformance.Budget
}

type view struct {
	R        *conformance.Report
	Perf     *runinfo.PerfData
	Plots    []Plot
	Failures []conformance.Test
	Skips    []conformance.Test
	Budgets  []budgetRow
}

func newView(r *conformance.Report, perf *runinfo.PerfData) (view, error) {
	v := view{R: r, Perf: perf}
	for _, t := range append(r.Tests(), r.Unprofiled...) {
		switch {
		case conformance.Failed(t.Result):
			v.Failures = append(v.Failures, t)
		case t.Result == conformance.TestSkipped || t.Result == conformance.TestNotRun:
			v.Skips = append(v.Skips, t)
		}
	}
	for _, p := range r.Profiles {
		for _, b := range p.Budgets {
			v.Budgets = append(v.Budgets, budgetRow{p.Name, b})
		}
	}
	plots, err := Plots(perf)
	if err != nil {
		return v, fmt.Errorf("drawing the latency plots: %w", err)
	}
	v.Plots = plots
	return v, nil
}

// HTML renders the report as one self-contained HTML page: a summary per
// profile, the claims, a table per profile, failures with their messages
// and evidence, the skip ledger, budgets, latency plots from perf (nil
// when the run has none) and the environment. The headline numbers carry
// ids and data- attributes (data-result, data-stat, data-test, data-budget,
// data-plot, data-digest) that CheckHTML reads.
func HTML(r *conformance.Report, perf *runinfo.PerfData) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("render: no report given")
	}
	v, err := newView(r, perf)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("rendering the HTML report: %w", err)
	}
	return buf.Bytes(), nil
}

// Markdown renders a short summary for CI job summaries
// ($GITHUB_STEP_SUMMARY): results and statistics per profile, claims,
// failures with their first line, skips and not-run tests with reasons,
// budgets and warnings.
func Markdown(r *conformance.Report) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## ambient-e2e conformance: %s\n\n", r.Result)
	if p := r.Implementation.Project; p != "" {
		w("%s %s (%s), ", p, r.Implementation.Version, r.Implementation.Organization)
	}
	w("Istio %s on Kubernetes %s (%s, %d nodes); suite %s%s, mode %s", orUnknown(r.Mesh.Version), orUnknown(r.Cluster.KubernetesVersion),
		orUnknown(r.Cluster.Mode), r.Cluster.NodeCount, orUnknown(r.Suite.Version), commitSuffix(r.Suite.Commit), r.Mode)
	if r.Suite.LabelFilter != "" {
		w("; label filter `%s`", r.Suite.LabelFilter)
	}
	if r.Suite.Interrupted {
		w("; **interrupted** (%s)", r.Suite.InterruptReason)
	}
	w(".\n\n")
	for _, img := range r.Mesh.Images {
		if img.Given != "" {
			w("%s ran **your own build**: %s (`%s`).\n\n", img.Component, img.Given, img.Image)
		}
	}
	w("| profile | result | passed | failed | skipped | not run | total |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, p := range r.Profiles {
		s := p.Statistics
		w("| %s | %s %s | %d | %d | %d | %d | %d |\n", p.Name, icon(p.Result), p.Result, s.Passed, s.Failed, s.Skipped, s.NotRun, s.Total)
	}
	var claims []string
	for _, p := range r.Profiles {
		for _, c := range p.Claims {
			claims = append(claims, fmt.Sprintf("- %s · %s", p.Name, c.Summary))
		}
	}
	if len(claims) > 0 {
		w("\n**Claims** (observed independently vs. reported by the mesh):\n\n%s\n", strings.Join(claims, "\n"))
	}
	var failed, skipped []string
	notRun := map[string]int{}
	for _, t := range append(r.Tests(), r.Unprofiled...) {
		switch {
		case conformance.Failed(t.Result):
			failed = append(failed, fmt.Sprintf("- %s %s: %s", mdTest(t), t.Result, md(firstLine(t.Message))))
		case t.Result == conformance.TestSkipped:
			skipped = append(skipped, fmt.Sprintf("- %s: %s", mdTest(t), md(firstLine(t.Message))))
		case t.Result == conformance.TestNotRun:
			notRun[t.NotRunReason]++
		}
	}
	for _, n := range r.Suite.NodeFailures {
		failed = append(failed, fmt.Sprintf("- %s %s: %s", n.Node, n.State, md(firstLine(n.Message))))
	}
	if len(failed) > 0 {
		w("\n**Failures** (%d):\n\n%s\n", len(failed), strings.Join(failed, "\n"))
	}
	if len(skipped) > 0 {
		w("\n**Skipped** (%d):\n\n%s\n", len(skipped), strings.Join(skipped, "\n"))
	}
	if len(notRun) > 0 {
		w("\n**Not run:**\n\n")
		for _, reason := range slices.Sorted(maps.Keys(notRun)) {
			w("- %d × %s\n", notRun[reason], md(reason))
		}
	}
	var budgets []string
	for _, p := range r.Profiles {
		for _, bg := range p.Budgets {
			budgets = append(budgets, fmt.Sprintf("| %s | %s %s | %s %s [%s, %s] | %s %s | %s |", bg.Name, bg.Mode, bg.Percentile,
				Number(bg.Estimate), bg.Unit, Number(bg.Low), Number(bg.High), Number(bg.Budget), bg.Unit, bg.Verdict))
		}
	}
	if len(budgets) > 0 {
		w("\n| budget | mode | measured (95%% interval) | applied | verdict |\n|---|---|---|---|---|\n%s\n", strings.Join(budgets, "\n"))
	}
	for _, warn := range r.Warnings {
		w("\n> %s\n", md(warn))
	}
	w("\n<sub>digest `%s`</sub>\n", r.Digest)
	return []byte(b.String())
}

// Paths are the files Write wrote.
type Paths struct {
	YAML, JSON, HTML, Markdown string
}

// Write writes the report to dir as conformance-report.yaml, .json, .html
// and .md. perf is the run's perf data (ReadPerfData), nil when none.
func Write(dir string, r *conformance.Report, perf *runinfo.PerfData) (Paths, error) {
	var p Paths
	var err error
	if p.YAML, p.JSON, err = conformance.WriteData(dir, r); err != nil {
		return p, err
	}
	h, err := HTML(r, perf)
	if err != nil {
		return p, err
	}
	p.HTML, p.Markdown = filepath.Join(dir, FileHTML), filepath.Join(dir, FileMarkdown)
	if err := conformance.WriteFile(p.HTML, h); err != nil {
		return p, err
	}
	return p, conformance.WriteFile(p.Markdown, Markdown(r))
}

// ReadPerfData reads the perf data the report names (Sources.PerfData,
// relative to reportDir); nil and no error when it names none.
func ReadPerfData(reportDir string, r *conformance.Report) (*runinfo.PerfData, error) {
	if r.Sources.PerfData == "" {
		return nil, nil
	}
	d, err := runinfo.ReadPerfData(filepath.Join(reportDir, r.Sources.PerfData))
	if err != nil {
		return nil, fmt.Errorf("reading the perf data the report names: %w", err)
	}
	return &d, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func commitSuffix(c string) string {
	if c == "" {
		return ""
	}
	return " (" + c[:min(len(c), 12)] + ")"
}

func icon(result string) string {
	switch result {
	case conformance.ResultSuccess:
		return "✅"
	case conformance.ResultPartial:
		return "⚠️"
	}
	return "❌"
}

// md keeps table and list syntax intact: pipes escaped, newlines flattened.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// mdTest names a test in Markdown: its catalogue ID (when it has one) and its text.
func mdTest(t conformance.Test) string {
	if t.ID == "" {
		return "`" + md(t.Name) + "`"
	}
	return "`" + t.ID + "` " + md(t.Name)
}
