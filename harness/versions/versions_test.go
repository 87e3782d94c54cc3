package versions

import (
	"strings"
	"testing"
)

func mustLoad(t *testing.T) Table {
	t.Helper()
	tbl, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tbl
}

func TestEmbeddedTableParses(t *testing.T) {
	tbl := mustLoad(t)
	want := []string{"1.28", "1.29", "1.30", "1.31"}
	if got := tbl.Minors(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Minors() = %v, want %v", got, want)
	}
}

func TestEveryRowComplete(t *testing.T) {
	tbl := mustLoad(t)
	seen := map[string]bool{}
	var prev [2]int
	for i, r := range tbl.Releases() {
		if r.Istio == "" || r.Pinned == "" || r.Minor == "" {
			t.Errorf("row %d: empty istio/pinned/minor: %+v", i, r)
		}
		if r.Istio != r.Pinned {
			t.Errorf("row %d: Releases() Istio %q != Pinned %q", i, r.Istio, r.Pinned)
		}
		if !strings.HasPrefix(r.Istio, r.Minor+".") {
			t.Errorf("row %d: istio %q not in minor %q", i, r.Istio, r.Minor)
		}
		if r.GatewayAPI == "" || !strings.HasPrefix(r.GatewayAPI, "v") {
			t.Errorf("row %d: gatewayAPI %q", i, r.GatewayAPI)
		}
		if r.Kubernetes.Min == "" || r.Kubernetes.Max == "" {
			t.Errorf("row %d: empty kubernetes range %+v", i, r.Kubernetes)
		}
		if !strings.HasPrefix(r.IstioAPIModule, "v"+r.Minor+".") {
			t.Errorf("row %d: istioAPIModule %q not of minor %s", i, r.IstioAPIModule, r.Minor)
		}
		if strings.TrimSpace(r.Source) == "" {
			t.Errorf("row %d: empty source", i)
		}
		for _, f := range KnownFeatures() {
			if _, err := r.Feature(f); err != nil {
				t.Errorf("row %d: %v", i, err)
			}
		}
		if seen[r.Minor] {
			t.Errorf("duplicate minor %s", r.Minor)
		}
		seen[r.Minor] = true
		cur := mustMinor(r.Minor)
		if i > 0 && !less(prev, cur) {
			t.Errorf("row %d: minor %s not sorted after %v", i, r.Minor, prev)
		}
		prev = cur
	}
}

func TestLookupMinorGivesPinnedPatch(t *testing.T) {
	tbl := mustLoad(t)
	for _, r := range tbl.Releases() {
		got, err := tbl.Lookup(r.Minor)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", r.Minor, err)
		}
		if got.Istio != r.Pinned || got.Minor != r.Minor || got.GatewayAPI != r.GatewayAPI {
			t.Errorf("Lookup(%q) = %+v, want pinned row %+v", r.Minor, got, r)
		}
	}
	got, err := tbl.Lookup("1.30")
	if err != nil {
		t.Fatal(err)
	}
	if got.Istio != "1.30.8" || got.GatewayAPI != "v1.5.1" || got.IstioAPIModule != "v1.30.8" {
		t.Errorf("Lookup(1.30) = %+v", got)
	}
}

func TestLookupExactPatch(t *testing.T) {
	tbl := mustLoad(t)
	for _, v := range []string{"1.30.8", "v1.30.8", " 1.30.8\n"} {
		got, err := tbl.Lookup(v)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", v, err)
		}
		if got.Istio != "1.30.8" || got.Pinned != "1.30.8" {
			t.Errorf("Lookup(%q).Istio = %q, Pinned %q", v, got.Istio, got.Pinned)
		}
	}
	// Another patch of a supported minor: accepted with the row's data.
	got, err := tbl.Lookup("1.30.5")
	if err != nil {
		t.Fatalf("Lookup(1.30.5): %v", err)
	}
	pinned, _ := tbl.Lookup("1.30")
	if got.Istio != "1.30.5" || got.Pinned != "1.30.8" || got.Minor != "1.30" {
		t.Errorf("Lookup(1.30.5) = istio %q pinned %q minor %q", got.Istio, got.Pinned, got.Minor)
	}
	if got.GatewayAPI != pinned.GatewayAPI || got.Kubernetes != pinned.Kubernetes || got.IstioAPIModule != pinned.IstioAPIModule {
		t.Errorf("Lookup(1.30.5) data differs from the 1.30 row: %+v vs %+v", got, pinned)
	}
}

func TestLookupUnknownListsSupported(t *testing.T) {
	tbl := mustLoad(t)
	for _, v := range []string{"1.19.0", "1.19", "1.32", "2.0.0", "", "latest", "1.30.x", "1.30.8-rc.0", "01.30", "1.30.08"} {
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
			want := r.Minor + " (" + r.Minor + ".x, default " + r.Pinned + ")"
			if !strings.Contains(msg, want) {
				t.Errorf("Lookup(%q) error %q does not list %q", v, msg, want)
			}
		}
	}
	_, err := tbl.Lookup("1.19.0")
	want := `unsupported ISTIO_VERSION "1.19.0": supported: 1.28 (1.28.x, default 1.28.10), 1.29 (1.29.x, default 1.29.6), 1.30 (1.30.x, default 1.30.8), 1.31 (1.31.x, default 1.31.4)`
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
	r, err := tbl.Lookup("1.30")
	if err != nil {
		t.Fatal(err)
	}
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
	r28, _ := tbl.Lookup("1.28")
	if !r28.SupportsKubernetes("1.29") || !r28.SupportsKubernetes("1.34") || r28.SupportsKubernetes("1.28") || r28.SupportsKubernetes("1.35") {
		t.Errorf("1.28 range %+v boundaries wrong", r28.Kubernetes)
	}
}

