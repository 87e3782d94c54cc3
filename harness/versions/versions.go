// Package versions holds the table of Istio versions the ambient e2e suite
// knows: for each Istio minor, the pinned patch release, whether Istio's own
// sources confirm it, its support status (from the announced end-of-life
// date), the supported Kubernetes range, the Gateway API version, the
// istio.io/api module carrying the release's CRDs, and feature gates that
// differ between releases. A separate development entry describes one
// istio/istio commit built from the Go module proxy; it is not a release.
//
// The data lives in versions.yaml (embedded); this package parses and
// validates it and answers questions about it.
package versions

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/semver"
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

// Field names used in a row's `unknown` and `unconfirmedFields` lists and in
// the errors of the accessors that need them.
const (
	// FieldGatewayAPI names Release.GatewayAPI.
	FieldGatewayAPI = "gatewayAPI"
	// FieldKubernetes names Release.Kubernetes.
	FieldKubernetes = "kubernetes"
	// FieldIstioAPIModule names Release.IstioAPIModule.
	FieldIstioAPIModule = "istioAPIModule"
	// FieldFeatures names Release.Features (only in unconfirmedFields: the
	// gates are always given).
	FieldFeatures = "features"
)

// unknowableFields may be listed in `unknown`; every field in
// `unconfirmedFields` must be one of these or FieldFeatures.
var unknowableFields = []string{FieldGatewayAPI, FieldIstioAPIModule, FieldKubernetes}

// DevSelector is the ISTIO_VERSION value that selects the development build.
const DevSelector = "dev"

// Status is the support status of a row on a given date.
type Status string

const (
	// StatusSupported: no end of life is announced, or it is still ahead.
	StatusSupported Status = "supported"
	// StatusEndOfLife: the announced end-of-life date has been reached.
	StatusEndOfLife Status = "end-of-life"
	// StatusDevelopment: the development build, which is not a release and
	// has no support status.
	StatusDevelopment Status = "development"
)

// KubernetesRange is an inclusive range of Kubernetes minors such as
// {Min: "1.32", Max: "1.36"}.
type KubernetesRange struct {
	// Min is the oldest supported Kubernetes minor, "1.32".
	Min string `json:"min"`
	// Max is the newest supported Kubernetes minor, "1.36".
	Max string `json:"max"`
}

// String renders the range as "1.32–1.36".
func (k KubernetesRange) String() string { return k.Min + "–" + k.Max }

// Release describes one Istio version the suite can install: a row of
// versions.yaml (possibly with Istio replaced by a requested patch, see
// Table.Lookup) or the development build.
//
// A field listed in Unknown has its zero value; use the accessors
// GatewayAPIVersion, IstioAPIVersion and KubernetesRange, which return an
// error naming what is unknown, wherever a run needs the value.
type Release struct {
	// Istio is the exact Istio version to install, e.g. "1.30.8". For a
	// Lookup of a minor or of the pinned patch it equals Pinned; for a Lookup
	// of another patch of the same minor it is that patch. For the
	// development build it is the version string the build reports and tags
	// its images with, e.g. "1.31-dev".
	Istio string
	// Kubernetes is the supported Kubernetes range of this Istio minor; zero
	// when unknown.
	Kubernetes KubernetesRange
	// GatewayAPI is the Gateway API version in Istio's go.mod, e.g. "v1.5.1"
	// (install the standard-channel CRDs of it); "" when unknown.
	GatewayAPI string
	// IstioAPIModule is the istio.io/api module version whose
	// kubernetes/customresourcedefinitions.gen.yaml carries the release's
	// CRDs, e.g. "v1.30.8"; "" when unknown.
	IstioAPIModule string
	// Features holds the feature gates by name; prefer Release.Feature, which
	// rejects unknown names.
	Features map[string]bool
	// Source says where each value of the row came from.
	Source string

	// Minor is the Istio minor of the row, e.g. "1.30".
	Minor string
	// Pinned is the row's pinned patch release, e.g. "1.30.8" (for the
	// development build, its version string).
	Pinned string

	// Confirmed reports whether Istio's own sources (an istio/istio tag or an
	// istio.io release note) show that the version in Istio was released.
	// Always false for the development build.
	Confirmed bool
	// NewestConfirmed is the newest patch of Minor that Istio's own sources
	// confirm, or "" when none is.
	NewestConfirmed string
	// Evidence says, for an unconfirmed version, why it is believed to exist
	// and what is not known; "" for a confirmed one.
	Evidence string
	// Unknown lists the fields (Field* names) that have no value.
	Unknown []string
	// UnconfirmedFields lists the fields (Field* names) whose value was not
	// read at the pinned patch itself; Source says where it was read.
	UnconfirmedFields []string
	// EOL is the announced end-of-life date (support ends on that day, UTC);
	// zero when none is announced.
	EOL time.Time
	// SupportSource says where EOL (or its absence) comes from.
	SupportSource string

	// Development marks the development build: not a release, never the
	// default, never in the nightly's default matrix.
	Development bool
	// Module is the Go module the development build is compiled from
	// ("istio.io/istio"); "" for releases.
	Module string
	// ModuleVersion is the module version (a pseudo-version) of the
	// development build; "" for releases.
	ModuleVersion string
	// Branch is the istio/istio branch the development build's commit
	// belongs to; "" for releases.
	Branch string
}

