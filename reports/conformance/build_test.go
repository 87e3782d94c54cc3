package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
)

func TestBuildPassedRun(t *testing.T) {
	dir := fixturerun.Scenario{}.Run(t)
	fixturerun.WriteEnvironment(t, dir)
	r := build(t, dir, Inputs{})

	if r.Result != ResultSuccess {
		t.Errorf("result %q, want success (warnings %v)", r.Result, r.Warnings)
	}
	for _, p := range r.Profiles {
		if p.Result != ResultSuccess || p.Statistics.Passed != p.Statistics.Total || p.Statistics.Total == 0 {
			t.Errorf("profile %s: %s %+v, want success with every test passed", p.Name, p.Result, p.Statistics)
		}
	}
	if got := profile(t, r, "l4").Statistics; got != (Statistics{Total: 4, Passed: 4}) {
		t.Errorf("l4 statistics %+v, want 4 passed (the rollback spec is l4 too)", got)
	}
	istiod := test(t, r, "istiod is ready")
	if istiod.Attempts != 1 || istiod.EvidenceKind != EvidenceMesh || istiod.Location == "" || strings.HasPrefix(istiod.Location, "/") {
		t.Errorf("istiod test %+v: want 1 attempt, mesh evidence and a relative location", istiod)
	}
	if istiod.ID != "INSTALL-ISTIOD-READY" || test(t, r, "one ztunnel per node").ID != "" {
		t.Errorf("IDs %q and %q: want the id: label's ID, and none without one", istiod.ID, test(t, r, "one ztunnel per node").ID)
	}
	if len(istiod.Retries) != 1 || istiod.Retries[0] != (Retry{What: "istiod Ready", Tries: 3, Seconds: 1.5}) {
		t.Errorf("istiod retries %+v, want the retries entry", istiod.Retries)
	}
	if w := test(t, r, "one ztunnel per node").Waits; w == nil || w.MetSeconds != 2 {
		t.Errorf("ztunnel waits %+v, want the waits entry", w)
	}
	wire := test(t, r, "no canary on the wire")
	if wire.EvidenceKind != EvidenceObserved || !slices.Equal(wire.Claims, []string{"mtls"}) {
		t.Errorf("wire test: evidence %q claims %v, want observed and [mtls] (a container label)", wire.EvidenceKind, wire.Claims)
	}
	if len(wire.Evidence) != 1 || wire.Evidence[0].Name != "TLS records on 15008" || wire.Evidence[0].Value != "12" || wire.Evidence[0].Data != float64(12) {
		t.Errorf("wire evidence %+v, want the TLS records entry with its value", wire.Evidence)
	}
	mtls := claim(t, profile(t, r, "l4"), "mtls")
	if mtls.Observed != SupportYes || mtls.Mesh != SupportYes || mtls.Summary != "mtls: observed independently: yes; reported by the mesh: yes" {
		t.Errorf("mtls claim %+v", mtls)
	}
	if c := claim(t, profile(t, r, "enroll"), "enrollment"); c.Observed != SupportNone || c.Mesh != SupportYes {
		t.Errorf("enrollment claim %+v: only the mesh reports it, want observed %q", c, SupportNone)
	}

	// Environment, images with digests, the waypoint from its entry.
	if r.Suite.Version != "v0.3.0-12-gabcdef0" || r.Suite.RunID != "r1234" || r.Cluster.NodeCount != 2 || r.Mesh.Version != "1.30.1" || len(r.Suite.Settings) != 2 {
		t.Errorf("environment not carried over: suite %+v cluster %+v mesh %+v", r.Suite, r.Cluster, r.Mesh)
	}
	var comps []string
	for _, img := range r.Mesh.Images {
		comps = append(comps, img.Component)
		if !strings.HasPrefix(img.Digest, "sha256:") {
			t.Errorf("image %s has no digest: %+v", img.Component, img)
		}
	}
	if !slices.Equal(comps, []string{"istiod", "ztunnel", "istio-cni-node", "waypoint app/waypoint"}) {
		t.Errorf("mesh images %v", comps)
	}
	if wp := r.Mesh.Images[3]; len(wp.UsedBy) != 1 || !strings.HasSuffix(wp.UsedBy[0], "the waypoint is Programmed") {
		t.Errorf("waypoint image used by %v", wp.UsedBy)
	}

	// Budgets: the entry, and perf data read.
	perf := profile(t, r, "perf")
	if len(perf.Budgets) != 1 || perf.Budgets[0].Name != "l4.http.p99" || perf.Budgets[0].Verdict != runinfo.BudgetHolds || perf.Budgets[0].Test == "" {
		t.Errorf("perf budgets %+v", perf.Budgets)
	}
	if r.Sources.PerfData != "perf/perf.json" || r.Sources.Environment != runinfo.EnvironmentFile {
		t.Errorf("sources %+v", r.Sources)
	}
	if d, err := ComputeDigest(r); err != nil || d != r.Digest {
		t.Errorf("digest %s, recomputed %s (%v)", r.Digest, d, err)
	}
}

