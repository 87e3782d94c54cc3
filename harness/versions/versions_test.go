package versions

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T) Table {
	t.Helper()
	tbl, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tbl
}

func mustLookup(t *testing.T, tbl Table, v string) Release {
	t.Helper()
	r, err := tbl.Lookup(v)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", v, err)
	}
	return r
}

func day(s string) time.Time {
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return d
}

// The date of issue 9's review.
var dec1 = day("2026-12-01T12:00:00Z")

func TestEmbeddedTableParses(t *testing.T) {
	tbl := mustLoad(t)
	want := []string{"1.28", "1.29", "1.30", "1.31", "1.32"}
	if got := tbl.Minors(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Minors() = %v, want %v", got, want)
	}
	if _, ok := tbl.Development(); !ok {
		t.Fatal("the embedded table has no development build")
	}
}

// The values Istio's own sources give (see the rows' source notes).
func TestEmbeddedRowsMatchIstiosSources(t *testing.T) {
	tbl := mustLoad(t)
	type want struct {
		pinned, newestConfirmed, eol, gw, api, kmin, kmax string
		confirmed                                         bool
		unknown                                           string
	}
	rows := map[string]want{
		"1.28": {"1.28.10", "1.28.10", "2026-06-28", "v1.4.1", "v1.28.3", "1.29", "1.34", true, ""},
		"1.29": {"1.29.8", "1.29.8", "2026-10-12", "v1.4.1", "v1.29.6", "1.31", "1.35", true, ""},
		"1.30": {"1.30.8", "1.30.5", "", "v1.5.1", "v1.30.8", "1.32", "1.36", false, ""},
		"1.31": {"1.31.4", "1.31.1", "", "v1.6.0", "v1.31.4", "1.32", "1.36", false, ""},
		"1.32": {"1.32.0", "", "", "", "v1.32.0", "", "", false, "gatewayAPI,kubernetes"},
	}
	for _, r := range tbl.Releases() {
		w, ok := rows[r.Minor]
		if !ok {
			t.Errorf("unexpected row %s", r.Minor)
			continue
		}
		eol := ""
		if !r.EOL.IsZero() {
			eol = r.EOL.Format("2006-01-02")
		}
		got := want{r.Pinned, r.NewestConfirmed, eol, r.GatewayAPI, r.IstioAPIModule, r.Kubernetes.Min, r.Kubernetes.Max, r.Confirmed, strings.Join(r.Unknown, ",")}
		if got != w {
			t.Errorf("row %s = %+v, want %+v", r.Minor, got, w)
		}
	}
	if d := tbl.Default(); d.Minor != "1.31" || d.Istio != "1.31.4" || d.Development {
		t.Errorf("Default() = %s (%s), want the 1.31 row", d.Istio, d.Minor)
	}
}

func TestEveryRowComplete(t *testing.T) {
	tbl := mustLoad(t)
	for i, r := range tbl.Releases() {
		if r.Istio == "" || r.Istio != r.Pinned || !strings.HasPrefix(r.Istio, r.Minor+".") {
			t.Errorf("row %d: istio %q pinned %q minor %q", i, r.Istio, r.Pinned, r.Minor)
		}
		if r.Development || r.Module != "" || r.ModuleVersion != "" {
			t.Errorf("row %d (%s) looks like a development build", i, r.Istio)
		}
		if r.Confirmed != (r.NewestConfirmed == r.Pinned) {
			t.Errorf("row %s: confirmed %v but newest confirmed %q", r.Istio, r.Confirmed, r.NewestConfirmed)
		}
		if r.Confirmed && (r.Evidence != "" || len(r.Unknown) > 0) {
			t.Errorf("row %s: confirmed with evidence %q or unknowns %v", r.Istio, r.Evidence, r.Unknown)
		}
		if !r.Confirmed && strings.TrimSpace(r.Evidence) == "" {
			t.Errorf("row %s: unconfirmed without evidence", r.Istio)
		}
		if !r.IsUnknown(FieldGatewayAPI) && !strings.HasPrefix(r.GatewayAPI, "v") {
			t.Errorf("row %s: gatewayAPI %q", r.Istio, r.GatewayAPI)
		}
		if !r.IsUnknown(FieldKubernetes) && (r.Kubernetes.Min == "" || r.Kubernetes.Max == "") {
			t.Errorf("row %s: empty kubernetes range %+v", r.Istio, r.Kubernetes)
		}
		if !r.IsUnknown(FieldIstioAPIModule) && !strings.HasPrefix(r.IstioAPIModule, "v"+r.Minor+".") {
			t.Errorf("row %s: istioAPIModule %q not of minor %s", r.Istio, r.IstioAPIModule, r.Minor)
		}
		if strings.TrimSpace(r.Source) == "" || strings.TrimSpace(r.SupportSource) == "" {
			t.Errorf("row %s: empty source or support source", r.Istio)
		}
		for _, f := range KnownFeatures() {
			if _, err := r.Feature(f); err != nil {
				t.Errorf("row %s: %v", r.Istio, err)
			}
		}
	}
}

