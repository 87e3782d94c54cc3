// Package submission is what a vendor opens a pull request with: one folder
// holding the conformance report as the run wrote it, the run's JUnit
// report and e2e log, PRODUCT.yaml (the implementation block), the config
// file the run read, and a README with a table of contents and the exact
// Reproduce command. Verify checks such a folder as a review bot would
// (like the Kubernetes conformance submissions' checks), naming each
// problem.
package submission

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// The files of a submission folder.
const (
	ReportFile  = "conformance-report.yaml"
	JUnitFile   = "junit.xml"
	LogFile     = "e2e.log"
	ProductFile = "PRODUCT.yaml"
	ConfigFile  = "config.yaml"
	ReadmeFile  = "README.md"
)

// Files lists every file a submission holds, in the README's order.
var Files = []struct{ Name, What string }{
	{ReadmeFile, "this file: what was tested, the results, how to reproduce them"},
	{ProductFile, "the implementation tested (organization, project, version, URL, contact), as in the report"},
	{ReportFile, "the conformance report exactly as the run wrote it (`ambient-e2e report verify` checks its digest)"},
	{JUnitFile, "Ginkgo's JUnit report of the same run"},
	{LogFile, "the run's log (what `ambient-e2e run` printed)"},
	{ConfigFile, "the config file the run read (the Reproduce command uses it)"},
}

// Product is PRODUCT.yaml: the report's implementation block.
type Product struct {
	Organization string   `json:"organization"`
	Project      string   `json:"project"`
	Version      string   `json:"version"`
	URL          string   `json:"url"`
	Contact      []string `json:"contact"`
}

func productOf(i conformance.Implementation) Product {
	return Product{Organization: i.Organization, Project: i.Project, Version: i.Version, URL: i.URL, Contact: slices.Clone(i.Contact)}
}

// Inputs are what a submission is made from.
type Inputs struct {
	// ReportDir is the run's report directory: conformance-report.yaml,
	// junit.xml and e2e.log.
	ReportDir string
	// ConfigPath is the config file the run read (--config/AMBIENT_E2E_CONFIG).
	ConfigPath string
}

// Write makes a submission folder in out (created; it must be empty or
// absent) from a run. A run that cannot be submitted (not vendor mode,
// filtered, interrupted, a report that does not verify) is refused with
// every reason.
func Write(in Inputs, out string) error {
	reportPath := filepath.Join(in.ReportDir, ReportFile)
	if err := conformance.Verify(reportPath); err != nil {
		return fmt.Errorf("the run's report cannot be submitted: %w", err)
	}
	r, err := conformance.Load(reportPath)
	if err != nil {
		return err
	}
	if ps := submittable(r); len(ps) > 0 {
		return fmt.Errorf("the run cannot be submitted: %s", strings.Join(ps, "; "))
	}
	if in.ConfigPath == "" {
		return errors.New("no config file: a submission's Reproduce section needs the config file the run read (--config)")
	}
	config, err := os.ReadFile(in.ConfigPath)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: a submission folder is written whole", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range []string{ReportFile, JUnitFile, LogFile} {
		b, err := os.ReadFile(filepath.Join(in.ReportDir, f))
		if err != nil {
			return fmt.Errorf("the run's %s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return err
		}
	}
	product, err := yaml.Marshal(productOf(r.Implementation))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, ProductFile), product, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, ConfigFile), config, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, ReadmeFile), []byte(readme(r, config)), 0o644)
}

