// Package versions holds the table of Istio versions the ambient e2e suite
// supports: for each Istio minor, the pinned patch release, the supported
// Kubernetes range, the Gateway API version, the istio.io/api module carrying
// the release's CRDs, and feature gates that differ between releases.
//
// The data lives in versions.yaml (embedded); this package only parses and
// validates it and answers questions about it.
package versions

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed versions.yaml
var tableYAML []byte

// Feature gate names accepted by Release.Feature. Every row of versions.yaml
// must set each of them.
const (
	// FeatureTCPConnectionsFailedMetric: ztunnel exports
	// istio_tcp_connections_failed_total (Istio 1.29+).
	FeatureTCPConnectionsFailedMetric = "tcpConnectionsFailedMetric"
	// FeatureDNSCaptureDefault: istio-cni ambient.dnsCapture defaults to true
	// (Istio 1.25+).
	FeatureDNSCaptureDefault = "dnsCaptureDefault"
	// FeatureReconcileIptablesOnStartup: istio-cni
	// ambient.reconcileIptablesOnStartup defaults to true (Istio 1.29+).
	FeatureReconcileIptablesOnStartup = "reconcileIptablesOnStartup"
	// FeatureWaypointTimeoutFlag: `istioctl waypoint apply --waypoint-timeout`
	// exists (Istio 1.28+).
	FeatureWaypointTimeoutFlag = "waypointTimeoutFlag"
	// FeatureGatewayClassTargetRef: policies may use a targetRef to the
	// istio-waypoint GatewayClass (Istio 1.25+).
	FeatureGatewayClassTargetRef = "gatewayClassTargetRef"
)

// knownFeatures lists every feature gate name, sorted.
var knownFeatures = []string{
	FeatureDNSCaptureDefault,
	FeatureGatewayClassTargetRef,
	FeatureReconcileIptablesOnStartup,
	FeatureTCPConnectionsFailedMetric,
	FeatureWaypointTimeoutFlag,
}

// KnownFeatures returns the names of all feature gates, sorted.
func KnownFeatures() []string {
	return append([]string(nil), knownFeatures...)
}

// KubernetesRange is an inclusive range of Kubernetes minors such as
// {Min: "1.32", Max: "1.36"}.
type KubernetesRange struct {
	// Min is the oldest supported Kubernetes minor, "1.32".
	Min string `json:"min"`
	// Max is the newest supported Kubernetes minor, "1.36".
	Max string `json:"max"`
}

// Release describes one Istio version the suite can install. It is a row of
// versions.yaml, possibly with Istio replaced by a requested patch (see
// Table.Lookup).
type Release struct {
	// Istio is the exact Istio version to install, e.g. "1.30.8". For a
	// Lookup of a minor or of the pinned patch it equals Pinned; for a Lookup
	// of another patch of the same minor it is that patch.
	Istio string `json:"istio"`
	// Kubernetes is the supported Kubernetes range of this Istio minor.
	Kubernetes KubernetesRange `json:"kubernetes"`
	// GatewayAPI is the Gateway API version in Istio's go.mod at the pinned
	// patch, e.g. "v1.5.1" (install the standard-channel CRDs of it).
	GatewayAPI string `json:"gatewayAPI"`
	// IstioAPIModule is the istio.io/api module version whose
	// kubernetes/customresourcedefinitions.gen.yaml carries the pinned
	// release's CRDs, e.g. "v1.30.8".
	IstioAPIModule string `json:"istioAPIModule"`
	// Features holds the feature gates by name; prefer Release.Feature, which
	// rejects unknown names.
	Features map[string]bool `json:"features"`
	// Source says where each value of the row came from.
	Source string `json:"source"`

	// Minor is the Istio minor of the row, e.g. "1.30" (derived, not in YAML).
	Minor string `json:"-"`
	// Pinned is the row's pinned patch release, e.g. "1.30.8" (derived).
	Pinned string `json:"-"`
}

// Table is the parsed, validated supported-versions table.
type Table struct {
	defaultMinor string
	releases     []Release // sorted by minor, ascending
}

type fileFormat struct {
	Default  string    `json:"default"`
	Releases []Release `json:"releases"`
}

