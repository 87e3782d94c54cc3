package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Inputs are what Build reads.
type Inputs struct {
	// GinkgoReport is the path of Ginkgo's JSON report (REPORT_DIR/report.json).
	// A missing file is accepted only with a SpecList: every spec is then not run.
	GinkgoReport string
	// SpecList is the optional path of the suite's full spec list, a Ginkgo
	// JSON report of `ginkgo --dry-run --json-report`. Specs it names that the
	// run's report lacks (a failed BeforeSuite lists no spec) are listed as not run.
	SpecList string
	// ReportDir holds environment.json and the perf data; "" is the directory of GinkgoReport.
	ReportDir string
	// Implementation is the implementation block from the config file or variables.
	Implementation Implementation
	// Mode is ModeDefault or ModeVendor; "" is ModeDefault.
	Mode string
	// Now is the report's date; zero is the current time.
	Now time.Time
}

// Build builds the report of one run from Ginkgo's JSON report and the
// runinfo files. It reads what Ginkgo recorded and judges no test again.
// A missing environment or perf data file is a warning in the report, not
// an error; an invalid mode, an incomplete implementation block in vendor
// mode, or an unreadable Ginkgo report is an error.
func Build(in Inputs) (*Report, error) {
	if in.Mode == "" {
		in.Mode = ModeDefault
	}
	if err := CheckImplementation(in.Mode, in.Implementation); err != nil {
		return nil, err
	}
	if in.ReportDir == "" {
		in.ReportDir = filepath.Dir(in.GinkgoReport)
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	impl := in.Implementation
	if impl.Contact == nil {
		impl.Contact = []string{}
	}
	r := &Report{
		APIVersion: APIVersion, Kind: Kind, Implementation: impl,
		Date: now.UTC().Truncate(time.Second), Mode: in.Mode,
		Suite:   Suite{Name: SuiteName},
		Sources: Sources{GinkgoReport: filepath.Base(in.GinkgoReport)},
	}

	run, err := readGinkgo(in.GinkgoReport, "Ginkgo JSON report")
	missingRun := errors.Is(err, fs.ErrNotExist) && in.SpecList != ""
	if err != nil && !missingRun {
		return nil, err
	}
	var list []types.Report
	if in.SpecList != "" {
		if list, err = readGinkgo(in.SpecList, "spec list (ginkgo --dry-run --json-report)"); err != nil {
			return nil, err
		}
		r.Sources.SpecList = filepath.Base(in.SpecList)
	}

	b := builder{r: r, reportDir: in.ReportDir}
	if missingRun {
		r.Warnings = append(r.Warnings, fmt.Sprintf("Ginkgo wrote no report (%s is missing): the suite did not start or crashed; every spec of the spec list is not run", in.GinkgoReport))
		r.Sources.GinkgoReport = ""
		r.Suite.NodeFailures = append(r.Suite.NodeFailures, NodeFailure{Node: "suite", State: "failed", Message: "Ginkgo wrote no report"})
	}
	b.readRun(run)
	b.addSpecList(list, missingRun)
	b.readEnvironment()
	b.readPerfData()
	b.finish()
	r.Digest, err = ComputeDigest(r)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func readGinkgo(path, what string) ([]types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("%s is not a %s (a JSON array of Ginkgo suite reports, from --json-report): %w", path, what, err)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("%s: the %s holds no suite; want the output of --json-report of one suite run", path, what)
	}
	return reports, nil
}

type builder struct {
	r          *Report
	reportDir  string
	tests      []placed // in report order
	seen       map[string]bool
	budgets    []Budget
	perfPath   string
	perfBy     string
	setupFail  string // why specs did not run when a BeforeSuite failed
	notReached string // why specs that matched the filters did not run, when known
}

// placed is a test and the profile its labels put it in ("" for none or several).
type placed struct {
	profile string
	test    Test
}

func (b *builder) readRun(run []types.Report) {
	r := b.r
	b.seen = map[string]bool{}
	if len(run) > 1 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("Ginkgo's report holds %d suites; their specs are merged", len(run)))
	}
	for i, s := range run {
		cfg := s.SuiteConfig
		if i == 0 {
			r.Suite.Started, r.Suite.Finished = s.StartTime.UTC(), s.EndTime.UTC()
			r.Suite.LabelFilter = cfg.LabelFilter
			r.Suite.Focus, r.Suite.Skip = cfg.FocusStrings, cfg.SkipStrings
			r.Suite.Procs = cfg.ParallelTotal
		}
		r.Suite.SpecsTotal += s.PreRunStats.TotalSpecs
		for _, reason := range s.SpecialSuiteFailureReasons {
			if strings.Contains(reason, "Interrupted") || strings.Contains(reason, "Timeout") {
				r.Suite.Interrupted = true
				r.Suite.InterruptReason = reason
			} else {
				r.Warnings = append(r.Warnings, "Ginkgo: "+reason)
			}
		}
		if r.Suite.Interrupted {
			b.notReached = "not reached: the run was interrupted (" + r.Suite.InterruptReason + ")"
		} else if cfg.FailFast && !s.SuiteSucceeded {
			b.notReached = "not reached: --fail-fast stopped the run after a failure"
		}
		if cfg.DryRun {
			r.Warnings = append(r.Warnings, "this was a dry run (--dry-run): no spec ran")
		}
		filter := newFilter(s)
		for _, sr := range s.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				b.suiteNode(sr)
				continue
			}
			t := b.test(sr, true)
			switch {
			case cfg.DryRun:
				t.Result, t.NotRunReason, t.Attempts = TestNotRun, "dry run: the suite listed its specs and ran none", 0
			case runinfo.LeftOut(sr):
				t.Result, t.NotRunReason = TestNotRun, filter.whyNotRun(sr, b.notReached)
			}
			b.add(sr, t)
		}
	}
}

