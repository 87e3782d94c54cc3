// Package conformance is the conformance report of one ambient-e2e run:
// its Go types (the schema, conformance-report.schema.json, is generated
// from them), Build from Ginkgo's JSON report and the run's runinfo files,
// Load and Marshal in YAML or JSON, and Verify, which checks a report file
// against the schema, recomputes its statistics and results from its tests
// and checks its digest.
package conformance

import (
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Report identity: every report carries these; Load refuses others.
const (
	APIVersion = "ambient-e2e.io/v1alpha1"
	Kind       = "ConformanceReport"
	SuiteName  = "ambient-e2e"
)

// Report modes.
const (
	ModeDefault = "default" // a developer's or CI's run: the implementation block may be empty
	ModeVendor  = "vendor"  // a submission: every implementation field is required, no placeholders
)

// Profile and report results (Gateway API's values).
const (
	ResultSuccess = "success" // every test passed
	ResultPartial = "partial" // nothing failed, but a test was skipped or not run (or the profile has none)
	ResultFailure = "failure" // a test failed, timed out, panicked or was interrupted, or a suite node failed
)

// Test results.
const (
	TestPassed      = "passed"
	TestFailed      = "failed"
	TestTimedOut    = "timedout"
	TestPanicked    = "panicked"
	TestInterrupted = "interrupted"
	TestAborted     = "aborted"
	TestSkipped     = "skipped" // the spec ran and skipped itself (Skip, with its reason), or is pending
	TestNotRun      = "notRun"  // the spec never started: label filter, focus, interrupt, fail-fast, a failed BeforeSuite
)

// Evidence kinds of a test, from its evidence:* labels.
const (
	EvidenceObserved     = "observed"     // observed independently: packets, what a client received, pod UIDs
	EvidenceMesh         = "mesh"         // self-reported by the mesh: ztunnel logs/metrics, status, annotations
	EvidenceBoth         = "both"         // the spec carries both labels
	EvidenceUnclassified = "unclassified" // the spec carries neither label
)

// Claim support values in a profile's claims summary.
const (
	SupportYes    = "yes"     // at least one test of this kind passed and none failed
	SupportNo     = "no"      // a test of this kind failed
	SupportNotRun = "not run" // tests of this kind exist but none passed or failed
	SupportNone   = "no test" // no test of this kind supports the claim
)

// Report is a conformance report: what ran, where, and what it showed.
type Report struct {
	// APIVersion is the schema version, ambient-e2e.io/v1alpha1.
	APIVersion string `json:"apiVersion" jsonschema:"enum=ambient-e2e.io/v1alpha1"`
	// Kind is always ConformanceReport.
	Kind string `json:"kind" jsonschema:"enum=ConformanceReport"`
	// Implementation is who submits the report and what they tested.
	Implementation Implementation `json:"implementation"`
	// Date is when the report was built.
	Date time.Time `json:"date"`
	// Mode is default or vendor (a submission: the implementation block is complete).
	Mode string `json:"mode" jsonschema:"enum=default,enum=vendor"`
	// Result is the run as a whole: failure if a profile failed or a suite node
	// (e.g. BeforeSuite) failed, partial if a profile is partial, else success.
	Result string `json:"result" jsonschema:"enum=success,enum=partial,enum=failure"`
	// Suite is the suite build and the run.
	Suite Suite `json:"suite"`
	// Cluster is the Kubernetes cluster; empty when the environment was not recorded.
	Cluster Cluster `json:"cluster"`
	// Mesh is the Istio installation judged; empty when the environment was not recorded.
	Mesh Mesh `json:"mesh"`
	// Sources names the files the report was built from and what was missing.
	Sources Sources `json:"sources"`
	// Profiles are install, enroll, l4, l7 and perf, in that order.
	Profiles []Profile `json:"profiles"`
	// Unprofiled are tests with no profile label or several; they count
	// toward Result (a failed one fails the report, any makes it partial).
	Unprofiled []Test `json:"unprofiled,omitempty"`
	// Warnings are things a reader must know: a missing environment, specs
	// Ginkgo did not list, warnings the run recorded.
	Warnings []string `json:"warnings,omitempty"`
	// Digest is "sha256:" and the hex SHA-256 of the report's canonical JSON
	// with this field empty. It is last, so a truncated file lacks it.
	Digest string `json:"digest" jsonschema:"pattern=^sha256:[0-9a-f]{64}$"`
}

// Implementation identifies the implementation under test and its submitter
// (Gateway API's implementation block).
type Implementation struct {
	// Organization is the submitting organization.
	Organization string `json:"organization"`
	// Project is the product or distribution tested.
	Project string `json:"project"`
	// URL is the project's home page.
	URL string `json:"url"`
	// Version is the version of the project tested.
	Version string `json:"version"`
	// Contact lists people or teams to ask about the report (handles or addresses).
	Contact []string `json:"contact"`
}

// Suite is the suite build and the run it made.
type Suite struct {
	// Name is always ambient-e2e; reports of other suites are not compared.
	Name string `json:"name" jsonschema:"enum=ambient-e2e"`
	// Version is the suite's module version or git describe; "" when not recorded.
	Version string `json:"version"`
	// Commit is the suite's commit; "" when unknown.
	Commit string `json:"commit,omitempty"`
	// Dirty says the suite's work tree had uncommitted changes.
	Dirty bool `json:"dirty,omitempty"`
	// RunID is the value of the ambient-e2e.io/run label of the run.
	RunID string `json:"runID,omitempty"`
	// Started and Finished are Ginkgo's start and end of the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// LabelFilter is the Ginkgo label filter of the run; "" ran every label.
	LabelFilter string `json:"labelFilter,omitempty"`
	// Focus and Skip are Ginkgo's --focus and --skip expressions.
	Focus []string `json:"focus,omitempty"`
	Skip  []string `json:"skip,omitempty"`
	// Procs is the number of parallel Ginkgo processes.
	Procs int `json:"procs,omitempty"`
	// InCluster says the suite ran inside the cluster, as a Job (ambient-e2e run --in-cluster).
	InCluster bool `json:"inCluster,omitempty"`
	// Interrupted says the run was cut short (a signal or the suite timeout).
	Interrupted bool `json:"interrupted"`
	// InterruptReason is Ginkgo's reason, e.g. "Suite Timeout Elapsed".
	InterruptReason string `json:"interruptReason,omitempty"`
	// SpecsTotal is the number of specs Ginkgo counted in the suite.
	SpecsTotal int `json:"specsTotal"`
	// SpecsUnlisted counts specs that Ginkgo counted but did not list (a failed
	// BeforeSuite lists none) and no spec list named; no profile is success then.
	SpecsUnlisted int `json:"specsUnlisted,omitempty"`
	// NodeFailures are failed suite-level nodes (BeforeSuite, AfterSuite, reporting nodes).
	NodeFailures []NodeFailure `json:"nodeFailures,omitempty"`
	// Entries are the report entries of suite-level nodes (run ID, versions, warnings).
	Entries []Evidence `json:"entries,omitempty"`
	// Settings are the settings that change a verdict, with where each came from.
	Settings []Setting `json:"settings,omitempty"`
}

// NodeFailure is a suite-level Ginkgo node that did not pass.
type NodeFailure struct {
	// Node is the Ginkgo node type, e.g. SynchronizedBeforeSuite.
	Node string `json:"node"`
	// State is Ginkgo's state of the node, e.g. failed.
	State string `json:"state"`
	// Message is the failure message.
	Message string `json:"message"`
	// Location is file:line of the failure.
	Location string `json:"location,omitempty"`
}

// Setting is one verdict-changing setting and where its value came from.
type Setting struct {
	// Name is the variable, e.g. POLICY_TIMEOUT.
	Name string `json:"name"`
	// Value is the effective value.
	Value string `json:"value"`
	// Source is default, env or "file <path>".
	Source string `json:"source"`
}

// Cluster is the Kubernetes cluster the run used: the report's shape of
// runinfo.Cluster (with NodeCount; Node is runinfo's own type).
type Cluster struct {
	// Mode is kind or existing.
	Mode string `json:"mode,omitempty"`
	// Name is the kind cluster's name or the kubeconfig context.
	Name string `json:"name,omitempty"`
	// KubernetesVersion is the API server's version.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// NodeCount is the number of nodes.
	NodeCount int `json:"nodeCount"`
	// Nodes are the nodes' platforms.
	Nodes []Node `json:"nodes,omitempty"`
	// CNI is the cluster's CNI when detectable.
	CNI string `json:"cni,omitempty"`
}

// Node is one node's platform (defined once, in harness/runinfo).
type Node = runinfo.Node

// Mesh is the Istio installation the run judged.
type Mesh struct {
	// Mode is install (the run installed it) or preinstalled.
	Mode string `json:"mode,omitempty"`
	// ExpectedVersion is ISTIO_VERSION as resolved.
	ExpectedVersion string `json:"expectedVersion,omitempty"`
	// Version is read from the cluster (istiod's image); "" when none ran.
	Version string `json:"version,omitempty"`
	// Namespace is the mesh's namespace.
	Namespace string `json:"namespace,omitempty"`
	// Revision is the Istio revision, if any.
	Revision string `json:"revision,omitempty"`
	// Images are istiod, ztunnel, istio-cni and every waypoint the run used.
	Images []Image `json:"images,omitempty"`
}

// Image is the image one mesh component ran.
type Image struct {
	// Component is istiod, ztunnel, istio-cni-node or "waypoint <ns>/<name>".
	Component string `json:"component"`
	// Image is the image reference in the pod spec.
	Image string `json:"image"`
	// ImageID is what the kubelet reports in the pod status.
	ImageID string `json:"imageID,omitempty"`
	// Digest is the sha256 digest from ImageID; "" when no pod reported one.
	Digest string `json:"digest,omitempty"`
	// Pods and Ready count the component's pods.
	Pods  int `json:"pods"`
	Ready int `json:"ready"`
	// UsedBy names the tests that reported this image (waypoints).
	UsedBy []string `json:"usedBy,omitempty"`
	// Given says where a user's own build of this component came from
	// (COMPONENT_IMAGES or ZTUNNEL_BINARY), loaded instead of the release's
	// image; "" for a release's image.
	Given string `json:"given,omitempty"`
}

// Sources names the inputs of the report.
type Sources struct {
	// GinkgoReport is the Ginkgo JSON report read (base name).
	GinkgoReport string `json:"ginkgoReport"`
	// SpecList is the dry-run spec list read, "" when none was given.
	SpecList string `json:"specList,omitempty"`
	// Environment is the environment file read, "" when it was missing.
	Environment string `json:"environment,omitempty"`
	// PerfData is the perf data file (relative to the report directory), "" when none.
	PerfData string `json:"perfData,omitempty"`
}

// Profile is one conformance profile (a spec label).
type Profile struct {
	// Name is install, enroll, l4, l7 or perf.
	Name string `json:"name" jsonschema:"enum=install,enum=enroll,enum=l4,enum=l7,enum=perf"`
	// Result is failure if any test failed, partial if any was skipped or not
	// run (or there are none), else success.
	Result string `json:"result" jsonschema:"enum=success,enum=partial,enum=failure"`
	// Statistics count the tests by outcome.
	Statistics Statistics `json:"statistics"`
	// Claims says per claim whether it was observed independently or only
	// reported by the mesh.
	Claims []Claim `json:"claims,omitempty"`
	// Budgets are the measured budgets next to the budgets applied.
	Budgets []Budget `json:"budgets,omitempty"`
	// Tests are every spec of the profile, run or not.
	Tests []Test `json:"tests"`
}

// Statistics count a profile's tests. Failed counts every failure state
// (failed, timed out, panicked, interrupted, aborted).
type Statistics struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	NotRun  int `json:"notRun"`
}