var (
	patchRE  = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	minorRE  = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	semverRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
)

// Load parses and validates the embedded versions.yaml.
func Load() (Table, error) {
	return parse(tableYAML)
}

// parse parses and validates a versions table in the versions.yaml format.
func parse(data []byte) (Table, error) {
	var f fileFormat
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return Table{}, fmt.Errorf("versions.yaml: %w", err)
	}
	if len(f.Releases) == 0 {
		return Table{}, fmt.Errorf("versions.yaml: no releases")
	}
	t := Table{defaultMinor: f.Default}
	var prev [2]int
	for i, r := range f.Releases {
		if err := validate(&r); err != nil {
			return Table{}, fmt.Errorf("versions.yaml: releases[%d] (istio %q): %w", i, r.Istio, err)
		}
		cur := mustMinor(r.Minor)
		if i > 0 && !less(prev, cur) {
			return Table{}, fmt.Errorf("versions.yaml: releases[%d]: minor %s is not after %d.%d (rows must be unique and sorted ascending)", i, r.Minor, prev[0], prev[1])
		}
		prev = cur
		t.releases = append(t.releases, r)
	}
	if !minorRE.MatchString(f.Default) {
		return Table{}, fmt.Errorf("versions.yaml: default %q is not a minor like \"1.30\"", f.Default)
	}
	if _, ok := t.row(f.Default); !ok {
		return Table{}, fmt.Errorf("versions.yaml: default %q is not one of the supported minors %s", f.Default, strings.Join(t.Minors(), ", "))
	}
	return t, nil
}

// validate checks one row and fills its derived fields.
func validate(r *Release) error {
	if !patchRE.MatchString(r.Istio) {
		return fmt.Errorf("istio %q is not a release like \"1.30.8\"", r.Istio)
	}
	r.Pinned = r.Istio
	r.Minor = minorOf(r.Istio)
	if !minorRE.MatchString(r.Kubernetes.Min) || !minorRE.MatchString(r.Kubernetes.Max) {
		return fmt.Errorf("kubernetes range {min: %q, max: %q} must be two minors like \"1.32\"", r.Kubernetes.Min, r.Kubernetes.Max)
	}
	if less(mustMinor(r.Kubernetes.Max), mustMinor(r.Kubernetes.Min)) {
		return fmt.Errorf("kubernetes range min %s is after max %s", r.Kubernetes.Min, r.Kubernetes.Max)
	}
	if !semverRE.MatchString(r.GatewayAPI) {
		return fmt.Errorf("gatewayAPI %q is not a version like \"v1.5.1\"", r.GatewayAPI)
	}
	if !semverRE.MatchString(r.IstioAPIModule) {
		return fmt.Errorf("istioAPIModule %q is not a version like \"v1.30.8\"", r.IstioAPIModule)
	}
	if minorOf(strings.TrimPrefix(r.IstioAPIModule, "v")) != r.Minor {
		return fmt.Errorf("istioAPIModule %s is not of Istio minor %s", r.IstioAPIModule, r.Minor)
	}
	if strings.TrimSpace(r.Source) == "" {
		return fmt.Errorf("source is empty: say where the numbers came from")
	}
	for _, name := range knownFeatures {
		if _, ok := r.Features[name]; !ok {
			return fmt.Errorf("feature %q is not set", name)
		}
	}
	for name := range r.Features {
		if !isKnownFeature(name) {
			return fmt.Errorf("unknown feature %q (known: %s)", name, strings.Join(knownFeatures, ", "))
		}
	}
	return nil
}

func isKnownFeature(name string) bool {
	i := sort.SearchStrings(knownFeatures, name)
	return i < len(knownFeatures) && knownFeatures[i] == name
}

// minorOf returns "1.30" for "1.30.8". The input must match patchRE.
func minorOf(patch string) string {
	return patch[:strings.LastIndexByte(patch, '.')]
}

// parseMinor parses "1.30" or "1.30.8" (an optional leading "v" is allowed)
// into its major and minor numbers.
func parseMinor(v string) ([2]int, bool) {
	v = strings.TrimPrefix(v, "v")
	if patchRE.MatchString(v) {
		v = minorOf(v)
	}
	if !minorRE.MatchString(v) {
		return [2]int{}, false
	}
	return mustMinor(v), true
}