// add places a test in its profile; a repeated name gets its location appended.
func (b *builder) add(sr types.SpecReport, t Test) {
	if b.seen[t.Name] {
		t.Name = t.Name + " [" + t.Location + "]"
	}
	b.seen[t.Name] = true
	b.tests = append(b.tests, placed{profileOf(sr.Labels()), t})
}

func (b *builder) suiteNode(sr types.SpecReport) {
	r := b.r
	for _, e := range sr.ReportEntries {
		r.Suite.Entries = append(r.Suite.Entries, evidence(e))
	}
	if sr.State.Is(types.SpecStatePassed | types.SpecStateSkipped) {
		return
	}
	f := NodeFailure{Node: sr.LeafNodeType.String(), State: sr.State.String(), Message: sr.Failure.Message, Location: b.location(sr, sr.Failure.Location)}
	r.Suite.NodeFailures = append(r.Suite.NodeFailures, f)
	if sr.LeafNodeType.Is(types.NodeTypeBeforeSuite|types.NodeTypeSynchronizedBeforeSuite) && b.setupFail == "" {
		b.setupFail = fmt.Sprintf("not run: %s failed: %s", f.Node, firstLine(f.Message))
	}
}

func (b *builder) location(sr types.SpecReport, cl types.CodeLocation) string {
	if cl.FileName == "" {
		return ""
	}
	file := cl.FileName
	if dir := suiteDirOf(sr); dir != "" {
		if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
	}
	return fmt.Sprintf("%s:%d", file, cl.LineNumber)
}

// suiteDirOf is the directory of the spec's first container, or of the leaf.
func suiteDirOf(sr types.SpecReport) string {
	if len(sr.ContainerHierarchyLocations) > 0 {
		return filepath.Dir(sr.ContainerHierarchyLocations[0].FileName)
	}
	if sr.LeafNodeLocation.FileName != "" {
		return filepath.Dir(sr.LeafNodeLocation.FileName)
	}
	return ""
}

