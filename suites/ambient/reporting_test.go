//go:build e2e

package ambient_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ambient-e2e/ambient-e2e/harness/bundle"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/doctor"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
	"github.com/ambient-e2e/ambient-e2e/suites/catalogue"
)

// spec registers the conformance test id of the catalogue
// (suites/catalogue) as a Ginkgo It: its text and labels (ID, profile,
// evidence kind, claim, disruptive) come from the catalogue, never typed
// here. args are It's other decorators and its body. An ID the catalogue
// does not declare stops the tree from being built.
func spec(id string, args ...any) bool {
	t := catalogue.MustLookup(id)
	return It(t.Title, append([]any{Label(t.Labels()...)}, args...)...)
}

// live holds this process's scenarios whose namespaces exist: what a failed
// spec touched (a Ginkgo process runs one spec at a time).
var live struct {
	sync.Mutex
	scenarios []*scenario.Scenario
	since     time.Time
}

func track(s *scenario.Scenario) {
	live.Lock()
	defer live.Unlock()
	if len(live.scenarios) == 0 {
		live.since = time.Now()
	}
	live.scenarios = append(live.scenarios, s)
}

func untrack(s *scenario.Scenario) {
	live.Lock()
	defer live.Unlock()
	live.scenarios = slices.DeleteFunc(live.scenarios, func(x *scenario.Scenario) bool { return x == s })
}

// After every spec: the time it spent in bounded waits, and for a failed
// one a bundle of what there was to see, collected before its namespaces
// are cleaned up (DeferCleanup runs after this).
var _ = JustAfterEach(func(ctx SpecContext) {
	l := wait.Take()
	ws := runinfo.Waits{MetSeconds: l.Met.Seconds(), TimedOutSeconds: l.TimedOut.Seconds(), Count: l.Count}
	for _, b := range l.Bounds {
		ws.Bounds = append(ws.Bounds, runinfo.WaitBound{What: b.What, Seconds: b.Took.Seconds()})
	}
	AddReportEntry(runinfo.EntryWaits, ws, ReportEntryVisibilityNever)
	probe := probelog.Take()
	sr := CurrentSpecReport()
	if env == nil || !sr.Failed() {
		return
	}
	live.Lock()
	var namespaces []string
	for _, s := range live.scenarios {
		namespaces = append(namespaces, s.Namespace)
	}
	since := live.since
	live.Unlock()
	if since.IsZero() || sr.StartTime.Before(since) {
		since = sr.StartTime
	}
	reportDir := setup.ReportDir(env.Config)
	root := filepath.Join(reportDir, "bundles")
	dir := bundle.Dir(root, sr.FullText())
	istioctl := env.Shared.Istioctl
	if istioctl == "" {
		istioctl = env.Config.Istioctl
	}
	extra := map[string]func(context.Context) ([]byte, error){}
	for _, ns := range namespaces {
		extra["doctor-"+ns+".txt"] = func(ctx context.Context) ([]byte, error) {
			opts := doctor.Options{Namespace: ns, MeshNamespace: env.Shared.Mesh.Namespace, TrustDomain: env.Config.TrustDomain, CallTimeout: 10 * time.Second}
			s, err := doctor.Gather(ctx, env.Kube, opts)
			r := doctor.Judge(s)
			if err != nil {
				r = doctor.GatherFailed(opts, err)
			}
			var b strings.Builder
			_ = r.Render(&b)
			return []byte(b.String()), nil
		}
	}
	sum := bundle.Collect(context.WithoutCancel(ctx), env.Kube, dir, bundle.Scope{
		Spec: sr.FullText(), Namespaces: namespaces, Since: since, MeshNamespace: env.Shared.Mesh.Namespace,
		Istioctl: istioctl, Probe: probe, Extra: extra,
	}, int64(env.Config.BundleMaxBytes), time.Minute)
	rel, err := filepath.Rel(reportDir, sum.Dir)
	if err != nil {
		rel = sum.Dir
	}
	AddReportEntry(runinfo.EntryBundle, rel, ReportEntryVisibilityFailureOrVerbose)
})

// The suite writes its own JUnit and JSON reports, so a failed spec's
// failure message names its bundle (Ginkgo's CLI reports cannot be amended).
var _ = ReportAfterSuite("JUnit and JSON reports with the failure bundles", func(r Report) {
	if r.SuiteConfig.DryRun {
		return
	}
	cfg, err := config.FromEnv()
	if err != nil {
		GinkgoWriter.Printf("cannot write the reports: %v\n", err)
		return
	}
	dir := setup.ReportDir(cfg)
	for i := range r.SpecReports {
		sr := &r.SpecReports[i]
		for _, e := range sr.ReportEntries {
			if e.Name == runinfo.EntryBundle && sr.State.Is(types.SpecStateFailureStates) {
				sr.Failure.Message += "\nfailure bundle: " + filepath.Join(dir, strings.Trim(e.StringRepresentation(), `"`))
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		GinkgoWriter.Printf("cannot write the reports: %v\n", err)
		return
	}
	if err := reporters.GenerateJSONReport(r, filepath.Join(dir, "report.json")); err != nil {
		GinkgoWriter.Printf("report.json: %v\n", err)
	}
	if err := reporters.GenerateJUnitReport(r, filepath.Join(dir, "junit.xml")); err != nil {
		GinkgoWriter.Printf("junit.xml: %v\n", err)
	}
})
