package conformance

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
)

// writtenReport builds the report of a failed run with a skip and writes
// it; it returns the report directory.
func writtenReport(t *testing.T) (string, *Report) {
	t.Helper()
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_FAIL=ztunnel-log", "FIXTURE_SKIP=deny-metric"}}.Run(t)
	fixturerun.WriteEnvironment(t, dir)
	r := build(t, dir, Inputs{})
	if _, _, err := WriteData(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func TestVerifyAcceptsWhatBuildWrote(t *testing.T) {
	dir, want := writtenReport(t)
	for _, f := range []string{FileYAML, FileJSON} {
		path := filepath.Join(dir, f)
		if err := Verify(path); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got.Digest != want.Digest || len(got.Tests()) != len(want.Tests()) || got.Profile("l4").Result != ResultFailure {
			t.Errorf("%s does not load back to the report built", f)
		}
	}
}

// tamper edits the written YAML report as a generic document and returns
// the path of the edited copy.
func tamper(t *testing.T, dir string, edit func(doc map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, FileYAML))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tampered.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// findTest returns the test map whose name ends in suffix, its profile and
// the profile's tests.
func findTest(t *testing.T, doc map[string]any, suffix string) (map[string]any, map[string]any, int) {
	t.Helper()
	for _, p := range doc["profiles"].([]any) {
		prof := p.(map[string]any)
		for i, x := range prof["tests"].([]any) {
			if tm := x.(map[string]any); strings.HasSuffix(tm["name"].(string), suffix) {
				return tm, prof, i
			}
		}
	}
	t.Fatalf("no test %q", suffix)
	return nil, nil, 0
}

// redigest recomputes the digest of an edited document, as a forger would.
func redigest(t *testing.T, doc map[string]any) {
	t.Helper()
	b, _ := json.Marshal(doc)
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	d, err := ComputeDigest(&r)
	if err != nil {
		t.Fatal(err)
	}
	doc["digest"] = d
}

func TestVerifyRejectsTampering(t *testing.T) {
	dir, _ := writtenReport(t)
	cases := []struct {
		name string
		edit func(doc map[string]any)
		want []string // every one must appear in the error
	}{
		{"a failed test marked passed", func(doc map[string]any) {
			tm, _, _ := findTest(t, doc, "ztunnel logs both identities")
			tm["result"] = "passed"
		}, []string{`profile l4: statistics say total 4, passed 2, failed 1, skipped 1, not run 0, its tests give total 4, passed 3, failed 0`, "marked passed but has a failure location", "digest mismatch"}},
		{"a failed test marked passed with statistics, results and digest forged", func(doc map[string]any) {
			tm, prof, _ := findTest(t, doc, "ztunnel logs both identities")
			tm["result"] = "passed"
			st := prof["statistics"].(map[string]any)
			st["passed"], st["failed"] = 3.0, 0.0
			prof["result"] = "partial"
			doc["result"] = "partial"
			redigest(t, doc)
		}, []string{"marked passed but has a failure location", "marked passed but carries a failure or skip message", "claims summary differs"}},
		{"a skip removed", func(doc map[string]any) {
			_, prof, i := findTest(t, doc, "denied connections are counted")
			tests := prof["tests"].([]any)
			prof["tests"] = append(tests[:i], tests[i+1:]...)
		}, []string{"profile l4: statistics say total 4", "its tests give total 3", "digest mismatch"}},
		{"a skip turned into a pass", func(doc map[string]any) {
			tm, _, _ := findTest(t, doc, "denied connections are counted")
			tm["result"] = "passed"
		}, []string{"marked passed but carries a failure or skip message", "statistics say"}},
		{"statistics changed", func(doc map[string]any) {
			_, prof, _ := findTest(t, doc, "istiod is ready")
			prof["statistics"].(map[string]any)["passed"] = 5.0
		}, []string{"profile install: statistics say total 2, passed 5", "digest mismatch"}},
		{"a profile result changed", func(doc map[string]any) {
			_, prof, _ := findTest(t, doc, "no canary on the wire")
			prof["result"] = "success"
		}, []string{`profile l4: result is "success", its tests give "failure"`}},
		{"the digest changed", func(doc map[string]any) {
			doc["digest"] = "sha256:" + strings.Repeat("0", 64)
		}, []string{"digest mismatch: the file says sha256:0000"}},
		{"an image digest edited", func(doc map[string]any) {
			doc["mesh"].(map[string]any)["version"] = "1.99.0"
		}, []string{"digest mismatch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(tamper(t, dir, c.edit))
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *VerifyError, got %v", err)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestVerifyBadInputFailsFast(t *testing.T) {
	dir, _ := writtenReport(t)
	yamlReport, err := os.ReadFile(filepath.Join(dir, FileYAML))
	if err != nil {
		t.Fatal(err)
	}
	jsonReport, err := os.ReadFile(filepath.Join(dir, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	ginkgo, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"Ginkgo's report instead", "report.json", ginkgo, "is not a conformance report: the document is a list (a list: is it Ginkgo's report.json?"},
		{"a text file", "notes.txt", []byte("just some notes\n"), "is not a conformance report: the document is a plain string"},
		{"another kind", "gw.yaml", []byte("apiVersion: gateway.networking.k8s.io/v1\nkind: ConformanceReport2\n"), `is not a conformance report: kind "ConformanceReport2"`},
		{"empty", "empty.yaml", nil, "is empty"},
		{"truncated JSON", "cut.json", jsonReport[:len(jsonReport)/2], "is neither YAML nor JSON (truncated or not a report?)"},
		{"truncated YAML", "cut.yaml", yamlReport[:len(yamlReport)*2/3], "truncated"},
		{"unknown schema version", "v9.yaml", []byte(strings.Replace(string(yamlReport), "apiVersion: ambient-e2e.io/v1alpha1", "apiVersion: ambient-e2e.io/v9", 1)), `unknown schema version apiVersion "ambient-e2e.io/v9": this build reads ambient-e2e.io/v1alpha1 only`},
		{"an unknown field", "extra.yaml", []byte(string(yamlReport) + "signedBy: me\n"), "at /: additional properties 'signedBy' not allowed"},
		{"a wrong type", "type.yaml", []byte(strings.Replace(string(yamlReport), "nodeCount: 2", "nodeCount: two", 1)), "at /cluster/nodeCount: got string, want integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err := Verify(path)
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %s, want well under a second", elapsed)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v\nwant it to contain %q", err, c.want)
			}
			t.Logf("%s (%s)", err, time.Since(start))
			if _, err := Load(path); err == nil {
				t.Error("Load accepted it")
			}
		})
	}
}