// test reads one spec; with entries, its report entries become its
// evidence, retries, waits, budgets, images and perf data.
func (b *builder) test(sr types.SpecReport, entries bool) Test {
	t := Test{
		ID:              runinfo.IDOf(sr.Labels()),
		Name:            sr.FullText(),
		Location:        b.location(sr, sr.LeafNodeLocation),
		Labels:          sr.Labels(),
		Result:          result(sr.State),
		DurationSeconds: math.Round(sr.RunTime.Seconds()*1000) / 1000,
		Attempts:        sr.NumAttempts,
		Message:         strings.TrimSpace(sr.Failure.Message),
		EvidenceKind:    evidenceKind(sr.Labels()),
		Claims:          claimsOf(sr.Labels()),
	}
	if sr.State == types.SpecStatePending {
		t.Message = "pending: marked pending (PIt/PDescribe) in the suite"
	}
	if Failed(t.Result) {
		t.FailureLocation = b.location(sr, sr.Failure.Location)
	}
	if entries {
		for _, e := range sr.ReportEntries {
			b.entry(&t, e)
		}
	}
	return t
}

// entry lifts the runinfo entries into their fields and keeps the rest as evidence.
func (b *builder) entry(t *Test, e types.ReportEntry) {
	raw := []byte(e.Value.AsJSON)
	var err error
	switch e.Name {
	case runinfo.EntryBundle:
		err = json.Unmarshal(raw, &t.Bundle)
	case runinfo.EntryRetries:
		var v runinfo.Retries
		if err = json.Unmarshal(raw, &v); err == nil {
			t.Retries = append(t.Retries, Retry(v))
		}
	case runinfo.EntryWaits:
		var v runinfo.Waits
		if err = json.Unmarshal(raw, &v); err == nil {
			w := Waits{MetSeconds: v.MetSeconds, TimedOutSeconds: v.TimedOutSeconds, Count: v.Count}
			t.Waits = &w
		}
	case runinfo.EntryBudget:
		var v runinfo.BudgetResult
		if err = json.Unmarshal(raw, &v); err == nil {
			b.budgets = append(b.budgets, budgetOf(t.Name, v))
		}
	case runinfo.EntryWaypointImage:
		var v runinfo.Component
		if err = json.Unmarshal(raw, &v); err == nil {
			b.addImage(v, t.Name)
		}
	case runinfo.EntryPerfData:
		var p string
		if err = json.Unmarshal(raw, &p); err == nil && b.perfPath == "" {
			b.perfPath, b.perfBy = p, t.Name
		}
	default:
		t.Evidence = append(t.Evidence, evidence(e))
		return
	}
	if err != nil {
		b.r.Warnings = append(b.r.Warnings, fmt.Sprintf("test %q: report entry %q does not have the runinfo shape (%v); kept as evidence", t.Name, e.Name, err))
		t.Evidence = append(t.Evidence, evidence(e))
	}
}

func evidence(e types.ReportEntry) Evidence {
	ev := Evidence{Name: e.Name, Value: e.Value.Representation}
	var data any
	if err := json.Unmarshal([]byte(e.Value.AsJSON), &data); err == nil && data != nil {
		if s, ok := data.(string); ok {
			if ev.Value == "" {
				ev.Value = s
			}
		} else {
			ev.Data = data
		}
	}
	return ev
}

func budgetOf(test string, v runinfo.BudgetResult) Budget {
	return Budget{Test: test, Name: v.Name, Quantity: v.Quantity, Mode: v.Mode, Percentile: v.Percentile, Unit: v.Unit,
		Estimate: v.Estimate, Low: v.Low, High: v.High, Budget: v.Budget, NoiseFloor: v.NoiseFloor,
		Verdict: v.Verdict, Profile: v.Profile, Method: v.Method}
}