// ReproduceCommand is the command that repeats the run: make e2e with the
// config file and every verdict-changing setting that came from the
// environment (a setting from the file or a default is in the file or the
// suite already). For a run inside the cluster it is make e2e IN_CLUSTER=1,
// without the settings the in-cluster runner sets itself.
func ReproduceCommand(r *conformance.Report) string {
	parts := []string{"make e2e", "CONFIG=" + ConfigFile}
	if r.Suite.InCluster {
		parts = []string{"make e2e IN_CLUSTER=1", "CONFIG=" + ConfigFile}
	}
	for _, s := range r.Suite.Settings {
		if s.Source != "env" || (r.Suite.InCluster && slices.Contains(runinfo.InClusterRunnerSettings, s.Name)) {
			continue
		}
		parts = append(parts, s.Name+"="+shellQuote(s.Value))
	}
	return strings.Join(parts, " \\\n    ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"$`\\|&;<>()*?[]{}!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func readme(r *conformance.Report, config []byte) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	impl := r.Implementation
	w("# %s %s: ambient-e2e conformance\n\n", impl.Project, impl.Version)
	w("%s's %s %s (%s), tested with the ambient-e2e suite %s", impl.Organization, impl.Project, impl.Version, impl.URL, orDash(r.Suite.Version))
	if r.Suite.Commit != "" {
		w(" (commit %s)", r.Suite.Commit)
	}
	w(" on Istio %s and Kubernetes %s, run `%s` of %s: **%s**.\n\n", orDash(r.Mesh.Version), orDash(r.Cluster.KubernetesVersion),
		orDash(r.Suite.RunID), r.Date.UTC().Format("2006-01-02"), r.Result)
	w("## Contents\n\n")
	for _, s := range []string{"Results", "Reproduce", "Files", "Contact"} {
		w("- [%s](#%s)\n", s, strings.ToLower(s))
	}
	w("\n## Results\n\n| profile | result | passed | failed | skipped | not run |\n|---|---|---|---|---|---|\n")
	for _, p := range r.Profiles {
		s := p.Statistics
		w("| %s | %s | %d | %d | %d | %d |\n", p.Name, p.Result, s.Passed, s.Failed, s.Skipped, s.NotRun)
	}
	w("\n## Reproduce\n\nThe exact command and config file of the run, from a checkout of the suite at its commit:\n\n```sh\n%s\n```\n\n", ReproduceCommand(r))
	w("`%s`, as the run read it:\n\n```yaml\n%s\n```\n\n", ConfigFile, strings.TrimRight(string(config), "\n"))
	w("## Files\n\n| file | what |\n|---|---|\n")
	for _, f := range Files {
		w("| `%s` | %s |\n", f.Name, f.What)
	}
	w("\n## Contact\n\n")
	for _, c := range impl.Contact {
		w("- %s\n", c)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// submittable names why a verified report cannot be a submission.
func submittable(r *conformance.Report) []string {
	var ps []string
	if r.Mode != conformance.ModeVendor {
		ps = append(ps, fmt.Sprintf("the report's mode is %q, not %q (REPORT_MODE=vendor with a complete implementation block)", r.Mode, conformance.ModeVendor))
	}
	if r.Suite.LabelFilter != "" || len(r.Suite.Focus) > 0 || len(r.Suite.Skip) > 0 {
		ps = append(ps, fmt.Sprintf("a filtered run (label filter %q, focus %q, skip %q): a submission runs the whole suite", r.Suite.LabelFilter, r.Suite.Focus, r.Suite.Skip))
	}
	if r.Suite.Interrupted {
		ps = append(ps, fmt.Sprintf("an interrupted run (%s): a submission is a run that finished", orDash(r.Suite.InterruptReason)))
	}
	return ps
}

var reproduceBlock = regexp.MustCompile("(?s)\n## Reproduce\n.*?```sh\n(make e2e|ambient-e2e run)[^`]*CONFIG=" + regexp.QuoteMeta(ConfigFile) + "[^`]*```.*?```yaml\n(.*?)\n```")

// Verify checks a submission folder as a review bot would and returns
// every problem found (none: the folder can be merged as it is).
func Verify(dir string) []string {
	var ps []string
	add := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	read := map[string][]byte{}
	for _, f := range Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		switch {
		case err != nil:
			add("%s: missing (%v)", f.Name, errors.Unwrap(err))
		case len(bytes.TrimSpace(b)) == 0:
			add("%s: empty", f.Name)
		default:
			read[f.Name] = b
		}
	}
	if read[ReportFile] == nil {
		return ps
	}
	reportPath := filepath.Join(dir, ReportFile)
	if err := conformance.Verify(reportPath); err != nil {
		add("%s does not verify: %v", ReportFile, err)
		return ps
	}
	r, err := conformance.Load(reportPath)
	if err != nil {
		add("%s: %v", ReportFile, err)
		return ps
	}
	for _, p := range submittable(r) {
		add("%s: %s", ReportFile, p)
	}
	if b := read[ProductFile]; b != nil {
		var p Product
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			add("%s: %v", ProductFile, err)
		} else if want := productOf(r.Implementation); !productEqual(p, want) {
			add("%s says %+v, the report's implementation block %+v", ProductFile, p, want)
		}
	}
	if b := read[ReadmeFile]; b != nil {
		ps = append(ps, checkReadme(string(b), r, read[ConfigFile])...)
	}
	if b := read[JUnitFile]; b != nil {
		ps = append(ps, checkJUnit(b, r)...)
	}
	if b := read[LogFile]; b != nil && r.Suite.RunID != "" && !bytes.Contains(b, []byte(r.Suite.RunID)) {
		add("%s never names the report's run %s: the log of another run?", LogFile, r.Suite.RunID)
	}
	return ps
}

func productEqual(a, b Product) bool {
	return a.Organization == b.Organization && a.Project == b.Project && a.Version == b.Version && a.URL == b.URL && slices.Equal(a.Contact, b.Contact)
}

func checkReadme(s string, r *conformance.Report, config []byte) []string {
	var ps []string
	impl := r.Implementation
	if title, _, _ := strings.Cut(s, "\n"); !strings.HasPrefix(title, "# ") || !strings.Contains(title, impl.Project) || !strings.Contains(title, impl.Version) {
		ps = append(ps, fmt.Sprintf("%s: the title %q does not name %s %s", ReadmeFile, title, impl.Project, impl.Version))
	}
	if !strings.Contains(s, "\n## Contents\n") || !strings.Contains(s, "(#reproduce)") {
		ps = append(ps, fmt.Sprintf("%s: no table of contents (## Contents) linking the Reproduce section", ReadmeFile))
	}
	m := reproduceBlock.FindStringSubmatch(s)
	switch {
	case m == nil:
		ps = append(ps, fmt.Sprintf("%s: no Reproduce section with the command (make e2e … CONFIG=%s) and the config file in a yaml block", ReadmeFile, ConfigFile))
	case config != nil && strings.TrimSpace(m[2]) != strings.TrimSpace(string(config)):
		ps = append(ps, fmt.Sprintf("%s: the Reproduce section's config differs from %s", ReadmeFile, ConfigFile))
	}
	return ps
}

// checkJUnit compares the JUnit report's specs with the report's tests,
// state by state.
func checkJUnit(b []byte, r *conformance.Report) []string {
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &suites); err != nil {
		return []string{fmt.Sprintf("%s: not a JUnit report: %v", JUnitFile, err)}
	}
	junit := map[string]int{}
	for _, s := range suites.TestSuites {
		for _, c := range s.TestCases {
			if strings.HasPrefix(c.Name, "[It] ") {
				junit[c.Status]++
			}
		}
	}
	report := map[string]int{}
	for _, t := range append(r.Tests(), r.Unprofiled...) {
		if t.Result != conformance.TestNotRun {
			report[t.Result]++
		}
	}
	var ps []string
	for _, state := range union(junit, report) {
		if junit[state] != report[state] {
			ps = append(ps, fmt.Sprintf("%s has %d specs %s, the report %d: not the same run", JUnitFile, junit[state], state, report[state]))
		}
	}
	return ps
}

func union(a, b map[string]int) []string {
	var out []string
	for _, m := range []map[string]int{a, b} {
		for k := range m {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}