// Table is the parsed, validated versions table.
type Table struct {
	defaultMinor string
	releases     []Release // sorted by minor, ascending
	dev          *Release
}

type supportYAML struct {
	EOL    string `json:"eol"`
	Source string `json:"source"`
}

// rowYAML is one entry of `releases:` as written in versions.yaml.
type rowYAML struct {
	Istio             string           `json:"istio"`
	Confirmed         *bool            `json:"confirmed"`
	NewestConfirmed   string           `json:"newestConfirmed"`
	Evidence          string           `json:"evidence"`
	Unknown           []string         `json:"unknown"`
	UnconfirmedFields []string         `json:"unconfirmedFields"`
	Support           *supportYAML     `json:"support"`
	Kubernetes        *KubernetesRange `json:"kubernetes"`
	GatewayAPI        string           `json:"gatewayAPI"`
	IstioAPIModule    string           `json:"istioAPIModule"`
	Features          map[string]bool  `json:"features"`
	Source            string           `json:"source"`
}

// devYAML is the `development:` entry as written in versions.yaml.
type devYAML struct {
	Istio             string           `json:"istio"`
	Module            string           `json:"module"`
	ModuleVersion     string           `json:"moduleVersion"`
	Branch            string           `json:"branch"`
	Kubernetes        *KubernetesRange `json:"kubernetes"`
	GatewayAPI        string           `json:"gatewayAPI"`
	IstioAPIModule    string           `json:"istioAPIModule"`
	UnconfirmedFields []string         `json:"unconfirmedFields"`
	Features          map[string]bool  `json:"features"`
	Source            string           `json:"source"`
}

type fileFormat struct {
	Default     string    `json:"default"`
	Releases    []rowYAML `json:"releases"`
	Development *devYAML  `json:"development"`
}

const (
	eolUnannounced       = "unannounced"
	noneConfirmed        = "none"
	dateLayout           = "2006-01-02"
	versionsFileForUsers = "harness/versions/versions.yaml"
)

