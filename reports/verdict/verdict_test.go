package verdict

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

const table = `
environment: null mesh
rows:
  - id: INSTALL-ISTIOD
    spec: "Phase 1 istiod is ready"
    verdict: fail
    reason: "no istiod"
  - id: ENROLL-TRAFFIC
    spec: "Phase 2 the client reaches the server"
    verdict: pass
  - id: L4-METRIC
    spec: "L4 failed-connections metric"
    verdict: skip
    reason: "only from Istio 1.29"
`

func mustTable(t *testing.T) Table {
	t.Helper()
	tb, err := ParseTable([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

var good = []Outcome{
	{ID: "INSTALL-ISTIOD", Spec: "Phase 1 istiod is ready", State: "failed", Message: "no istiod: Deployment istio-system/istiod not found"},
	{ID: "ENROLL-TRAFFIC", Spec: "Phase 2 the client reaches the server", State: "passed"},
	{ID: "L4-METRIC", Spec: "L4 failed-connections metric", State: "skipped", Message: "gated: only from Istio 1.29"},
}

func TestCompareAgrees(t *testing.T) {
	if ms := Compare(mustTable(t), good, false); len(ms) != 0 {
		t.Fatalf("mismatches: %v", ms)
	}
}

func TestCompareFlagsEveryKindOfDifference(t *testing.T) {
	flip := func(i int, o Outcome) []Outcome {
		out := append([]Outcome(nil), good...)
		out[i] = o
		return out
	}
	cases := []struct {
		name     string
		outcomes []Outcome
		filtered bool
		kind     string
	}{
		{"a mesh assertion that passes is a false pass", flip(0, Outcome{ID: good[0].ID, Spec: good[0].Spec, State: "passed"}), false, "FALSE PASS"},
		{"failing for another reason", flip(0, Outcome{ID: good[0].ID, Spec: good[0].Spec, State: "failed", Message: "connection refused"}), false, "wrong reason"},
		{"a panic is not an expected failure", flip(0, Outcome{ID: good[0].ID, Spec: good[0].Spec, State: "panicked", Message: "no istiod"}), false, "unexpected state"},
		{"a control that fails", flip(1, Outcome{ID: good[1].ID, Spec: good[1].Spec, State: "failed", Message: "expected 200, got timeout"}), false, "control did not pass"},
		{"a gated check that ran", flip(2, Outcome{ID: good[2].ID, Spec: good[2].Spec, State: "passed"}), false, "not skipped"},
		{"skipped for another reason", flip(2, Outcome{ID: good[2].ID, Spec: good[2].Spec, State: "skipped", Message: "other"}), false, "wrong skip reason"},
		{"a spec without a row", append(append([]Outcome(nil), good...), Outcome{ID: "NEW", Spec: "new spec", State: "passed"}), false, "unlisted"},
		{"a spec without an ID (a report from before the catalogue)", []Outcome{good[0], {Spec: good[1].Spec, State: "passed"}, good[2]}, true, "unlisted"},
		{"a row whose spec did not run", good[:2], false, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := Compare(mustTable(t), tc.outcomes, tc.filtered)
			if len(ms) != 1 || ms[0].Kind != tc.kind {
				t.Fatalf("got %v, want one %q", ms, tc.kind)
			}
		})
	}
	if ms := Compare(mustTable(t), good[:2], true); len(ms) != 0 {
		t.Fatalf("a label-filtered run must not require absent rows: %v", ms)
	}
	// Ginkgo lists a spec a label filter left out as skipped, never
	// started: with a filter it is not judged; without one it is.
	leftOut := []Outcome{good[0], {ID: good[1].ID, Spec: good[1].Spec, State: "skipped", NotRun: true}, good[2]}
	if ms := Compare(mustTable(t), leftOut, true); len(ms) != 0 {
		t.Fatalf("a spec the filter left out was judged: %v", ms)
	}
	if ms := Compare(mustTable(t), leftOut, false); len(ms) != 1 || ms[0].Kind != "control did not pass" {
		t.Fatalf("unfiltered, a skipped control must be caught: %v", ms)
	}
}

func TestParseTableRejectsBadRows(t *testing.T) {
	for name, y := range map[string]string{
		"unknown verdict": "rows: [{id: A, spec: a, verdict: maybe}]",
		"fail no reason":  "rows: [{id: A, spec: a, verdict: fail}]",
		"duplicate":       "rows: [{id: A, spec: a, verdict: pass}, {id: A, spec: b, verdict: pass}]",
		"unknown field":   "rows: [{id: A, spec: a, verdict: pass, extra: 1}]",
		"no id":           "rows: [{spec: a, verdict: pass}]",
	} {
		if _, err := ParseTable([]byte(y)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestReadReportTakesItSpecsFromGinkgoJSON(t *testing.T) {
	reports := []types.Report{{SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed},
		{ContainerHierarchyTexts: []string{"Phase 1"}, LeafNodeText: "istiod is ready", LeafNodeType: types.NodeTypeIt,
			ContainerHierarchyLabels: [][]string{{"install"}}, LeafNodeLabels: []string{"id:INSTALL-ISTIOD-READY", "claim:control-plane"},
			State: types.SpecStateFailed, Failure: types.Failure{Message: "no istiod"}},
	}}}
	b, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ReadReport(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ID != "INSTALL-ISTIOD-READY" || out[0].Spec != "Phase 1 istiod is ready" || out[0].State != "failed" || out[0].Message != "no istiod" {
		t.Fatalf("%+v", out)
	}
	if _, err := ReadReport(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("missing report accepted")
	}
}

func TestSummaryMarksMismatches(t *testing.T) {
	tb := mustTable(t)
	out := []Outcome{{ID: good[0].ID, Spec: good[0].Spec, State: "passed"}, good[1], good[2]}
	s := Summary(tb, out, Compare(tb, out, false))
	if !strings.Contains(s, "FAIL expect fail got passed") || !strings.Contains(s, "FALSE PASS") || !strings.Contains(s, "1 mismatches") {
		t.Fatal(s)
	}
}

// The project's own null-mesh table must parse and name only specs with
// stable texts (the selftest compares it with a real report).
func TestNullMeshTableParses(t *testing.T) {
	tb, err := LoadTable("../null-mesh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fails, passes int
	for _, r := range tb.Rows {
		switch r.Verdict {
		case Fail:
			fails++
		case Pass:
			passes++
		}
	}
	if fails == 0 || passes == 0 {
		t.Fatalf("a null-mesh table needs both mesh assertions (fail) and controls (pass): %d/%d", fails, passes)
	}
}

func TestCoverageIgnoresVerdictsButNotNames(t *testing.T) {
	dry := []Outcome{{ID: good[0].ID, Spec: good[0].Spec, State: "passed"}, {ID: good[1].ID, Spec: good[1].Spec, State: "passed"}, {ID: "NEW", Spec: "new", State: "passed"}}
	ms := Coverage(mustTable(t), dry)
	if len(ms) != 2 || ms[0].Kind != "missing" || ms[1].Kind != "unlisted" {
		t.Fatalf("%v", ms)
	}
}

// A spec reworded keeps its row: matched by ID, only flagged for readers.
func TestARewordedSpecKeepsItsRow(t *testing.T) {
	reworded := append([]Outcome(nil), good...)
	reworded[1].Spec = "Phase 2 the client still reaches the server"
	if ms := Compare(mustTable(t), reworded, false); len(ms) != 0 {
		t.Fatalf("a reworded spec is the same test: %v", ms)
	}
	rt := Retitled(mustTable(t), reworded)
	if len(rt) != 1 || rt[0].ID != "ENROLL-TRAFFIC" || !strings.Contains(rt[0].Detail, "still reaches") {
		t.Fatalf("retitled = %v", rt)
	}
}

func TestSame(t *testing.T) {
	a := []Outcome{{Spec: "s1", State: "passed"}, {Spec: "s2", State: "failed", Message: "reset"}, {Spec: "s3", State: "skipped"}}
	if ms := Same(a, a); len(ms) != 0 {
		t.Fatalf("a run against itself: %v", ms)
	}
	b := []Outcome{{Spec: "s1", State: "passed"}, {Spec: "s2", State: "passed"}, {Spec: "s4", State: "passed"}}
	ms := Same(a, b)
	got := map[string]string{}
	for _, m := range ms {
		got[m.Spec] = m.Kind
	}
	want := map[string]string{"s2": "verdict changed", "s3": "only in the first run", "s4": "only in the second run"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}