func TestStatusFromEOLDate(t *testing.T) {
	tbl := mustLoad(t)
	cases := []struct {
		minor string
		now   string
		want  Status
	}{
		{"1.28", "2026-06-27T23:59:59Z", StatusSupported},
		{"1.28", "2026-06-28T00:00:00Z", StatusEndOfLife}, // support ends on the announced day
		{"1.29", "2026-10-11T23:59:59Z", StatusSupported},
		{"1.29", "2026-10-12T00:00:00Z", StatusEndOfLife},
		{"1.29", "2026-10-11T20:00:00-05:00", StatusEndOfLife}, // 2026-10-12 01:00 UTC
		{"1.29", "2026-10-12T08:00:00+09:00", StatusSupported}, // 2026-10-11 23:00 UTC
		{"1.29", "2026-12-01T12:00:00Z", StatusEndOfLife},
		{"1.30", "2026-12-01T12:00:00Z", StatusSupported}, // no end of life announced
		{"1.30", "2099-01-01T00:00:00Z", StatusSupported},
		{"1.31", "2026-12-01T12:00:00Z", StatusSupported},
		{"1.32", "2026-12-01T12:00:00Z", StatusSupported},
	}
	for _, c := range cases {
		r := mustLookup(t, tbl, c.minor)
		if got := r.Status(day(c.now)); got != c.want {
			t.Errorf("%s Status(%s) = %s, want %s", c.minor, c.now, got, c.want)
		}
		// Another patch of the minor has the same status.
		if got := mustLookup(t, tbl, c.minor+".0").Status(day(c.now)); got != c.want {
			t.Errorf("%s.0 Status(%s) = %s, want %s", c.minor, c.now, got, c.want)
		}
	}
	dev, _ := tbl.Development()
	if got := dev.Status(dec1); got != StatusDevelopment {
		t.Errorf("development Status = %s", got)
	}
}

func TestLookupMinorGivesPinnedPatch(t *testing.T) {
	tbl := mustLoad(t)
	for _, r := range tbl.Releases() {
		got := mustLookup(t, tbl, r.Minor)
		if got.Istio != r.Pinned || got.Minor != r.Minor || got.GatewayAPI != r.GatewayAPI || got.Confirmed != r.Confirmed || got.Evidence != r.Evidence {
			t.Errorf("Lookup(%q) = %+v, want pinned row %+v", r.Minor, got, r)
		}
	}
	got := mustLookup(t, tbl, "1.30")
	if got.Istio != "1.30.8" || got.GatewayAPI != "v1.5.1" || got.IstioAPIModule != "v1.30.8" || got.Confirmed {
		t.Errorf("Lookup(1.30) = %+v", got)
	}
}

func TestLookupExactPatch(t *testing.T) {
	tbl := mustLoad(t)
	for _, v := range []string{"1.30.8", "v1.30.8", " 1.30.8\n"} {
		got := mustLookup(t, tbl, v)
		if got.Istio != "1.30.8" || got.Pinned != "1.30.8" {
			t.Errorf("Lookup(%q).Istio = %q, Pinned %q", v, got.Istio, got.Pinned)
		}
	}
	// Another patch of a minor: accepted with the row's data.
	got := mustLookup(t, tbl, "1.30.5")
	pinned := mustLookup(t, tbl, "1.30")
	if got.Istio != "1.30.5" || got.Pinned != "1.30.8" || got.Minor != "1.30" {
		t.Errorf("Lookup(1.30.5) = istio %q pinned %q minor %q", got.Istio, got.Pinned, got.Minor)
	}
	if got.GatewayAPI != pinned.GatewayAPI || got.Kubernetes != pinned.Kubernetes || got.IstioAPIModule != pinned.IstioAPIModule || !got.EOL.Equal(pinned.EOL) {
		t.Errorf("Lookup(1.30.5) data differs from the 1.30 row: %+v vs %+v", got, pinned)
	}
}

// A patch is confirmed when it is not newer than the newest confirmed one;
// the evidence of an unconfirmed one says why.
func TestLookupConfirmationPerPatch(t *testing.T) {
	tbl := mustLoad(t)
	cases := []struct {
		v         string
		confirmed bool
		evidence  string // substring
	}{
		{"1.31", false, "istio.io/api v1.31.2"},
		{"1.31.4", false, "istio.io/api v1.31.2"},
		{"1.31.1", true, ""},
		{"1.31.0", true, ""},
		{"1.31.3", false, "1.31.3 is newer than 1.31.1, the newest 1.31 patch Istio's own tags or release notes confirm. Evidence for the 1.31.4 row: istio.io/api"},
		{"1.31.9", false, "1.31.9 is newer than 1.31.4, the newest 1.31 patch in harness/versions/versions.yaml"},
		{"1.30.5", true, ""},
		{"1.30.6", false, "1.30.6 is newer than 1.30.5"},
		{"1.29.8", true, ""},
		{"1.29.9", false, "1.29.9 is newer than 1.29.8"}, // issue 9's claim, not in Istio's sources
		{"1.28.10", true, ""},
		{"1.32", false, "istio.io/api v1.32.0"},
		{"1.32.1", false, "1.32.1 is newer than 1.32.0"},
	}
	for _, c := range cases {
		r := mustLookup(t, tbl, c.v)
		if r.Confirmed != c.confirmed {
			t.Errorf("Lookup(%s).Confirmed = %v, want %v", c.v, r.Confirmed, c.confirmed)
		}
		if c.evidence == "" && r.Evidence != "" {
			t.Errorf("Lookup(%s).Evidence = %q, want none", c.v, r.Evidence)
		}
		if !strings.Contains(r.Evidence, c.evidence) {
			t.Errorf("Lookup(%s).Evidence = %q, want it to contain %q", c.v, r.Evidence, c.evidence)
		}
	}
}