// mustMinor parses a string already known to match minorRE.
func mustMinor(v string) [2]int {
	major, minor, _ := strings.Cut(v, ".")
	a, _ := strconv.Atoi(major)
	b, _ := strconv.Atoi(minor)
	return [2]int{a, b}
}

func less(a, b [2]int) bool {
	return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])
}

// row returns the table row of an Istio minor such as "1.30".
func (t Table) row(minor string) (Release, bool) {
	for _, r := range t.releases {
		if r.Minor == minor {
			return r, true
		}
	}
	return Release{}, false
}

// Lookup resolves an ISTIO_VERSION value. It accepts a supported minor
// ("1.30", resolving to that row's pinned patch) or an exact patch release
// of a supported minor ("1.30.8", "1.30.5"; a leading "v" is tolerated).
// A patch other than the pinned one gets the row's data with Istio set to
// the requested patch. Anything else returns an error listing the
// supported versions.
func (t Table) Lookup(v string) (Release, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	var minor string
	switch {
	case minorRE.MatchString(s):
		minor = s
	case patchRE.MatchString(s):
		minor = minorOf(s)
	default:
		return Release{}, t.unsupported(v)
	}
	r, ok := t.row(minor)
	if !ok {
		return Release{}, t.unsupported(v)
	}
	if s != minor {
		r.Istio = s
	}
	r.Features = cloneFeatures(r.Features)
	return r, nil
}

func (t Table) unsupported(v string) error {
	parts := make([]string, 0, len(t.releases))
	for _, r := range t.releases {
		parts = append(parts, fmt.Sprintf("%s (%s.x, default %s)", r.Minor, r.Minor, r.Pinned))
	}
	return fmt.Errorf("unsupported ISTIO_VERSION %q: supported: %s", v, strings.Join(parts, ", "))
}

// Default returns the release used when ISTIO_VERSION is unset: the pinned
// patch of the table's default minor.
func (t Table) Default() Release {
	r, ok := t.row(t.defaultMinor)
	if !ok {
		// Only a zero Table (not obtained from Load) gets here.
		return Release{}
	}
	r.Features = cloneFeatures(r.Features)
	return r
}

// Minors returns the supported Istio minors, ascending, e.g.
// ["1.28", "1.29", "1.30", "1.31"].
func (t Table) Minors() []string {
	out := make([]string, 0, len(t.releases))
	for _, r := range t.releases {
		out = append(out, r.Minor)
	}
	return out
}

// Releases returns every row of the table (each with Istio equal to its
// pinned patch), ascending by minor.
func (t Table) Releases() []Release {
	out := make([]Release, 0, len(t.releases))
	for _, r := range t.releases {
		r.Features = cloneFeatures(r.Features)
		out = append(out, r)
	}
	return out
}

func cloneFeatures(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SupportsKubernetes reports whether the Kubernetes version is within the
// release's supported range (inclusive). It accepts a minor ("1.33") or a
// full version ("1.33.2", "v1.33.2"); anything unparsable is unsupported.
func (r Release) SupportsKubernetes(minor string) bool {
	v, ok := parseMinor(strings.TrimSpace(minor))
	if !ok {
		return false
	}
	lo, ok1 := parseMinor(r.Kubernetes.Min)
	hi, ok2 := parseMinor(r.Kubernetes.Max)
	if !ok1 || !ok2 {
		return false
	}
	return !less(v, lo) && !less(hi, v)
}

// Feature returns the value of a feature gate (one of the Feature*
// constants). An unknown name is an error, so a typo fails loudly instead of
// reading as false.
func (r Release) Feature(name string) (bool, error) {
	if !isKnownFeature(name) {
		return false, fmt.Errorf("unknown feature gate %q (known: %s)", name, strings.Join(knownFeatures, ", "))
	}
	v, ok := r.Features[name]
	if !ok {
		return false, fmt.Errorf("feature gate %q is not set for Istio %s", name, r.Istio)
	}
	return v, nil
}