var (
	patchRE  = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	minorRE  = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	semverRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	// moduleVersionRE accepts a release (v1.31.0), a pre-release and a Go
	// pseudo-version (v1.31.0-rc.0.0.20260824154656-b943409680a7,
	// v0.0.0-20260827124520-eed52ebb66ad).
	moduleVersionRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	pseudoRE        = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)-(.+\.)?[0-9]{14}-[0-9a-f]{12}$`)
	devVersionRE    = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)-dev$`)
	modulePathRE    = regexp.MustCompile(`^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)+$`)
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
		return Table{}, fmt.Errorf("versions.yaml: no releases: add at least one row under `releases:`")
	}
	t := Table{defaultMinor: f.Default}
	var prev Release
	for i, row := range f.Releases {
		r, err := validate(row)
		if err != nil {
			return Table{}, fmt.Errorf("versions.yaml: releases[%d] (istio %q): %w", i, row.Istio, err)
		}
		if i > 0 {
			if !lessVersion(prev.Minor, r.Minor) {
				return Table{}, fmt.Errorf("versions.yaml: releases[%d]: minor %s is not after %s (rows must be unique and sorted ascending)", i, r.Minor, prev.Minor)
			}
			if err := eolOrder(prev, r); err != nil {
				return Table{}, fmt.Errorf("versions.yaml: releases[%d]: %w", i, err)
			}
		}
		prev = r
		t.releases = append(t.releases, r)
	}
	if !minorRE.MatchString(f.Default) {
		return Table{}, fmt.Errorf("versions.yaml: default %q is not a minor like \"1.30\"", f.Default)
	}
	if _, ok := t.row(f.Default); !ok {
		return Table{}, fmt.Errorf("versions.yaml: default %q is not one of the table's minors %s", f.Default, strings.Join(t.Minors(), ", "))
	}
	if f.Development != nil {
		d, err := validateDev(*f.Development)
		if err != nil {
			return Table{}, fmt.Errorf("versions.yaml: development (istio %q): %w", f.Development.Istio, err)
		}
		t.dev = &d
	}
	return t, nil
}

// eolOrder rejects an older minor that outlives a newer one: support ends in
// minor order.
func eolOrder(older, newer Release) error {
	switch {
	case newer.EOL.IsZero():
		return nil
	case older.EOL.IsZero():
		return fmt.Errorf("minor %s has end-of-life %s but the older minor %s has none (support ends in minor order: add %s's date)",
			newer.Minor, newer.EOL.Format(dateLayout), older.Minor, older.Minor)
	case older.EOL.After(newer.EOL):
		return fmt.Errorf("minor %s ends %s, before the older minor %s (%s): support ends in minor order",
			newer.Minor, newer.EOL.Format(dateLayout), older.Minor, older.EOL.Format(dateLayout))
	}
	return nil
}