func TestBuildFailedAndSkipped(t *testing.T) {
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_FAIL=ztunnel-log", "FIXTURE_SKIP=deny-metric"}}.Run(t)
	r := build(t, dir, Inputs{})

	l4 := profile(t, r, "l4")
	if l4.Result != ResultFailure || l4.Statistics != (Statistics{Total: 4, Passed: 2, Failed: 1, Skipped: 1}) {
		t.Errorf("l4: %s %+v, want failure with 2 passed, 1 failed, 1 skipped", l4.Result, l4.Statistics)
	}
	if r.Result != ResultFailure {
		t.Errorf("report result %q, want failure", r.Result)
	}
	failed := test(t, r, "ztunnel logs both identities")
	if failed.Result != TestFailed || failed.Message != "ztunnel-log: expected the connection to be mTLS, got plaintext" ||
		failed.Bundle != "bundles/ztunnel-log" || !strings.HasPrefix(failed.FailureLocation, "fixture_test.go:") {
		t.Errorf("failed test %+v", failed)
	}
	skipped := test(t, r, "denied connections are counted")
	if skipped.Result != TestSkipped || !strings.Contains(skipped.Message, "needs Istio >= 1.29") || skipped.Attempts != 1 {
		t.Errorf("skipped test %+v: want skipped with its reason", skipped)
	}
	if c := claim(t, l4, "mtls"); c.Observed != SupportYes || c.Mesh != SupportNo {
		t.Errorf("mtls claim %+v: the wire passed and the ztunnel log failed", c)
	}
	if c := claim(t, l4, "deny-metrics"); c.Mesh != SupportNotRun {
		t.Errorf("deny-metrics claim %+v: its only test was skipped", c)
	}
	if p := profile(t, r, "install"); p.Result != ResultSuccess {
		t.Errorf("install %s, want success: a failure elsewhere does not touch it", p.Result)
	}
	if !hasWarning(r, "no environment.json") {
		t.Errorf("no warning about the missing environment: %v", r.Warnings)
	}
	if r.Cluster.NodeCount != 0 || len(r.Mesh.Images) != 1 {
		t.Errorf("without an environment only the waypoint's image is known: %+v", r.Mesh)
	}
}

func TestBuildFilteredRunListsNotRun(t *testing.T) {
	dir := fixturerun.Scenario{Args: []string{"-ginkgo.label-filter=install"}}.Run(t)
	r := build(t, dir, Inputs{})

	if r.Suite.LabelFilter != "install" {
		t.Errorf("label filter %q", r.Suite.LabelFilter)
	}
	if p := profile(t, r, "install"); p.Result != ResultSuccess || p.Statistics.Passed != 2 {
		t.Errorf("install %s %+v", p.Result, p.Statistics)
	}
	for _, name := range []string{"enroll", "l4", "l7", "perf"} {
		p := profile(t, r, name)
		if p.Result != ResultPartial || p.Statistics.NotRun != p.Statistics.Total || p.Statistics.Total == 0 {
			t.Errorf("profile %s: %s %+v, want partial with every test not run", name, p.Result, p.Statistics)
		}
		for _, x := range p.Tests {
			if x.Result != TestNotRun || x.NotRunReason != `not run: excluded by the label filter "install"` || x.Attempts != 0 {
				t.Errorf("test %q: %s %q", x.Name, x.Result, x.NotRunReason)
			}
		}
	}
	if r.Result != ResultPartial {
		t.Errorf("a filtered run is %q, want partial", r.Result)
	}
}

