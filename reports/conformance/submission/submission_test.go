package submission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
)

func TestMain(m *testing.M) { os.Exit(fixturerun.Main(m)) }

var acme = conformance.Implementation{Organization: "Acme Networks", Project: "acme-mesh", URL: "https://mesh.acme.io",
	Version: "v2.4.0", Contact: []string{"@acme/mesh-conformance"}}

const configText = "implementation:\n  organization: Acme Networks\nreportMode: vendor\n"

// runDir makes a run's report directory as ambient-e2e run leaves it:
// the conformance report (mode as given), junit.xml and e2e.log.
func runDir(t *testing.T, mode string, args ...string) string {
	t.Helper()
	dir := fixturerun.Scenario{Args: append([]string{"-ginkgo.junit-report=junit.xml"}, args...)}.Run(t)
	fixturerun.WriteEnvironment(t, dir)
	r, err := conformance.Build(conformance.Inputs{GinkgoReport: filepath.Join(dir, "report.json"), Mode: mode, Implementation: acme})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conformance.WriteData(dir, r); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, LogFile), []byte("ambient-e2e run r1234\nRan 9 of 9 specs\n"), 0o644))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func config(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "vendor.yaml")
	must(t, os.WriteFile(p, []byte(configText), 0o644))
	return p
}

// submission writes a submission folder from a vendor run and returns it.
func submission(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "acme-networks-acme-mesh")
	must(t, Write(Inputs{ReportDir: runDir(t, conformance.ModeVendor), ConfigPath: config(t)}, out))
	return out
}

func TestASubmissionVerifies(t *testing.T) {
	out := submission(t)
	if ps := Verify(out); len(ps) != 0 {
		t.Fatalf("a fresh submission: %q", ps)
	}
	readme, err := os.ReadFile(filepath.Join(out, ReadmeFile))
	must(t, err)
	for _, want := range []string{"# acme-mesh v2.4.0: ambient-e2e conformance", "## Contents", "- [Reproduce](#reproduce)",
		"```sh\nmake e2e \\\n    CONFIG=config.yaml", "```yaml\n" + strings.TrimRight(configText, "\n") + "\n```", "| l4 |", "- @acme/mesh-conformance"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q:\n%s", want, readme)
		}
	}
	product, err := os.ReadFile(filepath.Join(out, ProductFile))
	must(t, err)
	if !strings.Contains(string(product), "organization: Acme Networks") || !strings.Contains(string(product), "version: v2.4.0") {
		t.Errorf("PRODUCT.yaml:\n%s", product)
	}
}

// Tamperings a bot must catch, each named: the three (an edited
// result, a missing file, a filtered run) and three more.
func TestVerifyNamesEachTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, out string)
		want   string
	}{
		{"an edited result", func(t *testing.T, out string) {
			replace(t, filepath.Join(out, ReportFile), "result: passed", "result: failed")
		}, "conformance-report.yaml does not verify"},
		{"a missing file", func(t *testing.T, out string) {
			must(t, os.Remove(filepath.Join(out, JUnitFile)))
		}, "junit.xml: missing"},
		{"a filtered run", func(t *testing.T, out string) {
			// A real, verifying report of a run filtered to one profile,
			// with its own JUnit report, swapped in.
			filtered := runDir(t, conformance.ModeVendor, "-ginkgo.label-filter=l4")
			for _, f := range []string{ReportFile, JUnitFile} {
				b, err := os.ReadFile(filepath.Join(filtered, f))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(out, f), b, 0o644))
			}
			must(t, conformance.Verify(filepath.Join(out, ReportFile)))
		}, "a filtered run"},
		{"another product", func(t *testing.T, out string) {
			replace(t, filepath.Join(out, ProductFile), "v2.4.0", "v2.5.0")
		}, "PRODUCT.yaml says"},
		{"a README without its Reproduce command", func(t *testing.T, out string) {
			replace(t, filepath.Join(out, ReadmeFile), "make e2e", "run it somehow")
		}, "no Reproduce section"},
		{"another run's log", func(t *testing.T, out string) {
			must(t, os.WriteFile(filepath.Join(out, LogFile), []byte("ambient-e2e run ffff0000\n"), 0o644))
		}, "never names the report's run r1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := submission(t)
			tc.tamper(t, out)
			expectProblem(t, Verify(out), tc.want)
		})
	}
}

// replace edits the first old in the file at p to new; the file must hold it.
func replace(t *testing.T, p, old, new string) {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q to edit", p, old)
	}
	must(t, os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

func expectProblem(t *testing.T, ps []string, want string) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatalf("verified; want a problem with %q", want)
	}
	for _, p := range ps {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Fatalf("problems %q, want one with %q", ps, want)
}

func TestWriteRefusesWhatCannotBeSubmitted(t *testing.T) {
	for name, tc := range map[string]struct {
		dir  func(t *testing.T) string
		want string
	}{
		"default mode":   {func(t *testing.T) string { return runDir(t, conformance.ModeDefault) }, `mode is "default"`},
		"a filtered run": {func(t *testing.T) string { return runDir(t, conformance.ModeVendor, "-ginkgo.label-filter=l7") }, "a filtered run"},
	} {
		t.Run(name, func(t *testing.T) {
			err := Write(Inputs{ReportDir: tc.dir(t), ConfigPath: config(t)}, filepath.Join(t.TempDir(), "out"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	err := Write(Inputs{ReportDir: runDir(t, conformance.ModeVendor)}, filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(err.Error(), "no config file") {
		t.Fatalf("without a config file: %v", err)
	}
}

func TestReproduceCommandQuotesEnvironmentSettings(t *testing.T) {
	r := &conformance.Report{Suite: conformance.Suite{Settings: []conformance.Setting{
		{Name: "POLICY_TIMEOUT", Value: "45s", Source: "env"},
		{Name: "LABEL_FILTER", Value: "", Source: "default"},
		{Name: "GINKGO_FLAGS", Value: "--flake-attempts 2", Source: "env"},
		{Name: "ENROLL_TIMEOUT", Value: "2m", Source: "file vendor.yaml"},
	}}}
	want := "make e2e \\\n    CONFIG=config.yaml \\\n    POLICY_TIMEOUT=45s \\\n    GINKGO_FLAGS='--flake-attempts 2'"
	if got := ReproduceCommand(r); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestReproduceCommandOfAnInClusterRun(t *testing.T) {
	r := &conformance.Report{Suite: conformance.Suite{InCluster: true, Settings: []conformance.Setting{
		{Name: "CLUSTER_MODE", Value: "existing", Source: "env"},
		{Name: "POLICY_TIMEOUT", Value: "45s", Source: "env"},
		{Name: "PROBE_IMAGE", Value: "ambient-e2e.local/probe:abc", Source: "env"},
	}}}
	want := "make e2e IN_CLUSTER=1 \\\n    CONFIG=config.yaml \\\n    POLICY_TIMEOUT=45s"
	if got := ReproduceCommand(r); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