// validate checks one `releases:` row and turns it into a Release.
func validate(row rowYAML) (Release, error) {
	r := Release{
		Istio: row.Istio, GatewayAPI: row.GatewayAPI, IstioAPIModule: row.IstioAPIModule,
		Features: row.Features, Source: row.Source, Evidence: strings.TrimSpace(row.Evidence),
	}
	if !patchRE.MatchString(r.Istio) {
		return Release{}, fmt.Errorf("istio %q is not a release like \"1.30.8\"", r.Istio)
	}
	r.Pinned = r.Istio
	r.Minor = minorOf(r.Istio)

	// Confirmation.
	if row.Confirmed == nil {
		return Release{}, fmt.Errorf("confirmed is not set: say whether an istio/istio tag or istio.io release note shows %s was released", r.Istio)
	}
	r.Confirmed = *row.Confirmed
	switch nc := row.NewestConfirmed; {
	case nc == "":
		return Release{}, fmt.Errorf("newestConfirmed is not set: give the newest %s patch Istio's own sources confirm, or %q", r.Minor, noneConfirmed)
	case nc == noneConfirmed:
	case !patchRE.MatchString(nc) || minorOf(nc) != r.Minor:
		return Release{}, fmt.Errorf("newestConfirmed %q is not a patch of %s like %q, nor %q", nc, r.Minor, r.Minor+".0", noneConfirmed)
	case comparePatch(nc, r.Istio) > 0:
		return Release{}, fmt.Errorf("newestConfirmed %s is newer than the pinned %s: pin the confirmed patch", nc, r.Istio)
	default:
		r.NewestConfirmed = nc
	}
	if r.Confirmed {
		if r.NewestConfirmed != r.Istio {
			return Release{}, fmt.Errorf("confirmed is true but newestConfirmed is %q, not the pinned %s", row.NewestConfirmed, r.Istio)
		}
		if r.Evidence != "" {
			return Release{}, fmt.Errorf("evidence is only for unconfirmed rows; say in source where %s is confirmed", r.Istio)
		}
		if len(row.Unknown) > 0 {
			return Release{}, fmt.Errorf("a confirmed row cannot have unknown fields %v: read them from Istio's sources at %s", row.Unknown, r.Istio)
		}
	} else {
		if r.NewestConfirmed == r.Istio {
			return Release{}, fmt.Errorf("confirmed is false but newestConfirmed is the pinned %s", r.Istio)
		}
		if r.Evidence == "" {
			return Release{}, fmt.Errorf("unconfirmed row without evidence: say why %s is believed to exist and what is unknown", r.Istio)
		}
	}

	// Support status.
	if row.Support == nil {
		return Release{}, fmt.Errorf("support is not set: give support.eol (a date like \"2026-10-12\" or %q) and support.source", eolUnannounced)
	}
	eol, err := parseEOL(row.Support.EOL)
	if err != nil {
		return Release{}, err
	}
	r.EOL = eol
	r.SupportSource = strings.TrimSpace(row.Support.Source)
	if r.SupportSource == "" {
		return Release{}, fmt.Errorf("support.source is empty: say where the end-of-life date (or its absence) comes from")
	}

	// Which fields are unknown; the others must be present and valid.
	unknown, err := fieldSet("unknown", row.Unknown, unknowableFields)
	if err != nil {
		return Release{}, err
	}
	r.Unknown = sortedKeys(unknown)
	if unknown[FieldKubernetes] {
		if row.Kubernetes != nil {
			return Release{}, fmt.Errorf("kubernetes is listed as unknown but has a value: remove one of them")
		}
	} else {
		if row.Kubernetes == nil {
			return Release{}, fmt.Errorf("kubernetes is not set: give {min, max} from the release announcement, or list it in unknown (unconfirmed rows only)")
		}
		r.Kubernetes = *row.Kubernetes
		if err := checkRange(r.Kubernetes); err != nil {
			return Release{}, err
		}
	}
	if unknown[FieldGatewayAPI] {
		if r.GatewayAPI != "" {
			return Release{}, fmt.Errorf("gatewayAPI is listed as unknown but has the value %q: remove one of them", r.GatewayAPI)
		}
	} else if !semverRE.MatchString(r.GatewayAPI) {
		return Release{}, fmt.Errorf("gatewayAPI %q is not a version like \"v1.5.1\" (or list it in unknown, unconfirmed rows only)", r.GatewayAPI)
	}
	if unknown[FieldIstioAPIModule] {
		if r.IstioAPIModule != "" {
			return Release{}, fmt.Errorf("istioAPIModule is listed as unknown but has the value %q: remove one of them", r.IstioAPIModule)
		}
	} else {
		if !semverRE.MatchString(r.IstioAPIModule) {
			return Release{}, fmt.Errorf("istioAPIModule %q is not a version like \"v1.30.8\" (or list it in unknown, unconfirmed rows only)", r.IstioAPIModule)
		}
		if minorOf(strings.TrimPrefix(r.IstioAPIModule, "v")) != r.Minor {
			return Release{}, fmt.Errorf("istioAPIModule %s is not of Istio minor %s", r.IstioAPIModule, r.Minor)
		}
	}
	uf, err := unconfirmedFields(row.UnconfirmedFields, unknown)
	if err != nil {
		return Release{}, err
	}
	r.UnconfirmedFields = uf
	if strings.TrimSpace(r.Source) == "" {
		return Release{}, fmt.Errorf("source is empty: say where the numbers came from")
	}
	if err := checkFeatures(r.Features); err != nil {
		return Release{}, err
	}
	return r, nil
}

