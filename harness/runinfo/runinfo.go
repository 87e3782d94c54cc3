// Package runinfo is what a suite run records about itself for the reports
// built after it: the environment (suite, cluster, mesh) written once to
// REPORT_DIR/environment.json, the names and JSON shapes of the Ginkgo
// report entries the report layer reads, the labels that classify specs,
// and the per-trial latency data of the perf specs. It holds types and
// names only, so the suite (writer) and reports/ (reader) agree on them.
package runinfo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// EnvironmentFile is the name of the environment record in REPORT_DIR.
const EnvironmentFile = "environment.json"

// SchemaVersion versions Environment and PerfData.
const SchemaVersion = "ambient-e2e.io/runinfo/v1"

// Environment is everything a run knows about where it ran.
type Environment struct {
	SchemaVersion string    `json:"schemaVersion"`
	Suite         Suite     `json:"suite"`
	Cluster       Cluster   `json:"cluster"`
	Mesh          Mesh      `json:"mesh"`
	Settings      []Setting `json:"settings,omitempty"` // the settings that change a verdict
	Warnings      []string  `json:"warnings,omitempty"`
}

// Suite identifies the suite build and the run.
type Suite struct {
	Version     string    `json:"version"`          // module version or `git describe`
	Commit      string    `json:"commit,omitempty"` // full commit hash, "" when unknown
	Dirty       bool      `json:"dirty,omitempty"`  // the work tree had uncommitted changes
	RunID       string    `json:"runID"`
	Started     time.Time `json:"started"`
	LabelFilter string    `json:"labelFilter,omitempty"`
	Procs       int       `json:"procs,omitempty"`
	InCluster   bool      `json:"inCluster,omitempty"` // run by the in-cluster runner (a Job)
}

// IDOf returns the catalogue ID a spec's id: label carries ("" for none).
func IDOf(labels []string) string {
	for _, l := range labels {
		if id, ok := strings.CutPrefix(l, IDPrefix); ok {
			return id
		}
	}
	return ""
}

// LeftOut says Ginkgo never started the spec and gave no reason: a label
// filter, focus or skip left it out (Ginkgo still lists it, as skipped).
func LeftOut(sr types.SpecReport) bool {
	return sr.State == types.SpecStateSkipped && sr.NumAttempts == 0 && sr.Failure.Message == ""
}

// InClusterEnv is set to "1" in the in-cluster runner's Job.
const InClusterEnv = "AMBIENT_E2E_IN_CLUSTER"

// InClusterRunnerSettings are the settings the in-cluster runner sets for
// the suite inside (its API server, directories, run ID, the probe image it
// loaded); everything else reaches the Job as the caller had it.
var InClusterRunnerSettings = []string{"CLUSTER_MODE", "KUBECONFIG", "KUBE_CONTEXT", "REPORT_DIR", "WORK_DIR", "CACHE_DIR", "RUN_ID", "PROBE_IMAGE"}

// Cluster describes the Kubernetes cluster.
type Cluster struct {
	Mode              string `json:"mode"` // kind | existing
	Name              string `json:"name,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion"`
	Nodes             []Node `json:"nodes"`
	CNI               string `json:"cni,omitempty"` // "" when not detectable
}

// Node is one node's platform, from its status.nodeInfo. The conformance
// report publishes it as it is (conformance.Node is this type).
type Node struct {
	// Name is the node's name.
	Name string `json:"name"`
	// OSImage is the node's OS, e.g. Debian GNU/Linux 13 (trixie).
	OSImage string `json:"osImage"`
	// KernelVersion is the node's kernel.
	KernelVersion string `json:"kernelVersion"`
	// ContainerRuntime is the runtime and its version, e.g. containerd://2.1.4.
	ContainerRuntime string `json:"containerRuntime"`
	// KubeletVersion is the kubelet's version.
	KubeletVersion string `json:"kubeletVersion"`
}