func TestLookupDevelopment(t *testing.T) {
	tbl := mustLoad(t)
	dev, ok := tbl.Development()
	if !ok {
		t.Fatal("no development build")
	}
	for _, v := range []string{"dev", " dev\n", dev.Istio} {
		r := mustLookup(t, tbl, v)
		if !r.Development || r.Istio != "1.31-dev" || r.Module != "istio.io/istio" || r.ModuleVersion != "v0.0.0-20260827124520-eed52ebb66ad" {
			t.Errorf("Lookup(%q) = %+v, want the development build", v, r)
		}
		if r.Confirmed || r.Status(dec1) != StatusDevelopment || r.Branch != "release-1.31" {
			t.Errorf("Lookup(%q): confirmed %v, status %s, branch %q", v, r.Confirmed, r.Status(dec1), r.Branch)
		}
		if gw, err := r.GatewayAPIVersion(); err != nil || gw != "v1.6.0" {
			t.Errorf("development GatewayAPIVersion = %q, %v", gw, err)
		}
		if api, err := r.IstioAPIVersion(); err != nil || api != "v1.31.0-rc.0.0.20260824154656-b943409680a7" {
			t.Errorf("development IstioAPIVersion = %q, %v", api, err)
		}
		if k, err := r.KubernetesRange(); err != nil || k.String() != "1.32–1.36" || !r.IsUnconfirmed(FieldKubernetes) {
			t.Errorf("development KubernetesRange = %v, %v (unconfirmed %v)", k, err, r.UnconfirmedFields)
		}
	}
	// The development build is never a normal row or the default.
	for _, r := range tbl.Releases() {
		if r.Development {
			t.Errorf("Releases() includes the development build %s", r.Istio)
		}
	}
	if tbl.Default().Development {
		t.Error("Default() is the development build")
	}
	// The normal rows are unchanged by it.
	if r := mustLookup(t, tbl, "1.31"); r.Development || r.Istio != "1.31.4" {
		t.Errorf("Lookup(1.31) = %s (development %v)", r.Istio, r.Development)
	}
	for _, v := range []string{"DEV", "v1.31-dev", "1.32-dev", "1.31-dev-distroless", "master"} {
		if _, err := tbl.Lookup(v); err == nil {
			t.Errorf("Lookup(%q) accepted", v)
		}
	}
}

// Another engineer's running-version check accepts an image tag equal to
// the version or starting with it plus "-" (1.31-dev-distroless for
// 1.31-dev). No version string of the table may then accept another one's
// tags.
func TestVersionStringsAreTagPrefixSafe(t *testing.T) {
	tbl := mustLoad(t)
	matches := func(tag, version string) bool { return tag == version || strings.HasPrefix(tag, version+"-") }
	var vs []string
	for _, r := range tbl.Releases() {
		vs = append(vs, r.Pinned)
		if r.NewestConfirmed != "" && r.NewestConfirmed != r.Pinned {
			vs = append(vs, r.NewestConfirmed)
		}
	}
	dev, _ := tbl.Development()
	vs = append(vs, dev.Istio)
	tagRE := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) // an OCI image tag
	for _, a := range vs {
		if !tagRE.MatchString(a + "-distroless") {
			t.Errorf("%q-distroless is not a valid image tag", a)
		}
		for _, b := range vs {
			for _, tag := range []string{b, b + "-distroless"} {
				if got := matches(tag, a); got != (a == b) {
					t.Errorf("tag %q matches version %q: %v", tag, a, got)
				}
			}
		}
	}
	if !matches("1.31-dev-distroless", dev.Istio) || matches("1.31.4-distroless", dev.Istio) {
		t.Errorf("development version %q against its tags", dev.Istio)
	}
}

func TestUnknownFieldsFailWhenNeeded(t *testing.T) {
	tbl := mustLoad(t)
	r := mustLookup(t, tbl, "1.32")
	if gw, err := r.GatewayAPIVersion(); err == nil {
		t.Errorf("1.32 GatewayAPIVersion = %q, want an error", gw)
	} else {
		for _, want := range []string{"Gateway API version of Istio 1.32.0 is unknown", "istio.io/api v1.32.0", "make versions", "versions.yaml"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("GatewayAPIVersion error %q lacks %q", err, want)
			}
		}
	}
	if k, err := r.KubernetesRange(); err == nil || !strings.Contains(err.Error(), "supported Kubernetes range of Istio 1.32.0 is unknown") || !strings.Contains(err.Error(), "K8S_VERSION") {
		t.Errorf("1.32 KubernetesRange = %v, %v", k, err)
	}
	if api, err := r.IstioAPIVersion(); err != nil || api != "v1.32.0" {
		t.Errorf("1.32 IstioAPIVersion = %q, %v", api, err)
	}
	for _, k := range []string{"1.32", "1.36", "1.37"} {
		if r.SupportsKubernetes(k) {
			t.Errorf("1.32 SupportsKubernetes(%s) with an unknown range = true", k)
		}
	}
	// A known row answers without error.
	r31 := mustLookup(t, tbl, "1.31")
	gw, err1 := r31.GatewayAPIVersion()
	api, err2 := r31.IstioAPIVersion()
	k, err3 := r31.KubernetesRange()
	if err1 != nil || err2 != nil || err3 != nil || gw != "v1.6.0" || api != "v1.31.4" || k != (KubernetesRange{"1.32", "1.36"}) {
		t.Errorf("1.31 accessors: %q %v, %q %v, %v %v", gw, err1, api, err2, k, err3)
	}
}