// validateDev checks the `development:` entry and turns it into a Release.
func validateDev(d devYAML) (Release, error) {
	r := Release{
		Istio: d.Istio, Pinned: d.Istio, GatewayAPI: d.GatewayAPI, IstioAPIModule: d.IstioAPIModule,
		Features: d.Features, Source: d.Source, Development: true,
		Module: d.Module, ModuleVersion: d.ModuleVersion, Branch: strings.TrimSpace(d.Branch),
		SupportSource: "a development build is not a release and has no support status",
	}
	m := devVersionRE.FindStringSubmatch(r.Istio)
	if m == nil {
		return Release{}, fmt.Errorf("istio %q is not a development version string like \"1.32-dev\" (the VERSION file of the module plus \"-dev\", as Istio's Makefile builds it)", r.Istio)
	}
	r.Minor = m[1] + "." + m[2]
	if !modulePathRE.MatchString(r.Module) {
		return Release{}, fmt.Errorf("module %q is not a Go module path like \"istio.io/istio\"", r.Module)
	}
	if !pseudoRE.MatchString(r.ModuleVersion) {
		return Release{}, fmt.Errorf("moduleVersion %q is not a Go pseudo-version like \"v0.0.0-20260827124520-eed52ebb66ad\"", r.ModuleVersion)
	}
	if r.Branch == "" {
		return Release{}, fmt.Errorf("branch is empty: say which istio/istio branch the commit belongs to")
	}
	if d.Kubernetes == nil {
		return Release{}, fmt.Errorf("kubernetes is not set: give {min, max} and list it in unconfirmedFields if no announcement states it")
	}
	r.Kubernetes = *d.Kubernetes
	if err := checkRange(r.Kubernetes); err != nil {
		return Release{}, err
	}
	if !semverRE.MatchString(r.GatewayAPI) {
		return Release{}, fmt.Errorf("gatewayAPI %q is not a version like \"v1.6.0\" (read it from the module's go.mod)", r.GatewayAPI)
	}
	if !moduleVersionRE.MatchString(r.IstioAPIModule) {
		return Release{}, fmt.Errorf("istioAPIModule %q is not a Go module version like \"v1.31.0\" or a pseudo-version (read it from the module's go.mod)", r.IstioAPIModule)
	}
	uf, err := unconfirmedFields(d.UnconfirmedFields, nil)
	if err != nil {
		return Release{}, err
	}
	r.UnconfirmedFields = uf
	if strings.TrimSpace(r.Source) == "" {
		return Release{}, fmt.Errorf("source is empty: say where the numbers came from")
	}
	if err := checkFeatures(r.Features); err != nil {
		return Release{}, err
	}
	return r, nil
}

func parseEOL(s string) (time.Time, error) {
	switch s {
	case "":
		return time.Time{}, fmt.Errorf("support.eol is not set: give the announced end-of-life date like \"2026-10-12\", or %q", eolUnannounced)
	case eolUnannounced:
		return time.Time{}, nil
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("support.eol %q is neither a date like \"2026-10-12\" nor %q", s, eolUnannounced)
	}
	return d, nil
}

func checkRange(k KubernetesRange) error {
	if !minorRE.MatchString(k.Min) || !minorRE.MatchString(k.Max) {
		return fmt.Errorf("kubernetes range {min: %q, max: %q} must be two minors like \"1.32\"", k.Min, k.Max)
	}
	if lessVersion(k.Max, k.Min) {
		return fmt.Errorf("kubernetes range min %s is after max %s", k.Min, k.Max)
	}
	return nil
}

func checkFeatures(features map[string]bool) error {
	for _, name := range knownFeatures {
		if _, ok := features[name]; !ok {
			return fmt.Errorf("feature %q is not set", name)
		}
	}
	for name := range features {
		if !isKnownFeature(name) {
			return fmt.Errorf("unknown feature %q (known: %s)", name, strings.Join(knownFeatures, ", "))
		}
	}
	return nil
}

// fieldSet checks a list of field names against allowed (no duplicates).
func fieldSet(key string, names, allowed []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, n := range names {
		if !contains(allowed, n) {
			return nil, fmt.Errorf("%s: %q is not a field name (allowed: %s)", key, n, strings.Join(allowed, ", "))
		}
		if set[n] {
			return nil, fmt.Errorf("%s: %q is listed twice", key, n)
		}
		set[n] = true
	}
	return set, nil
}