// Mesh describes the Istio installation the run judged.
type Mesh struct {
	Mode            string      `json:"mode"`                      // install | preinstalled
	ExpectedVersion string      `json:"expectedVersion,omitempty"` // ISTIO_VERSION as resolved
	Version         string      `json:"version,omitempty"`         // read from the cluster (istiod's image), "" if none
	Namespace       string      `json:"namespace"`
	Revision        string      `json:"revision,omitempty"`
	Components      []Component `json:"components,omitempty"`
	ImagePulls      []ImagePull `json:"imagePulls,omitempty"`
}

// Component is one mesh component and the image it runs. ImageID is the
// digest the kubelet reports in the pod status (e.g.
// "docker.io/istio/pilot@sha256:…"); "" when no pod of it ran.
type Component struct {
	Name    string `json:"name"` // istiod | ztunnel | istio-cni-node | waypoint <ns>/<name>
	Image   string `json:"image"`
	ImageID string `json:"imageID,omitempty"`
	Pods    int    `json:"pods"`
	Ready   int    `json:"ready"`
}

// ImagePull is one image pulled for the mesh before the specs ran, timed
// apart from readiness.
type ImagePull struct {
	Image   string  `json:"image"`
	Seconds float64 `json:"seconds"`
	Outcome string  `json:"outcome"` // pulled | present | given | failed: <why>
	// Given says where a user's own build came from (COMPONENT_IMAGES,
	// ZTUNNEL_BINARY) and ImageID is that image's ID; empty for a release's image.
	Given   string `json:"given,omitempty"`
	ImageID string `json:"imageID,omitempty"`
}

// Setting is one setting of the run and where its value came from.
type Setting struct {
	Name   string `json:"name"` // the variable, e.g. POLICY_TIMEOUT
	Value  string `json:"value"`
	Source string `json:"source"` // default | file <path> | env
}

// WriteEnvironment writes e to dir/EnvironmentFile.
func WriteEnvironment(dir string, e Environment) error {
	e.SchemaVersion = SchemaVersion
	return writeJSON(filepath.Join(dir, EnvironmentFile), e)
}

// ReadEnvironment reads dir/EnvironmentFile.
func ReadEnvironment(dir string) (Environment, error) {
	var e Environment
	err := readJSON(filepath.Join(dir, EnvironmentFile), &e)
	return e, err
}

// Report entry names (Ginkgo AddReportEntry) the report layer reads. Any
// other entry is kept as evidence under its own name.
const (
	// EntryBundle: string, the failure bundle's directory relative to REPORT_DIR.
	EntryBundle = "failure bundle"
	// EntryRetries: Retries, a check that passed only after several tries.
	EntryRetries = "retries"
	// EntryBudget: BudgetResult, one measured budget next to the budget applied.
	EntryBudget = "budget"
	// EntryPerfData: string, the PerfData file relative to REPORT_DIR.
	EntryPerfData = "perf data"
	// EntryWaypointImage: Component, the image of a waypoint the spec used.
	EntryWaypointImage = "waypoint image"
	// EntryWaits: Waits, the time a spec spent in bounded waits.
	EntryWaits = "waits"
)

// Retries is the value of an EntryRetries entry: "passed after N tries".
type Retries struct {
	What    string  `json:"what"`
	Tries   int     `json:"tries"`
	Seconds float64 `json:"seconds"`
}

func (r Retries) String() string {
	return fmt.Sprintf("%s: passed after %d tries (%.1fs)", r.What, r.Tries, r.Seconds)
}

// Waits is the value of an EntryWaits entry: how long the spec waited in
// bounded waits, split by whether the wait ended because the awaited state
// came (Met) or because its bound ran out (TimedOut). On a cluster with no
// mesh the mesh waits run to their bounds; the rest of a spec's time is the
// suite's own work (namespaces, fixtures, controls).
type Waits struct {
	MetSeconds      float64 `json:"metSeconds"`
	TimedOutSeconds float64 `json:"timedOutSeconds"`
	Count           int     `json:"count"`
	// Bounds: the waits that ran to their bound, what each awaited.
	Bounds []WaitBound `json:"bounds,omitempty"`
}