func (b *builder) addImage(c runinfo.Component, usedBy string) {
	for i := range b.r.Mesh.Images {
		img := &b.r.Mesh.Images[i]
		if img.Component == c.Name {
			if usedBy != "" && !slices.Contains(img.UsedBy, usedBy) {
				img.UsedBy = append(img.UsedBy, usedBy)
			}
			return
		}
	}
	img := Image{Component: c.Name, Image: c.Image, ImageID: c.ImageID, Digest: digestOf(c.ImageID), Pods: c.Pods, Ready: c.Ready}
	if usedBy != "" {
		img.UsedBy = []string{usedBy}
	}
	b.r.Mesh.Images = append(b.r.Mesh.Images, img)
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

func digestOf(imageID string) string { return digestRE.FindString(imageID) }

// addSpecList lists as not run every spec of the dry-run list the run lacks.
func (b *builder) addSpecList(list []types.Report, noRun bool) {
	reason := "not run: the spec is in the suite's spec list but not in Ginkgo's report of the run"
	switch {
	case noRun:
		reason = "not run: Ginkgo wrote no report of the run"
	case b.setupFail != "":
		reason = b.setupFail
	case b.notReached != "":
		reason = b.notReached
	}
	listed := 0
	for _, s := range list {
		for _, sr := range s.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			listed++
			t := b.test(sr, false) // a dry run's spec: its entries are not evidence of this run
			if b.seen[t.Name] || b.seen[t.Name+" ["+t.Location+"]"] {
				continue
			}
			t.Result, t.Attempts, t.DurationSeconds, t.Message, t.NotRunReason = TestNotRun, 0, 0, "", reason
			b.add(sr, t)
		}
	}
	if noRun {
		b.r.Suite.SpecsTotal = listed
	}
}

func (b *builder) readEnvironment() {
	r := b.r
	env, err := runinfo.ReadEnvironment(b.reportDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Warnings = append(r.Warnings, fmt.Sprintf("no %s in %s: the run did not record its environment (provisioning failed before it was written?); suite version, cluster and mesh are unknown", runinfo.EnvironmentFile, b.reportDir))
		return
	case err != nil:
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s could not be read (%v); suite version, cluster and mesh are unknown", runinfo.EnvironmentFile, err))
		return
	case env.SchemaVersion != runinfo.SchemaVersion:
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s has schemaVersion %q, this build reads %q; read as far as the fields match", runinfo.EnvironmentFile, env.SchemaVersion, runinfo.SchemaVersion))
	}
	r.Sources.Environment = runinfo.EnvironmentFile
	s := &r.Suite
	s.Version, s.Commit, s.Dirty, s.RunID = env.Suite.Version, env.Suite.Commit, env.Suite.Dirty, env.Suite.RunID
	if s.Started.IsZero() {
		s.Started = env.Suite.Started.UTC()
	}
	if s.LabelFilter == "" {
		s.LabelFilter = env.Suite.LabelFilter
	}
	if env.Suite.Procs > 0 {
		s.Procs = env.Suite.Procs
	}
	s.InCluster = env.Suite.InCluster
	for _, st := range env.Settings {
		s.Settings = append(s.Settings, Setting(st))
	}
	c := env.Cluster
	r.Cluster = Cluster{Mode: c.Mode, Name: c.Name, KubernetesVersion: c.KubernetesVersion, NodeCount: len(c.Nodes), CNI: c.CNI,
		Nodes: slices.Clone(c.Nodes)}
	m := env.Mesh
	waypoints := r.Mesh.Images // from the tests' entries
	r.Mesh = Mesh{Mode: m.Mode, ExpectedVersion: m.ExpectedVersion, Version: m.Version, Namespace: m.Namespace, Revision: m.Revision}
	for _, comp := range m.Components {
		b.addImage(comp, "")
	}
	// A user's own build (COMPONENT_IMAGES, ZTUNNEL_BINARY) is named as such.
	for _, p := range m.ImagePulls {
		for i := range r.Mesh.Images {
			if p.Given != "" && r.Mesh.Images[i].Image == p.Image {
				r.Mesh.Images[i].Given = p.Given
			}
		}
	}
	for _, w := range waypoints {
		for _, by := range w.UsedBy {
			b.addImage(runinfo.Component{Name: w.Component, Image: w.Image, ImageID: w.ImageID, Pods: w.Pods, Ready: w.Ready}, by)
		}
	}
	for _, img := range r.Mesh.Images {
		if img.Digest == "" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("mesh image of %s (%s) has no digest: no pod reported an imageID", img.Component, img.Image))
		}
	}
	r.Warnings = append(r.Warnings, env.Warnings...)
}