// Test is one spec and what Ginkgo recorded about it.
type Test struct {
	// ID is the test's stable ID from the suite's catalogue (its id: label),
	// e.g. L4-WIRE-NO-PLAINTEXT: report diff and matrix match tests by it,
	// so a reworded test stays the same test. Absent in reports from before
	// the catalogue, which are matched by name.
	ID string `json:"id,omitempty"`
	// Name is the spec's full text: containers and leaf, space-joined.
	Name string `json:"name"`
	// Location is file:line of the spec, relative to the suite's directory.
	Location string `json:"location,omitempty"`
	// Labels are the spec's labels, containers' included.
	Labels []string `json:"labels,omitempty"`
	// Result is passed, failed, timedout, panicked, interrupted, aborted, skipped or notRun.
	Result string `json:"result" jsonschema:"enum=passed,enum=failed,enum=timedout,enum=panicked,enum=interrupted,enum=aborted,enum=skipped,enum=notRun"`
	// DurationSeconds is Ginkgo's run time of the spec.
	DurationSeconds float64 `json:"durationSeconds"`
	// Attempts is Ginkgo's number of attempts (0 for a spec that never started).
	Attempts int `json:"attempts"`
	// Message is the failure message, or the skip's reason.
	Message string `json:"message,omitempty"`
	// NotRunReason says why a notRun test did not run.
	NotRunReason string `json:"notRunReason,omitempty"`
	// FailureLocation is file:line where the spec failed.
	FailureLocation string `json:"failureLocation,omitempty"`
	// Bundle is the failure bundle's directory relative to the report directory.
	Bundle string `json:"bundle,omitempty"`
	// EvidenceKind is observed, mesh, both or unclassified.
	EvidenceKind string `json:"evidenceKind" jsonschema:"enum=observed,enum=mesh,enum=both,enum=unclassified"`
	// Claims are the claims (claim:<slug> labels) the spec supports.
	Claims []string `json:"claims,omitempty"`
	// Retries are checks that passed only after several tries.
	Retries []Retry `json:"retries,omitempty"`
	// Waits is the time spent in bounded waits.
	Waits *Waits `json:"waits,omitempty"`
	// Evidence are the spec's other report entries, as name and value.
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Retry is a check that passed after several tries.
type Retry struct {
	What    string  `json:"what"`
	Tries   int     `json:"tries"`
	Seconds float64 `json:"seconds"`
}

// Waits is the time a spec spent in bounded waits.
type Waits struct {
	MetSeconds      float64 `json:"metSeconds"`
	TimedOutSeconds float64 `json:"timedOutSeconds"`
	Count           int     `json:"count"`
}

// Evidence is one Ginkgo report entry.
type Evidence struct {
	// Name is the entry's name.
	Name string `json:"name"`
	// Value is Ginkgo's string representation of the value.
	Value string `json:"value"`
	// Data is the value as JSON, when it is not a plain string.
	Data any `json:"data,omitempty"`
}

// Claim summarises how a profile showed one claim.
type Claim struct {
	// Name is the claim's slug (claim:<slug>).
	Name string `json:"name"`
	// Observed is the support by independently observed tests: yes, no, not run or no test.
	Observed string `json:"observed" jsonschema:"enum=yes,enum=no,enum=not run,enum=no test"`
	// Mesh is the support by tests resting on what the mesh reports about itself.
	Mesh string `json:"mesh" jsonschema:"enum=yes,enum=no,enum=not run,enum=no test"`
	// Tests names the tests that carry the claim.
	Tests []string `json:"tests"`
	// Summary is the sentence a reader sees, e.g.
	// "mtls: observed independently: yes; reported by the mesh: yes".
	Summary string `json:"summary"`
}

// Budget is a measured value next to the budget applied.
type Budget struct {
	// Test is the test that judged it ("" when taken from the perf data only).
	Test       string  `json:"test,omitempty"`
	Name       string  `json:"name"`
	Quantity   string  `json:"quantity"`
	Mode       string  `json:"mode"`
	Percentile string  `json:"percentile,omitempty"`
	Unit       string  `json:"unit"`
	Estimate   float64 `json:"estimate"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Budget     float64 `json:"budget"`
	NoiseFloor float64 `json:"noiseFloor,omitempty"`
	Verdict    string  `json:"verdict" jsonschema:"enum=holds,enum=exceeded,enum=cannot be judged"`
	Profile    string  `json:"profile"`
	Method     string  `json:"method"`
}

// Tests returns every test of the report, profile by profile.
func (r *Report) Tests() []Test {
	var out []Test
	for _, p := range r.Profiles {
		out = append(out, p.Tests...)
	}
	return out
}

// Profile returns the named profile, or nil.
func (r *Report) Profile(name string) *Profile {
	for i := range r.Profiles {
		if r.Profiles[i].Name == name {
			return &r.Profiles[i]
		}
	}
	return nil
}

// Failed says whether a test result is a failure state.
func Failed(result string) bool {
	switch result {
	case TestFailed, TestTimedOut, TestPanicked, TestInterrupted, TestAborted:
		return true
	}
	return false
}