// WaitBound is one wait that ran to its bound.
type WaitBound struct {
	What    string  `json:"what"`
	Seconds float64 `json:"seconds"`
}

// Budget verdicts.
const (
	BudgetHolds       = "holds"            // the interval's upper bound is within the budget
	BudgetExceeded    = "exceeded"         // the upper bound is beyond it
	BudgetCannotJudge = "cannot be judged" // the noise floor is wider than the budget: not a pass
)

// BudgetResult is the value of an EntryBudget entry. Latencies are in
// milliseconds, CPU in cores (vCPU) per 1000 requests per second, memory in
// MiB.
type BudgetResult struct {
	Name       string  `json:"name"`                 // the budget's key, e.g. "l4.http.p99"
	Quantity   string  `json:"quantity"`             // "added latency" | "cpu per 1000 rps" | "memory"
	Mode       string  `json:"mode"`                 // L4 | waypoint (the arm judged against none)
	Percentile string  `json:"percentile,omitempty"` // p50 | p90 | p99 (latency only)
	Unit       string  `json:"unit"`                 // ms | vCPU | MiB
	Estimate   float64 `json:"estimate"`
	Low        float64 `json:"low"` // the 95% interval; equal to Estimate for resources
	High       float64 `json:"high"`
	Budget     float64 `json:"budget"`
	NoiseFloor float64 `json:"noiseFloor,omitempty"` // half-width of the A/A interval
	Verdict    string  `json:"verdict"`              // BudgetHolds | BudgetExceeded | BudgetCannotJudge
	Profile    string  `json:"profile"`              // the budgets profile, e.g. "seed" or "istio"
	Method     string  `json:"method"`               // how the interval was computed
}

// Spec labels the report layer classifies by.
const (
	// Profiles: every spec carries exactly one of them.
	ProfileInstall = "install"
	ProfileEnroll  = "enroll"
	ProfileL4      = "l4"
	ProfileL7      = "l7"
	ProfilePerf    = "perf"
	// EvidenceMesh marks a spec whose verdict rests on what the mesh says
	// about itself: ztunnel logs and metrics, status conditions, annotations.
	EvidenceMesh = "evidence:mesh"
	// EvidenceObserved marks a spec whose verdict rests on what the suite
	// observed independently: packets on the wire, what a client received,
	// pod UIDs, the kubelet's measurements.
	EvidenceObserved = "evidence:observed"
	// ClaimPrefix starts a label naming the claim a spec supports, e.g.
	// "claim:mtls" on both the wire spec and the ztunnel-log specs, so a
	// profile's summary can say per claim how it was shown.
	ClaimPrefix = "claim:"
	// IDPrefix starts the label carrying a spec's stable ID from the
	// catalogue (suites/catalogue), e.g. "id:L4-WIRE-NO-PLAINTEXT".
	IDPrefix = "id:"
	// LabelDisruptive marks a spec that disturbs traffic beyond its own.
	LabelDisruptive = "disruptive"
)

// Profiles lists the profiles in report order.
var Profiles = []string{ProfileInstall, ProfileEnroll, ProfileL4, ProfileL7, ProfilePerf}

// PerfData is the raw material of the perf specs: every trial, the
// estimated shifts and the budgets judged, in REPORT_DIR (EntryPerfData).
// Times are in milliseconds.
type PerfData struct {
	SchemaVersion string         `json:"schemaVersion"`
	Load          LoadShape      `json:"load"`
	Arms          []string       `json:"arms"` // e.g. none, none (A/A), L4, waypoint
	Trials        []Trial        `json:"trials"`
	Shifts        []Shift        `json:"shifts"`
	Budgets       []BudgetResult `json:"budgets,omitempty"`
	Method        string         `json:"method"`
}