func (b *builder) readPerfData() {
	r := b.r
	if b.perfPath == "" {
		r.Warnings = append(r.Warnings, "no perf data: no perf spec recorded any (none ran, or none reached the measurement)")
		return
	}
	d, err := runinfo.ReadPerfData(filepath.Join(b.reportDir, b.perfPath))
	if err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("perf data %s named by %q could not be read: %v", b.perfPath, b.perfBy, err))
		return
	}
	r.Sources.PerfData = b.perfPath
	for _, v := range d.Budgets {
		if !slices.ContainsFunc(b.budgets, func(x Budget) bool { return x.Name == v.Name }) {
			b.budgets = append(b.budgets, budgetOf("", v))
		}
	}
}

// finish groups the tests into profiles and computes every summary.
func (b *builder) finish() {
	r := b.r
	byTest := map[string]string{}
	for _, p := range runinfo.Profiles {
		prof := Profile{Name: p, Tests: []Test{}}
		for _, pt := range b.tests {
			if pt.profile == p {
				prof.Tests = append(prof.Tests, pt.test)
				byTest[pt.test.Name] = p
			}
		}
		r.Profiles = append(r.Profiles, prof)
	}
	for _, pt := range b.tests {
		if pt.profile == "" {
			r.Unprofiled = append(r.Unprofiled, pt.test)
			r.Warnings = append(r.Warnings, fmt.Sprintf("test %q has no profile label or several (labels %v); want exactly one of %v", pt.test.Name, pt.test.Labels, runinfo.Profiles))
		}
	}
	for _, bg := range b.budgets {
		p := byTest[bg.Test]
		if p == "" {
			p = runinfo.ProfilePerf
		}
		prof := r.Profile(p)
		prof.Budgets = append(prof.Budgets, bg)
	}
	listed := len(b.tests)
	if r.Suite.SpecsTotal > listed {
		r.Suite.SpecsUnlisted = r.Suite.SpecsTotal - listed
		r.Warnings = append(r.Warnings, fmt.Sprintf("Ginkgo counted %d specs but listed %d (a failed BeforeSuite lists none): %d specs are unaccounted for, so no profile is success; pass the suite's spec list (ginkgo --dry-run --json-report) to name them", r.Suite.SpecsTotal, listed, r.Suite.SpecsUnlisted))
	}
	Summarize(r)
}

// Summarize recomputes every derived field from the tests: statistics,
// claims and results of the profiles and the report's result. Build calls
// it; Verify compares a file's values with what it computes.
func Summarize(r *Report) {
	for i := range r.Profiles {
		p := &r.Profiles[i]
		p.Statistics = statistics(p.Tests)
		p.Result = profileResult(p.Statistics, r.Suite.SpecsUnlisted)
		p.Claims = claims(p.Tests)
	}
	r.Result = overallResult(r)
}

func statistics(tests []Test) Statistics {
	s := Statistics{Total: len(tests)}
	for _, t := range tests {
		switch {
		case t.Result == TestPassed:
			s.Passed++
		case Failed(t.Result):
			s.Failed++
		case t.Result == TestSkipped:
			s.Skipped++
		default:
			s.NotRun++
		}
	}
	return s
}

func profileResult(s Statistics, unlisted int) string {
	switch {
	case s.Failed > 0:
		return ResultFailure
	case s.Skipped > 0 || s.NotRun > 0 || s.Total == 0 || unlisted > 0:
		return ResultPartial
	}
	return ResultSuccess
}

func overallResult(r *Report) string {
	res := ResultSuccess
	if len(r.Unprofiled) > 0 {
		res = ResultPartial
	}
	for _, t := range r.Unprofiled {
		if Failed(t.Result) {
			return ResultFailure
		}
	}
	if len(r.Suite.NodeFailures) > 0 {
		return ResultFailure
	}
	for _, p := range r.Profiles {
		switch p.Result {
		case ResultFailure:
			return ResultFailure
		case ResultPartial:
			res = ResultPartial
		}
	}
	return res
}