func TestBuildInterruptedRun(t *testing.T) {
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_HANG=ztunnel-log"}, Args: []string{"-ginkgo.timeout=2s"}}.Run(t)
	r := build(t, dir, Inputs{})

	if !r.Suite.Interrupted || r.Suite.InterruptReason != "Suite Timeout Elapsed" {
		t.Errorf("suite interrupted %v (%q), want the suite timeout", r.Suite.Interrupted, r.Suite.InterruptReason)
	}
	if x := test(t, r, "ztunnel logs both identities"); x.Result != TestTimedOut || x.Message == "" {
		t.Errorf("the hanging test: %s %q, want timedout with Ginkgo's message", x.Result, x.Message)
	}
	notRun := 0
	for _, x := range r.Tests() {
		switch x.Result {
		case TestPassed, TestTimedOut:
		case TestNotRun:
			notRun++
			if x.NotRunReason != "not reached: the run was interrupted (Suite Timeout Elapsed)" {
				t.Errorf("test %q not run for %q", x.Name, x.NotRunReason)
			}
		default:
			t.Errorf("test %q: %s", x.Name, x.Result)
		}
	}
	if notRun == 0 {
		t.Error("no test was left unreached: the scenario does not test the interrupt")
	}
	if profile(t, r, "l4").Result != ResultFailure || r.Result != ResultFailure {
		t.Errorf("l4 %s, report %s: a timed-out test is a failure", profile(t, r, "l4").Result, r.Result)
	}
}

func TestBuildFailedBeforeSuite(t *testing.T) {
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_FAIL=setup"}}.Run(t)

	t.Run("without a spec list the missing specs are counted", func(t *testing.T) {
		r := build(t, dir, Inputs{})
		if len(r.Tests()) != 0 || r.Suite.SpecsTotal != 10 || r.Suite.SpecsUnlisted != 10 {
			t.Fatalf("tests %d, specs total %d, unlisted %d: Ginkgo lists no spec after a failed BeforeSuite", len(r.Tests()), r.Suite.SpecsTotal, r.Suite.SpecsUnlisted)
		}
		if len(r.Suite.NodeFailures) != 1 || r.Suite.NodeFailures[0].Node != "SynchronizedBeforeSuite" || !strings.Contains(r.Suite.NodeFailures[0].Message, "provisioning the run") {
			t.Errorf("node failures %+v", r.Suite.NodeFailures)
		}
		if r.Result != ResultFailure || !hasWarning(r, "10 specs are unaccounted for") {
			t.Errorf("result %s, warnings %v", r.Result, r.Warnings)
		}
		for _, p := range r.Profiles {
			if p.Result == ResultSuccess {
				t.Errorf("profile %s is success with nothing run", p.Name)
			}
		}
	})
	t.Run("with the spec list every spec is not run", func(t *testing.T) {
		r := build(t, dir, Inputs{SpecList: fixturerun.SpecList(t)})
		if got := len(r.Tests()); got != 10 || r.Suite.SpecsUnlisted != 0 {
			t.Fatalf("%d tests, %d unlisted, want the 10 of the spec list", got, r.Suite.SpecsUnlisted)
		}
		for _, x := range r.Tests() {
			if x.Result != TestNotRun || !strings.HasPrefix(x.NotRunReason, "not run: SynchronizedBeforeSuite failed: provisioning the run") {
				t.Errorf("test %q: %s %q", x.Name, x.Result, x.NotRunReason)
			}
		}
	})
}

func TestBuildWithoutGinkgoReport(t *testing.T) {
	list := fixturerun.SpecList(t)
	r, err := Build(Inputs{GinkgoReport: filepath.Join(t.TempDir(), "report.json"), SpecList: list})
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != ResultFailure || len(r.Tests()) != 10 || !hasWarning(r, "Ginkgo wrote no report") {
		t.Errorf("result %s, %d tests, warnings %v", r.Result, len(r.Tests()), r.Warnings)
	}
	if _, err := Build(Inputs{GinkgoReport: filepath.Join(t.TempDir(), "report.json")}); err == nil || !strings.Contains(err.Error(), "reading the Ginkgo JSON report") {
		t.Errorf("no report and no spec list: %v", err)
	}
}