// unconfirmedFields checks `unconfirmedFields`: known names, none unknown.
func unconfirmedFields(names []string, unknown map[string]bool) ([]string, error) {
	set, err := fieldSet("unconfirmedFields", names, append(append([]string(nil), unknowableFields...), FieldFeatures))
	if err != nil {
		return nil, err
	}
	for n := range set {
		if unknown[n] {
			return nil, fmt.Errorf("%q is both unknown and in unconfirmedFields: an unknown field has no value to confirm", n)
		}
	}
	return sortedKeys(set), nil
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func isKnownFeature(name string) bool {
	i := sort.SearchStrings(knownFeatures, name)
	return i < len(knownFeatures) && knownFeatures[i] == name
}

// minorOf returns "1.30" for "1.30.8". The input must match patchRE.
func minorOf(patch string) string {
	return patch[:strings.LastIndexByte(patch, '.')]
}

// canonical is a version ("1.30", "1.30.8", "v1.30.8") as
// golang.org/x/mod/semver reads it ("v1.30" is v1.30.0).
func canonical(v string) string { return "v" + strings.TrimPrefix(v, "v") }

// comparePatch compares two versions (minors or patches) as semver does.
func comparePatch(a, b string) int { return semver.Compare(canonical(a), canonical(b)) }

// lessVersion reports whether version a is before version b.
func lessVersion(a, b string) bool { return comparePatch(a, b) < 0 }

// parseMinor parses "1.30" or "1.30.8" (an optional leading "v" is allowed)
// into its minor, "1.30".
func parseMinor(v string) (string, bool) {
	v = strings.TrimPrefix(v, "v")
	if patchRE.MatchString(v) {
		v = minorOf(v)
	}
	return v, minorRE.MatchString(v)
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

// Lookup resolves an ISTIO_VERSION value. It accepts a minor of the table
// ("1.30", resolving to that row's pinned patch), an exact patch release of
// such a minor ("1.30.8", "1.30.5"; a leading "v" is tolerated), and
// DevSelector ("dev") or the development build's version string
// ("1.31-dev") for the development build. A patch other than the pinned one
// gets the row's data with Istio set to the requested patch; it is Confirmed
// when it is not newer than the row's NewestConfirmed. Anything else
// returns an error listing the table.
func (t Table) Lookup(v string) (Release, error) {
	s := strings.TrimSpace(v)
	if t.dev != nil && (s == DevSelector || s == t.dev.Istio) {
		return t.dev.clone(), nil
	}
	s = strings.TrimPrefix(s, "v")
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
	if s != minor && s != r.Pinned {
		r = r.asPatch(s)
	}
	return r.clone(), nil
}

// asPatch returns the row's data for another patch p of its minor, with
// Confirmed and Evidence describing p.
func (r Release) asPatch(p string) Release {
	out := r
	out.Istio = p
	switch {
	case r.NewestConfirmed != "" && comparePatch(p, r.NewestConfirmed) <= 0:
		out.Confirmed, out.Evidence = true, ""
	case comparePatch(p, r.Pinned) > 0:
		out.Confirmed = false
		out.Evidence = fmt.Sprintf("%s is newer than %s, the newest %s patch in %s; nothing read for the table shows %s was released",
			p, r.Pinned, r.Minor, versionsFileForUsers, p)
	case r.NewestConfirmed != "":
		out.Confirmed = false
		out.Evidence = fmt.Sprintf("%s is newer than %s, the newest %s patch Istio's own tags or release notes confirm. Evidence for the %s row: %s",
			p, r.NewestConfirmed, r.Minor, r.Pinned, r.Evidence)
	default:
		out.Confirmed = false
		out.Evidence = fmt.Sprintf("no %s release is confirmed by Istio's own tags or release notes. Evidence for the %s row: %s", r.Minor, r.Pinned, r.Evidence)
	}
	return out
}

func (r Release) clone() Release {
	r.Features = cloneMap(r.Features)
	r.Unknown = append([]string(nil), r.Unknown...)
	r.UnconfirmedFields = append([]string(nil), r.UnconfirmedFields...)
	return r
}

func (t Table) unsupported(v string) error {
	parts := make([]string, 0, len(t.releases)+1)
	for _, r := range t.releases {
		p := fmt.Sprintf("%s (%s.x, default %s", r.Minor, r.Minor, r.Pinned)
		if !r.Confirmed {
			p += ", unconfirmed"
		}
		parts = append(parts, p+")")
	}
	if t.dev != nil {
		parts = append(parts, fmt.Sprintf("%s (%s, a development build of %s %s, not a release)", DevSelector, t.dev.Istio, t.dev.Module, t.dev.ModuleVersion))
	}
	return fmt.Errorf("unsupported ISTIO_VERSION %q: supported: %s; `make versions` shows each row's support status", v, strings.Join(parts, ", "))
}

// Default returns the release used when ISTIO_VERSION is unset: the pinned
// patch of the table's default minor. It is never the development build.
func (t Table) Default() Release {
	r, ok := t.row(t.defaultMinor)
	if !ok {
		// Only a zero Table (not obtained from Load) gets here.
		return Release{}
	}
	return r.clone()
}

// Development returns the development build, if the table has one.
func (t Table) Development() (Release, bool) {
	if t.dev == nil {
		return Release{}, false
	}
	return t.dev.clone(), true
}

// Minors returns the table's Istio minors, ascending, e.g.
// ["1.28", "1.29", "1.30", "1.31"]. The development build is not included.
func (t Table) Minors() []string {
	out := make([]string, 0, len(t.releases))
	for _, r := range t.releases {
		out = append(out, r.Minor)
	}
	return out
}

// Releases returns every release row of the table (each with Istio equal to
// its pinned patch), ascending by minor. The development build is not
// included; see Development.
func (t Table) Releases() []Release {
	out := make([]Release, 0, len(t.releases))
	for _, r := range t.releases {
		out = append(out, r.clone())
	}
	return out
}

func cloneMap(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Status returns the support status on the date of now (in UTC): end-of-life
// from the announced EOL date on, supported before it or when no date is
// announced, and development for the development build.
func (r Release) Status(now time.Time) Status {
	if r.Development {
		return StatusDevelopment
	}
	if r.EOL.IsZero() {
		return StatusSupported
	}
	y, m, d := now.UTC().Date()
	if !time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Before(r.EOL) {
		return StatusEndOfLife
	}
	return StatusSupported
}

// IsUnknown reports whether the field (a Field* name) has no value.
func (r Release) IsUnknown(field string) bool {
	return contains(r.Unknown, field)
}

// IsUnconfirmed reports whether the field (a Field* name) has a value that
// was not read at the pinned patch itself.
func (r Release) IsUnconfirmed(field string) bool {
	return contains(r.UnconfirmedFields, field)
}

// unknownErr explains that a field a run needs has no value: what it is,
// why it is missing and where to read it.
func (r Release) unknownErr(what, readFrom string) error {
	return fmt.Errorf("%s of Istio %s is unknown: the row is unconfirmed (%s); pick a confirmed version (make versions) or add it to %s, read from %s",
		what, r.Istio, strings.TrimSuffix(r.Evidence, "."), versionsFileForUsers, readFrom)
}

// GatewayAPIVersion returns the Gateway API version to install, or an error
// naming it as unknown for this release.
func (r Release) GatewayAPIVersion() (string, error) {
	if r.IsUnknown(FieldGatewayAPI) || r.GatewayAPI == "" {
		return "", r.unknownErr("the Gateway API version", "sigs.k8s.io/gateway-api in istio/istio go.mod at the release tag")
	}
	return r.GatewayAPI, nil
}

// IstioAPIVersion returns the istio.io/api module version that carries the
// release's CRDs, or an error naming it as unknown for this release.
func (r Release) IstioAPIVersion() (string, error) {
	if r.IsUnknown(FieldIstioAPIModule) || r.IstioAPIModule == "" {
		return "", r.unknownErr("the istio.io/api module carrying the CRDs", "istio.io/api in istio/istio go.mod at the release tag, served by the Go module proxy")
	}
	return r.IstioAPIModule, nil
}

// KubernetesRange returns the supported Kubernetes range, or an error naming
// it as unknown for this release (set K8S_VERSION to choose a node image
// anyway).
func (r Release) KubernetesRange() (KubernetesRange, error) {
	if r.IsUnknown(FieldKubernetes) || r.Kubernetes.Min == "" {
		return KubernetesRange{}, fmt.Errorf("%w; to run it anyway choose the Kubernetes minor with K8S_VERSION", r.unknownErr("the supported Kubernetes range", "the release announcement on istio.io"))
	}
	return r.Kubernetes, nil
}

// SupportsKubernetes reports whether the Kubernetes version is within the
// release's supported range (inclusive). It accepts a minor ("1.33") or a
// full version ("1.33.2", "v1.33.2"); anything unparsable, and any version
// when the range is unknown, is unsupported.
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
	return !lessVersion(v, lo) && !lessVersion(hi, v)
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