func claims(tests []Test) []Claim {
	byName := map[string][]Test{}
	for _, t := range tests {
		for _, c := range t.Claims {
			byName[c] = append(byName[c], t)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Claim
	for _, n := range names {
		c := Claim{Name: n, Tests: []string{}}
		c.Observed = support(byName[n], EvidenceObserved)
		c.Mesh = support(byName[n], EvidenceMesh)
		for _, t := range byName[n] {
			c.Tests = append(c.Tests, t.Name)
		}
		c.Summary = fmt.Sprintf("%s: observed independently: %s; reported by the mesh: %s", n, c.Observed, c.Mesh)
		out = append(out, c)
	}
	return out
}

// support is how the tests of one evidence kind support a claim. A test
// labelled with both kinds counts for both.
func support(tests []Test, kind string) string {
	n, passed := 0, 0
	for _, t := range tests {
		if t.EvidenceKind != kind && t.EvidenceKind != EvidenceBoth {
			continue
		}
		n++
		if Failed(t.Result) {
			return SupportNo
		}
		if t.Result == TestPassed {
			passed++
		}
	}
	switch {
	case n == 0:
		return SupportNone
	case passed == 0:
		return SupportNotRun
	}
	return SupportYes
}

func result(s types.SpecState) string {
	switch s {
	case types.SpecStatePassed:
		return TestPassed
	case types.SpecStateFailed:
		return TestFailed
	case types.SpecStateTimedout:
		return TestTimedOut
	case types.SpecStatePanicked:
		return TestPanicked
	case types.SpecStateInterrupted:
		return TestInterrupted
	case types.SpecStateAborted:
		return TestAborted
	case types.SpecStateSkipped, types.SpecStatePending:
		return TestSkipped
	}
	return TestNotRun
}

func profileOf(labels []string) string {
	found := ""
	for _, l := range labels {
		if slices.Contains(runinfo.Profiles, l) {
			if found != "" && found != l {
				return ""
			}
			found = l
		}
	}
	return found
}

func evidenceKind(labels []string) string {
	mesh, observed := slices.Contains(labels, runinfo.EvidenceMesh), slices.Contains(labels, runinfo.EvidenceObserved)
	switch {
	case mesh && observed:
		return EvidenceBoth
	case mesh:
		return EvidenceMesh
	case observed:
		return EvidenceObserved
	}
	return EvidenceUnclassified
}

func claimsOf(labels []string) []string {
	var out []string
	for _, l := range labels {
		if c, ok := strings.CutPrefix(l, runinfo.ClaimPrefix); ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// filter is the run's spec selection, to say why a spec did not run.
type filter struct {
	suite       string
	labelFilter string
	focus, skip *regexp.Regexp
	progFocus   bool
}

func newFilter(s types.Report) filter {
	f := filter{suite: s.SuiteDescription, labelFilter: s.SuiteConfig.LabelFilter, progFocus: s.SuiteHasProgrammaticFocus}
	if len(s.SuiteConfig.FocusStrings) > 0 {
		f.focus, _ = regexp.Compile(strings.Join(s.SuiteConfig.FocusStrings, "|"))
	}
	if len(s.SuiteConfig.SkipStrings) > 0 {
		f.skip, _ = regexp.Compile(strings.Join(s.SuiteConfig.SkipStrings, "|"))
	}
	return f
}

func (f filter) whyNotRun(sr types.SpecReport, notReached string) string {
	if f.labelFilter != "" {
		if ok, err := sr.MatchesLabelFilter(f.labelFilter); err == nil && !ok {
			return fmt.Sprintf("not run: excluded by the label filter %q", f.labelFilter)
		}
	}
	text := f.suite + " " + sr.FullText()
	if f.focus != nil && !f.focus.MatchString(text) {
		return "not run: excluded by --focus " + f.focus.String()
	}
	if f.skip != nil && f.skip.MatchString(text) {
		return "not run: excluded by --skip " + f.skip.String()
	}
	if notReached != "" {
		return notReached
	}
	if f.progFocus {
		return "not run: the suite has a programmatic focus (FIt/FDescribe) elsewhere"
	}
	return "not run: Ginkgo recorded no reason (skipped before it started)"
}