func TestBuildDryRunIsNotAPass(t *testing.T) {
	r := build(t, filepath.Dir(fixturerun.SpecList(t)), Inputs{})
	for _, x := range r.Tests() {
		if x.Result != TestNotRun {
			t.Errorf("dry run: test %q is %s, want notRun (Ginkgo marks it passed)", x.Name, x.Result)
		}
	}
	if r.Result != ResultPartial {
		t.Errorf("dry run result %s", r.Result)
	}
}

func TestBuildVendorMode(t *testing.T) {
	dir := fixturerun.Scenario{}.Run(t)
	good := Implementation{Organization: "Acme Networks", Project: "acme-mesh", URL: "https://mesh.acme.io", Version: "v2.4.0", Contact: []string{"@acme/mesh-team"}}
	if r := build(t, dir, Inputs{Mode: ModeVendor, Implementation: good}); r.Mode != ModeVendor || r.Implementation.Project != "acme-mesh" {
		t.Errorf("vendor report %+v", r.Implementation)
	}
	bad := good
	bad.URL = "https://example.com/mesh"
	bad.Contact = []string{"TODO"}
	_, err := Build(Inputs{GinkgoReport: filepath.Join(dir, "report.json"), Mode: ModeVendor, Implementation: bad})
	if err == nil || !strings.Contains(err.Error(), "implementation.url") || !strings.Contains(err.Error(), "implementation.contact[0]") {
		t.Errorf("placeholders accepted: %v", err)
	}
	if _, err := Build(Inputs{GinkgoReport: filepath.Join(dir, "report.json"), Mode: "vendors"}); err == nil || !strings.Contains(err.Error(), `"vendors"`) {
		t.Errorf("unknown mode: %v", err)
	}
}

func TestCheckImplementationNamesEachField(t *testing.T) {
	good := Implementation{Organization: "Acme Networks", Project: "acme-mesh", URL: "https://mesh.acme.io", Version: "v2.4.0", Contact: []string{"mesh@acme.io"}}
	if err := CheckImplementation(ModeVendor, good); err != nil {
		t.Fatalf("a complete block refused: %v", err)
	}
	if err := CheckImplementation(ModeDefault, Implementation{}); err != nil {
		t.Errorf("default mode needs no implementation block: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*Implementation)
	}{
		{"organization", func(i *Implementation) { i.Organization = "" }},
		{"project", func(i *Implementation) { i.Project = "TBD" }},
		{"project", func(i *Implementation) { i.Project = "<your project>" }},
		{"organization", func(i *Implementation) { i.Organization = "your-org" }},
		{"version", func(i *Implementation) { i.Version = "changeme" }},
		{"url", func(i *Implementation) { i.URL = "https://www.example.com" }},
		{"url", func(i *Implementation) { i.URL = "mesh.acme.io" }},
		{"contact", func(i *Implementation) { i.Contact = nil }},
		{"contact[1]", func(i *Implementation) { i.Contact = []string{"mesh@acme.io", "someone@example.org"} }},
		{"organization", func(i *Implementation) { i.Organization = "Example" }},
	}
	for _, c := range cases {
		impl := good
		c.edit(&impl)
		err := CheckImplementation(ModeVendor, impl)
		if err == nil || !strings.Contains(err.Error(), "implementation."+c.field+":") {
			t.Errorf("%+v: error %v, want one naming implementation.%s", impl, err, c.field)
		}
	}
}

func claim(t *testing.T, p Profile, name string) Claim {
	t.Helper()
	for _, c := range p.Claims {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("profile %s has no claim %q: %+v", p.Name, name, p.Claims)
	return Claim{}
}

func hasWarning(r *Report, sub string) bool {
	return slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}

func TestMain(m *testing.M) { os.Exit(fixturerun.Main(m)) }