func TestLookupUnknownListsSupported(t *testing.T) {
	tbl := mustLoad(t)
	for _, v := range []string{"1.19.0", "1.19", "1.33", "2.0.0", "", "latest", "1.30.x", "1.30.8-rc.0", "01.30", "1.30.08"} {
		_, err := tbl.Lookup(v)
		if err == nil {
			t.Errorf("Lookup(%q): no error", v)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `unsupported ISTIO_VERSION "`+v+`"`) {
			t.Errorf("Lookup(%q) error %q does not quote the input", v, msg)
		}
		for _, r := range tbl.Releases() {
			want := r.Minor + " (" + r.Minor + ".x, default " + r.Pinned
			if !strings.Contains(msg, want) {
				t.Errorf("Lookup(%q) error %q does not list %q", v, msg, want)
			}
		}
	}
	_, err := tbl.Lookup("1.19.0")
	want := `unsupported ISTIO_VERSION "1.19.0": supported: 1.28 (1.28.x, default 1.28.10), 1.29 (1.29.x, default 1.29.8), ` +
		`1.30 (1.30.x, default 1.30.8, unconfirmed), 1.31 (1.31.x, default 1.31.4, unconfirmed), 1.32 (1.32.x, default 1.32.0, unconfirmed), ` +
		`dev (1.31-dev, a development build of istio.io/istio v0.0.0-20260827124520-eed52ebb66ad, not a release); ` +
		"`make versions` shows each row's support status"
	if err == nil || err.Error() != want {
		t.Errorf("Lookup(1.19.0) error =\n  %v\nwant\n  %s", err, want)
	}
}

func TestDefault(t *testing.T) {
	tbl := mustLoad(t)
	d := tbl.Default()
	if d.Istio == "" || d.Istio != d.Pinned {
		t.Fatalf("Default() = %+v", d)
	}
	r, err := tbl.Lookup(d.Minor)
	if err != nil || r.Istio != d.Istio {
		t.Errorf("Default() %s does not match Lookup(%s) = %s, %v", d.Istio, d.Minor, r.Istio, err)
	}
}

func TestSupportsKubernetesBoundaries(t *testing.T) {
	tbl := mustLoad(t)
	r := mustLookup(t, tbl, "1.30")
	if r.Kubernetes.Min != "1.32" || r.Kubernetes.Max != "1.36" {
		t.Fatalf("1.30 range = %+v, want 1.32-1.36", r.Kubernetes)
	}
	cases := map[string]bool{
		"1.31": false, "1.32": true, "1.33": true, "1.36": true, "1.37": false,
		"1.32.0": true, "v1.36.5": true, "v1.31.9": false, "1.4": false, "1.320": false,
		"2.32": false, "0.32": false, "": false, "x": false, "1.36.": false,
	}
	for in, want := range cases {
		if got := r.SupportsKubernetes(in); got != want {
			t.Errorf("1.30 SupportsKubernetes(%q) = %v, want %v", in, got, want)
		}
	}
	r28 := mustLookup(t, tbl, "1.28")
	if !r28.SupportsKubernetes("1.29") || !r28.SupportsKubernetes("1.34") || r28.SupportsKubernetes("1.28") || r28.SupportsKubernetes("1.35") {
		t.Errorf("1.28 range %+v boundaries wrong", r28.Kubernetes)
	}
}

func TestFeatureGatesPerVersion(t *testing.T) {
	tbl := mustLoad(t)
	all := map[string]bool{FeatureTCPConnectionsFailedMetric: true, FeatureReconcileIptablesOnStartup: true, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true}
	want := map[string]map[string]bool{
		"1.28": {FeatureTCPConnectionsFailedMetric: false, FeatureReconcileIptablesOnStartup: false, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true},
		"1.29": all, "1.30": all, "1.31": all, "1.32": all, "dev": all,
	}
	for minor, gates := range want {
		// A non-pinned patch must carry the same gates as its row.
		vs := []string{minor, minor + ".0"}
		if minor == "dev" {
			vs = vs[:1]
		}
		for _, v := range vs {
			r := mustLookup(t, tbl, v)
			for name, w := range gates {
				got, err := r.Feature(name)
				if err != nil {
					t.Fatalf("%s Feature(%s): %v", v, name, err)
				}
				if got != w {
					t.Errorf("%s Feature(%s) = %v, want %v", v, name, got, w)
				}
			}
		}
	}
}

func TestUnknownFeatureErrors(t *testing.T) {
	tbl := mustLoad(t)
	r := tbl.Default()
	for _, name := range []string{"tcpConnectionFailedMetric", "TCPConnectionsFailedMetric", ""} {
		if _, err := r.Feature(name); err == nil || !strings.Contains(err.Error(), "unknown feature gate") {
			t.Errorf("Feature(%q) error = %v, want unknown feature gate", name, err)
		}
	}
}