// LoadShape is the load every trial ran.
type LoadShape struct {
	Preset        string  `json:"preset"`
	QPS           float64 `json:"qps"`
	Connections   int     `json:"connections"`
	PayloadBytes  int     `json:"payloadBytes"`
	TrialSeconds  float64 `json:"trialSeconds"`
	WarmupSeconds float64 `json:"warmupSeconds"`
	Rounds        int     `json:"rounds"`
	ResolutionMs  float64 `json:"resolutionMs"`
}

// Trial is one measured run of one arm in one round.
type Trial struct {
	Round       int                `json:"round"`
	Position    int                `json:"position"` // order within the round
	Arm         string             `json:"arm"`
	Kind        string             `json:"kind"` // http | tcp-rr | tcp-crr
	Started     time.Time          `json:"started"`
	Count       int64              `json:"count"`
	Errors      int64              `json:"errors"`
	Percentiles map[string]float64 `json:"percentiles"` // "p50" → ms
	// BucketMs is the width of the histogram's buckets when they are
	// uniform (the probe's own histogram of every call); 0 when they are
	// fortio's, which widen with the latency.
	BucketMs  float64  `json:"bucketMs,omitempty"`
	Histogram []Bucket `json:"histogram"`
	Resources []Usage  `json:"resources,omitempty"`
	// Applied is, in a calibration, the delays the server applied to
	// this trial's replies (ms, the server's 1 µs buckets): what the true
	// shift of each percentile is derived from (perf.AppliedShift).
	Applied []Bucket `json:"applied,omitempty"`
}

// Bucket is one histogram bucket, [Start, End) in ms.
type Bucket struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Count int64   `json:"count"`
}

// Usage is one container's CPU and memory during a trial.
type Usage struct {
	Pod       string  `json:"pod"` // namespace/name
	Container string  `json:"container"`
	Node      string  `json:"node"`
	CPUCores  float64 `json:"cpuCores"`  // average over the trial
	MemoryMiB float64 `json:"memoryMiB"` // working set at the end of the trial
}

// Shift is the estimated added latency of an arm over the baseline at one
// percentile, with its 95% interval.
type Shift struct {
	Kind       string  `json:"kind"`
	Arm        string  `json:"arm"`
	Baseline   string  `json:"baseline"`
	Percentile string  `json:"percentile"`
	Estimate   float64 `json:"estimate"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Rounds     int     `json:"rounds"`
}

// WritePerfData writes d to path.
func WritePerfData(path string, d PerfData) error {
	d.SchemaVersion = SchemaVersion
	return writeJSON(path, d)
}

// ReadPerfData reads what WritePerfData wrote.
func ReadPerfData(path string) (PerfData, error) {
	var d PerfData
	err := readJSON(path, &d)
	return d, err
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

var (
	podNameRE   = regexp.MustCompile(`\b([a-z0-9]+(?:-[a-z0-9]+)*?)-[0-9a-f]{8,10}-[a-z0-9]{5}\b`)
	suffixedRE  = regexp.MustCompile(`\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*?)-[0-9a-f]{5}\b`)
	ipRE        = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	nodeIndexRE = regexp.MustCompile(`\b(worker)\d+\b`)
)

// WaitKind is what a wait awaited with the run's names taken out (the
// suffixes of namespaces and pods, IP addresses, node numbers), so the
// same wait in different specs and runs sums up: "Deployments in
// extauthz-73fc4 to be ready" → "Deployments in extauthz-… to be ready".
func WaitKind(what string) string {
	what = podNameRE.ReplaceAllString(what, "$1-…")
	what = suffixedRE.ReplaceAllString(what, "$1-…")
	what = ipRE.ReplaceAllString(what, "<ip>")
	return nodeIndexRE.ReplaceAllString(what, "$1")
}