func TestFeatureGatesPerVersion(t *testing.T) {
	tbl := mustLoad(t)
	want := map[string]map[string]bool{
		"1.28": {FeatureTCPConnectionsFailedMetric: false, FeatureReconcileIptablesOnStartup: false, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true},
		"1.29": {FeatureTCPConnectionsFailedMetric: true, FeatureReconcileIptablesOnStartup: true, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true},
		"1.30": {FeatureTCPConnectionsFailedMetric: true, FeatureReconcileIptablesOnStartup: true, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true},
		"1.31": {FeatureTCPConnectionsFailedMetric: true, FeatureReconcileIptablesOnStartup: true, FeatureDNSCaptureDefault: true, FeatureWaypointTimeoutFlag: true, FeatureGatewayClassTargetRef: true},
	}
	for minor, gates := range want {
		// A non-pinned patch must carry the same gates as its row.
		for _, v := range []string{minor, minor + ".0"} {
			r, err := tbl.Lookup(v)
			if err != nil {
				t.Fatalf("Lookup(%s): %v", v, err)
			}
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

func TestFeaturesNotShared(t *testing.T) {
	tbl := mustLoad(t)
	r, _ := tbl.Lookup("1.28")
	r.Features[FeatureTCPConnectionsFailedMetric] = true
	again, _ := tbl.Lookup("1.28")
	if v, _ := again.Feature(FeatureTCPConnectionsFailedMetric); v {
		t.Fatal("mutating a returned Release changed the table")
	}
}

func TestParseRejectsBadTables(t *testing.T) {
	row := func(istio, minK, maxK, gw, api, extra string) string {
		return `
- istio: "` + istio + `"
  kubernetes: {min: "` + minK + `", max: "` + maxK + `"}
  gatewayAPI: "` + gw + `"
  istioAPIModule: "` + api + `"
  features:
    tcpConnectionsFailedMetric: true
    dnsCaptureDefault: true
    reconcileIptablesOnStartup: true
    waypointTimeoutFlag: true
    gatewayClassTargetRef: true` + extra + `
  source: "test"`
	}
	good := row("1.30.8", "1.32", "1.36", "v1.5.1", "v1.30.8", "")
	good31 := row("1.31.4", "1.32", "1.36", "v1.6.0", "v1.31.4", "")
	if _, err := parse([]byte("default: \"1.30\"\nreleases:" + good + good31)); err != nil {
		t.Fatalf("good table rejected: %v", err)
	}
	cases := map[string]string{
		"unsorted":         "default: \"1.30\"\nreleases:" + good31 + good,
		"duplicate minor":  "default: \"1.30\"\nreleases:" + good + row("1.30.3", "1.32", "1.36", "v1.5.1", "v1.30.3", ""),
		"empty gatewayAPI": "default: \"1.30\"\nreleases:" + row("1.30.8", "1.32", "1.36", "", "v1.30.8", ""),
		"empty k8s":        "default: \"1.30\"\nreleases:" + row("1.30.8", "", "1.36", "v1.5.1", "v1.30.8", ""),
		"k8s reversed":     "default: \"1.30\"\nreleases:" + row("1.30.8", "1.36", "1.32", "v1.5.1", "v1.30.8", ""),
		"empty istio":      "default: \"1.30\"\nreleases:" + row("", "1.32", "1.36", "v1.5.1", "v1.30.8", ""),
		"minor as istio":   "default: \"1.30\"\nreleases:" + row("1.30", "1.32", "1.36", "v1.5.1", "v1.30.8", ""),
		"api other minor":  "default: \"1.30\"\nreleases:" + row("1.30.8", "1.32", "1.36", "v1.5.1", "v1.31.0", ""),
		"unknown feature":  "default: \"1.30\"\nreleases:" + row("1.30.8", "1.32", "1.36", "v1.5.1", "v1.30.8", "\n    typoFeature: true"),
		"bad default":      "default: \"1.19\"\nreleases:" + good,
		"no default":       "releases:" + good,
		"unknown field":    "default: \"1.30\"\nbogus: 1\nreleases:" + good,
		"no rows":          "default: \"1.30\"\n",
	}
	for name, doc := range cases {
		_, err := parse([]byte(doc))
		if err == nil {
			t.Errorf("%s: parse accepted a bad table", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	missing := strings.Replace(good, "    waypointTimeoutFlag: true\n", "", 1)
	if _, err := parse([]byte("default: \"1.30\"\nreleases:" + missing)); err == nil || !strings.Contains(err.Error(), "waypointTimeoutFlag") {
		t.Errorf("missing feature: err = %v", err)
	}
}