func TestReturnedReleasesDoNotShareState(t *testing.T) {
	tbl := mustLoad(t)
	r := mustLookup(t, tbl, "1.28")
	r.Features[FeatureTCPConnectionsFailedMetric] = true
	if v, _ := mustLookup(t, tbl, "1.28").Feature(FeatureTCPConnectionsFailedMetric); v {
		t.Fatal("mutating a returned Release's features changed the table")
	}
	r32 := mustLookup(t, tbl, "1.32")
	r32.Unknown[0] = "none"
	if !mustLookup(t, tbl, "1.32").IsUnknown(FieldGatewayAPI) {
		t.Fatal("mutating a returned Release's Unknown changed the table")
	}
	dev, _ := tbl.Development()
	dev.Features[FeatureDNSCaptureDefault] = false
	if v, _ := mustLookup(t, tbl, "dev").Feature(FeatureDNSCaptureDefault); !v {
		t.Fatal("mutating the returned development build changed the table")
	}
}

func TestMatrix(t *testing.T) {
	tbl := mustLoad(t)
	istios := func(m Matrix) string {
		var out []string
		for _, e := range m.Include {
			out = append(out, e.Istio)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name string
		now  time.Time
		o    MatrixOptions
		want string
	}{
		// 1.32.0 is supported but its Gateway API version is unknown: a job
		// of it could only stop in preflight, so it is left out (Omitted).
		{"default on 2026-12-01", dec1, MatrixOptions{}, "1.30.8,1.31.4"},
		{"default before 1.29's end", day("2026-10-11T12:00:00Z"), MatrixOptions{}, "1.29.8,1.30.8,1.31.4"},
		{"default before 1.28's end", day("2026-06-01T00:00:00Z"), MatrixOptions{}, "1.28.10,1.29.8,1.30.8,1.31.4"},
		{"end-of-life asked for", dec1, MatrixOptions{EndOfLife: true}, "1.28.10,1.29.8,1.30.8,1.31.4"},
		{"one end-of-life minor asked for", dec1, MatrixOptions{Extra: []string{"1.29"}}, "1.29.8,1.30.8,1.31.4"},
		{"a confirmed patch asked for", dec1, MatrixOptions{Extra: []string{"1.31.1"}}, "1.30.8,1.31.4,1.31.1"},
		{"a row asked for twice", dec1, MatrixOptions{Extra: []string{"1.31", "1.31.4"}}, "1.30.8,1.31.4"},
		{"development asked for", dec1, MatrixOptions{Extra: []string{"dev"}}, "1.30.8,1.31.4,1.31-dev"},
	}
	for _, c := range cases {
		m, err := tbl.Matrix(c.now, c.o)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := istios(m); got != c.want {
			t.Errorf("%s: matrix %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := tbl.Matrix(dec1, MatrixOptions{Extra: []string{"1.19"}}); err == nil || !strings.Contains(err.Error(), `unsupported ISTIO_VERSION "1.19"`) {
		t.Errorf("matrix with an unknown extra: err = %v", err)
	}

	m, err := tbl.Matrix(dec1, MatrixOptions{Extra: []string{"1.29"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"include":[` +
		`{"istio":"1.29.8","minor":"1.29","status":"end-of-life","eol":"2026-10-12","confirmed":true},` +
		`{"istio":"1.30.8","minor":"1.30","status":"supported","eol":"","confirmed":false},` +
		`{"istio":"1.31.4","minor":"1.31","status":"supported","eol":"","confirmed":false}]}`
	if string(b) != want {
		t.Errorf("matrix JSON =\n  %s\nwant\n  %s", b, want)
	}
	if len(m.Omitted) != 1 || m.Omitted[0].Istio != "1.32.0" || !strings.Contains(m.Omitted[0].Reason, "Gateway API version of Istio 1.32.0 is unknown") {
		t.Errorf("omitted = %+v, want 1.32.0 with its unknown Gateway API version", m.Omitted)
	}
}

func TestMatrixWithNothingSupportedFails(t *testing.T) {
	tbl, err := parse([]byte("default: \"1.30\"\nreleases:" + row("1.30.8", `eol: "2026-10-01"`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Matrix(dec1, MatrixOptions{}); err == nil || !strings.Contains(err.Error(), "no release row is supported on 2026-12-01") {
		t.Errorf("err = %v, want an empty-matrix error", err)
	}
	if m, err := tbl.Matrix(dec1, MatrixOptions{EndOfLife: true}); err != nil || len(m.Include) != 1 {
		t.Errorf("with end-of-life rows: %+v, %v", m, err)
	}
}

// renderedRows splits Render's grid into cells by runs of two spaces.
func renderedRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	split := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			break // the grid ends at the first blank line
		}
		cells := split.Split(line, -1)
		rows[cells[0]] = cells
	}
	return rows
}

func TestRender(t *testing.T) {
	tbl := mustLoad(t)
	var b strings.Builder
	if err := tbl.Render(&b, dec1); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	rows := renderedRows(t, out)
	want := map[string][]string{
		"ISTIO": {"ISTIO", "PINNED", "SUPPORT (AS OF 2026-12-01)", "CONFIRMED", "KUBERNETES", "GATEWAY API", "DEFAULT"},
		"1.28":  {"1.28", "1.28.10", "end-of-life since 2026-06-28", "yes", "1.29–1.34", "v1.4.1"},
		"1.29":  {"1.29", "1.29.8", "end-of-life since 2026-10-12", "yes", "1.31–1.35", "v1.4.1?"},
		"1.30":  {"1.30", "1.30.8", "supported (no end of life announced)", "no (newest confirmed 1.30.5)", "1.32–1.36", "v1.5.1?"},
		"1.31":  {"1.31", "1.31.4", "supported (no end of life announced)", "no (newest confirmed 1.31.1)", "1.32–1.36", "v1.6.0?", "*"},
		"1.32":  {"1.32", "1.32.0", "supported (no end of life announced)", "no (no 1.32 patch confirmed)", "unknown", "unknown"},
		"dev":   {"dev", "1.31-dev", "development build, not a release", "no (not a release)", "1.32–1.36?", "v1.6.0"},
	}
	if len(rows) != len(want) {
		t.Errorf("rendered %d grid lines, want %d", len(rows), len(want))
	}
	for k, w := range want {
		if got := rows[k]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %s = %q, want %q", k, got, w)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing blanks in %q", line)
		}
	}
	// Notes: every unconfirmed row's evidence (folded), its unknowns, and
	// how to select the development build.
	flat := strings.Join(strings.Fields(out), " ")
	for _, r := range tbl.Releases() {
		if !r.Confirmed && !strings.Contains(flat, r.Pinned+": "+strings.Join(strings.Fields(r.Evidence), " ")) {
			t.Errorf("the notes lack %s's evidence", r.Pinned)
		}
	}
	for _, s := range []string{"Unknown fields: gatewayAPI, kubernetes.", "ISTIO_VERSION=dev or 1.31-dev selects istio.io/istio v0.0.0-20260827124520-eed52ebb66ad (branch release-1.31)"} {
		if !strings.Contains(flat, s) {
			t.Errorf("the notes lack %q", s)
		}
	}

	// Before 1.29's end the same table says so.
	b.Reset()
	if err := tbl.Render(&b, day("2026-09-30T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := renderedRows(t, b.String())["1.29"]; len(got) < 3 || got[2] != "supported until 2026-10-12" {
		t.Errorf("1.29 on 2026-09-30 = %q", got)
	}
}

// row builds one `releases:` entry; support is the body of `support:`
// (eol and more), extra is added at the end (indented two spaces).
func row(istio, support, extra string) string {
	minor := istio[:strings.LastIndexByte(istio, '.')]
	return `
- istio: "` + istio + `"
  confirmed: true
  newestConfirmed: "` + istio + `"
  support:
    ` + support + `
    source: "test"
  kubernetes: {min: "1.32", max: "1.36"}
  gatewayAPI: "v1.5.1"
  istioAPIModule: "v` + minor + `.0"
  features:
    tcpConnectionsFailedMetric: true
    dnsCaptureDefault: true
    reconcileIptablesOnStartup: true
    waypointTimeoutFlag: true
    gatewayClassTargetRef: true
  source: "test"` + extra
}

const devEntry = `
development:
  istio: "1.32-dev"
  module: istio.io/istio
  moduleVersion: v0.0.0-20260827124520-eed52ebb66ad
  branch: master
  kubernetes: {min: "1.32", max: "1.36"}
  gatewayAPI: "v1.6.0"
  istioAPIModule: "v1.31.0-alpha.1.0.20260819121012-5803fb6accf7"
  unconfirmedFields: [kubernetes]
  features:
    tcpConnectionsFailedMetric: true
    dnsCaptureDefault: true
    reconcileIptablesOnStartup: true
    waypointTimeoutFlag: true
    gatewayClassTargetRef: true
  source: "test"
`

const unannounced = `eol: unannounced`

func TestParseAcceptsGoodTables(t *testing.T) {
	unconfirmed := strings.Replace(row("1.32.0", unannounced, "\n  evidence: \"api tag\"\n  unknown: [gatewayAPI, kubernetes]\n  unconfirmedFields: [features]"),
		"  confirmed: true\n  newestConfirmed: \"1.32.0\"", "  confirmed: false\n  newestConfirmed: none", 1)
	unconfirmed = strings.Replace(unconfirmed, "  kubernetes: {min: \"1.32\", max: \"1.36\"}\n  gatewayAPI: \"v1.5.1\"\n", "", 1)
	doc := "default: \"1.30\"\nreleases:" + row("1.30.8", `eol: "2026-10-01"`, "") + row("1.31.4", `eol: "2026-12-20"`, "") + unconfirmed + devEntry
	tbl, err := parse([]byte(doc))
	if err != nil {
		t.Fatalf("good table rejected: %v\n%s", err, doc)
	}
	r := mustLookup(t, tbl, "1.32")
	if r.Confirmed || r.NewestConfirmed != "" || r.Evidence != "api tag" || strings.Join(r.Unknown, ",") != "gatewayAPI,kubernetes" || r.GatewayAPI != "" || r.Kubernetes != (KubernetesRange{}) || !r.IsUnconfirmed(FieldFeatures) {
		t.Errorf("unconfirmed row = %+v", r)
	}
	if got := mustLookup(t, tbl, "1.31").Status(day("2026-12-19T23:00:00Z")); got != StatusSupported {
		t.Errorf("1.31 before its EOL: %s", got)
	}
	if d := mustLookup(t, tbl, "1.32-dev"); !d.Development || d.Minor != "1.32" || d.Branch != "master" {
		t.Errorf("development = %+v", d)
	}
	// A table without a development build is fine; "dev" is then unknown.
	tbl, err = parse([]byte("default: \"1.30\"\nreleases:" + row("1.30.8", unannounced, "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Lookup("dev"); err == nil {
		t.Error(`Lookup("dev") without a development build succeeded`)
	}
}

func TestParseRejectsBadTables(t *testing.T) {
	good := row("1.30.8", unannounced, "")
	good31 := row("1.31.4", unannounced, "")
	head := "default: \"1.30\"\nreleases:"
	unconf := func(s string) string { // turn a row into an unconfirmed one with evidence
		s = strings.Replace(s, "  confirmed: true\n  newestConfirmed: \"1.30.8\"", "  confirmed: false\n  newestConfirmed: \"1.30.5\"", 1)
		return s + "\n  evidence: \"api tag\""
	}
	drop := func(s, line string) string {
		out := strings.Replace(s, line+"\n", "", 1)
		if out == s {
			panic("test helper: line not found: " + line)
		}
		return out
	}
	cases := []struct {
		name, doc, want string
	}{
		{"unsorted", head + good31 + good, "minor 1.30 is not after 1.31"},
		{"duplicate minor", head + good + strings.ReplaceAll(good, "1.30.8", "1.30.3"), "minor 1.30 is not after 1.30"},
		{"empty gatewayAPI", head + strings.Replace(good, `gatewayAPI: "v1.5.1"`, `gatewayAPI: ""`, 1), `gatewayAPI "" is not a version`},
		{"missing gatewayAPI", head + drop(good, `  gatewayAPI: "v1.5.1"`), `gatewayAPI "" is not a version`},
		{"missing kubernetes", head + drop(good, `  kubernetes: {min: "1.32", max: "1.36"}`), "kubernetes is not set"},
		{"empty k8s", head + strings.Replace(good, `min: "1.32"`, `min: ""`, 1), "must be two minors"},
		{"k8s reversed", head + strings.Replace(good, `{min: "1.32", max: "1.36"}`, `{min: "1.36", max: "1.32"}`, 1), "min 1.36 is after max 1.32"},
		{"empty istio", head + strings.Replace(good, `istio: "1.30.8"`, `istio: ""`, 1), `istio "" is not a release`},
		{"minor as istio", head + strings.Replace(good, `istio: "1.30.8"`, `istio: "1.30"`, 1), `istio "1.30" is not a release`},
		{"api other minor", head + strings.Replace(good, `istioAPIModule: "v1.30.0"`, `istioAPIModule: "v1.31.0"`, 1), "istioAPIModule v1.31.0 is not of Istio minor 1.30"},
		{"unknown feature", head + good + "\n  features2: {}", "unknown field"},
		{"unknown feature gate", head + strings.Replace(good, "    gatewayClassTargetRef: true", "    gatewayClassTargetRef: true\n    typoFeature: true", 1), `unknown feature "typoFeature"`},
		{"missing feature", head + drop(good, "    waypointTimeoutFlag: true"), `feature "waypointTimeoutFlag" is not set`},
		{"bad default", "default: \"1.19\"\nreleases:" + good, `default "1.19" is not one of the table's minors 1.30`},
		{"no default", "releases:" + good, `default "" is not a minor`},
		{"unknown top-level key", "default: \"1.30\"\nbogus: 1\nreleases:" + good, "unknown field"},
		{"unknown row key", head + good + "\n  latest: true", "unknown field"},
		{"no rows", "default: \"1.30\"\n", "no releases"},

		{"confirmed missing", head + drop(good, "  confirmed: true"), "confirmed is not set"},
		{"newestConfirmed missing", head + drop(good, `  newestConfirmed: "1.30.8"`), "newestConfirmed is not set"},
		{"newestConfirmed other minor", head + strings.Replace(good, `newestConfirmed: "1.30.8"`, `newestConfirmed: "1.29.8"`, 1), `newestConfirmed "1.29.8" is not a patch of 1.30`},
		{"newestConfirmed newer than pinned", head + strings.Replace(good, `newestConfirmed: "1.30.8"`, `newestConfirmed: "1.30.9"`, 1), "newestConfirmed 1.30.9 is newer than the pinned 1.30.8"},
		{"confirmed but newest confirmed older", head + strings.Replace(good, `newestConfirmed: "1.30.8"`, `newestConfirmed: "1.30.5"`, 1), `confirmed is true but newestConfirmed is "1.30.5"`},
		{"confirmed with evidence", head + good + "\n  evidence: \"x\"", "evidence is only for unconfirmed rows"},
		{"confirmed with unknown", head + drop(good, `  gatewayAPI: "v1.5.1"`) + "\n  unknown: [gatewayAPI]", "a confirmed row cannot have unknown fields"},
		{"unconfirmed without evidence", head + strings.Replace(unconf(good), "\n  evidence: \"api tag\"", "", 1), "unconfirmed row without evidence"},
		{"unconfirmed but newest confirmed is pinned", head + strings.Replace(good, "confirmed: true", "confirmed: false", 1) + "\n  evidence: \"x\"", "confirmed is false but newestConfirmed is the pinned 1.30.8"},
		{"unknown field with a value", head + unconf(good) + "\n  unknown: [gatewayAPI]", `gatewayAPI is listed as unknown but has the value "v1.5.1"`},
		{"unknown kubernetes with a value", head + unconf(good) + "\n  unknown: [kubernetes]", "kubernetes is listed as unknown but has a value"},
		{"unknown bad name", head + unconf(good) + "\n  unknown: [gatewayApi]", `unknown: "gatewayApi" is not a field name`},
		{"unknown twice", head + unconf(drop(good, `  gatewayAPI: "v1.5.1"`)) + "\n  unknown: [gatewayAPI, gatewayAPI]", `unknown: "gatewayAPI" is listed twice`},
		{"features cannot be unknown", head + unconf(good) + "\n  unknown: [features]", `unknown: "features" is not a field name`},
		{"unknown and unconfirmed", head + unconf(drop(good, `  gatewayAPI: "v1.5.1"`)) + "\n  unknown: [gatewayAPI]\n  unconfirmedFields: [gatewayAPI]", `"gatewayAPI" is both unknown and in unconfirmedFields`},
		{"unconfirmedFields bad name", head + good + "\n  unconfirmedFields: [source]", `unconfirmedFields: "source" is not a field name`},

		{"support missing", head + drop(drop(drop(good, "  support:"), "    "+unannounced), `    source: "test"`), "support is not set"},
		{"eol missing", head + drop(good, "    "+unannounced), "support.eol is not set"},
		{"eol not a date", head + strings.Replace(good, unannounced, `eol: "12 October 2026"`, 1), `support.eol "12 October 2026" is neither a date`},
		{"eol impossible date", head + strings.Replace(good, unannounced, `eol: "2026-13-01"`, 1), `support.eol "2026-13-01" is neither a date`},
		{"eol day first", head + strings.Replace(good, unannounced, `eol: "2026-29-05"`, 1), `support.eol "2026-29-05" is neither a date`},
		{"support source empty", head + strings.Replace(good, "    "+unannounced+"\n    source: \"test\"", "    "+unannounced+"\n    source: \" \"", 1), "support.source is empty"},
		{"support unknown key", head + strings.Replace(good, "    "+unannounced, "    "+unannounced+"\n    until: x", 1), "unknown field"},
		{"older minor without EOL", head + good + row("1.31.4", `eol: "2027-01-01"`, ""), "minor 1.31 has end-of-life 2027-01-01 but the older minor 1.30 has none"},
		{"older minor ends later", head + row("1.30.8", `eol: "2027-02-01"`, "") + row("1.31.4", `eol: "2027-01-01"`, ""), "minor 1.31 ends 2027-01-01, before the older minor 1.30 (2027-02-01)"},

		{"dev bad version", head + good + strings.Replace(devEntry, `istio: "1.32-dev"`, `istio: "1.32"`, 1), `istio "1.32" is not a development version string`},
		{"dev version with patch", head + good + strings.Replace(devEntry, `istio: "1.32-dev"`, `istio: "1.32.0-dev"`, 1), `istio "1.32.0-dev" is not a development version string`},
		{"dev module missing", head + good + drop(devEntry, "  module: istio.io/istio"), `module "" is not a Go module path`},
		{"dev not a pseudo-version", head + good + strings.Replace(devEntry, "moduleVersion: v0.0.0-20260827124520-eed52ebb66ad", "moduleVersion: master", 1), `moduleVersion "master" is not a Go pseudo-version`},
		{"dev release version", head + good + strings.Replace(devEntry, "moduleVersion: v0.0.0-20260827124520-eed52ebb66ad", "moduleVersion: v1.31.0", 1), `moduleVersion "v1.31.0" is not a Go pseudo-version`},
		{"dev branch missing", head + good + drop(devEntry, "  branch: master"), "branch is empty"},
		{"dev kubernetes missing", head + good + drop(devEntry, `  kubernetes: {min: "1.32", max: "1.36"}`), "kubernetes is not set"},
		{"dev gatewayAPI missing", head + good + drop(devEntry, `  gatewayAPI: "v1.6.0"`), `gatewayAPI "" is not a version`},
		{"dev api module bad", head + good + strings.Replace(devEntry, `istioAPIModule: "v1.31.0-alpha.1.0.20260819121012-5803fb6accf7"`, `istioAPIModule: "latest"`, 1), `istioAPIModule "latest" is not a Go module version`},
		{"dev feature missing", head + good + drop(devEntry, "    dnsCaptureDefault: true"), `feature "dnsCaptureDefault" is not set`},
		{"dev source missing", head + good + drop(devEntry, `  source: "test"`), "source is empty"},
		{"dev claims confirmation", head + good + devEntry + "  confirmed: true\n", "unknown field"},
		{"dev has a support date", head + good + devEntry + "  support: {eol: \"2027-01-01\", source: x}\n", "unknown field"},
	}
	for _, c := range cases {
		_, err := parse([]byte(c.doc))
		if err == nil {
			t.Errorf("%s: parse accepted a bad table:\n%s", c.name, c.doc)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not contain %q", c.name, err, c.want)
		}
		if !strings.HasPrefix(err.Error(), "versions.yaml: ") {
			t.Errorf("%s: error %q does not name versions.yaml", c.name, err)
		}
	}
}
