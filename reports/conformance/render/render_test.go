package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
)

// failedRun builds the report of a fixture run with a failure and a skip,
// an environment and perf data.
func failedRun(t *testing.T) (string, *conformance.Report, *runinfo.PerfData) {
	t.Helper()
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_FAIL=ztunnel-log", "FIXTURE_SKIP=deny-metric"}}.Run(t)
	fixturerun.WriteEnvironment(t, dir)
	r, err := conformance.Build(conformance.Inputs{GinkgoReport: filepath.Join(dir, "report.json"), Now: time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	perf, err := ReadPerfData(dir, r)
	if err != nil || perf == nil {
		t.Fatalf("perf data: %v %v", perf, err)
	}
	return dir, r, perf
}

// attrs collects the attribute maps of every element that has attribute key.
func attrs(t *testing.T, page []byte, key string) []map[string]string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			m := map[string]string{"": n.Data}
			for _, a := range n.Attr {
				m[a.Key] = a.Val
			}
			if _, ok := m[key]; ok {
				m["text"] = text(n)
				out = append(out, m)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

func TestHTMLShowsTheReport(t *testing.T) {
	_, r, perf := failedRun(t)
	page, err := HTML(r, perf)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<link", " src=", " href=", "@import", "url("} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("the page contains %q: it must not load anything", bad)
		}
	}
	if s := attrs(t, page, "data-digest"); len(s) != 1 || s[0]["data-digest"] != r.Digest || s[0]["data-result"] != conformance.ResultFailure {
		t.Errorf("summary %v", s)
	}
	cards := attrs(t, page, "data-profile")
	if len(cards) != len(r.Profiles) {
		t.Fatalf("%d profile cards, want %d", len(cards), len(r.Profiles))
	}
	for i, c := range cards {
		p := r.Profiles[i]
		if c["data-profile"] != p.Name || c["data-result"] != p.Result {
			t.Errorf("card %d: %v, want %s %s", i, c, p.Name, p.Result)
		}
	}
	stats := attrs(t, page, "data-stat")
	if len(stats) != 5*len(r.Profiles) {
		t.Fatalf("%d statistics, want 5 per profile", len(stats))
	}
	if l4 := stats[2*5 : 3*5]; l4[0]["text"] != "2" || l4[1]["text"] != "1" || l4[2]["text"] != "1" || l4[4]["text"] != "4" {
		t.Errorf("l4 statistics in the page %v, want 2 passed, 1 failed, 1 skipped of 4", l4)
	}
	rows := attrs(t, page, "data-test")
	if len(rows) != len(r.Tests()) {
		t.Errorf("%d test rows, want %d", len(rows), len(r.Tests()))
	}
	failures := attrs(t, page, "data-failure")
	if len(failures) != 1 || !strings.Contains(failures[0]["text"], "expected the connection to be mTLS, got plaintext") || !strings.Contains(failures[0]["text"], "bundles/ztunnel-log") {
		t.Errorf("failures %v", failures)
	}
	skips := attrs(t, page, "data-skip")
	if len(skips) != 1 || !strings.Contains(skips[0]["text"], "needs Istio >= 1.29") {
		t.Errorf("skip ledger %v", skips)
	}
	if b := attrs(t, page, "data-budget"); len(b) != 1 || b[0]["data-verdict"] != runinfo.BudgetHolds || !strings.Contains(b[0]["text"], "0.42 ms") {
		t.Errorf("budgets %v", b)
	}
	plots := attrs(t, page, "data-plot")
	var ids []string
	for _, p := range plots {
		ids = append(ids, p["data-plot"])
	}
	if strings.Join(ids, ",") != "cdf-http,percentiles-http,shifts-http" {
		t.Errorf("plots %v", ids)
	}
	if svgs := attrs(t, page, "viewBox"); len(svgs) != 3 {
		t.Errorf("%d inline SVG elements, want 3", len(svgs))
	}
	for _, legend := range []string{">none</text>", ">L4</text>", ">L4 p99</text>", ">L4 vs none</text>"} {
		if !bytes.Contains(page, []byte(legend)) {
			t.Errorf("no legend %q in the plots", legend)
		}
	}
	if img := attrs(t, page, "data-image"); len(img) != 4 || !strings.Contains(img[0]["text"], "sha256:1111") {
		t.Errorf("images %v", img)
	}
}

func TestHTMLWithoutPerfData(t *testing.T) {
	_, r, _ := failedRun(t)
	page, err := HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := attrs(t, page, "data-perf"); len(p) != 1 || p[0]["data-perf"] != "absent" || !strings.Contains(p[0]["text"], "perf/perf.json was named but not given") {
		t.Errorf("perf section %v", p)
	}
	if len(attrs(t, page, "data-plot")) != 0 {
		t.Error("plots without perf data")
	}
}

func TestMarkdownSummary(t *testing.T) {
	_, r, _ := failedRun(t)
	got := string(Markdown(r))
	for _, want := range []string{
		"## ambient-e2e conformance: failure",
		"Istio 1.30.1 on Kubernetes v1.34.4 (kind, 2 nodes)",
		"| l4 | ❌ failure | 2 | 1 | 1 | 0 | 4 |",
		"| install | ✅ success | 2 | 0 | 0 | 0 | 2 |",
		"- l4 · mtls: observed independently: yes; reported by the mesh: no",
		"- `Phase 3: mTLS ztunnel logs both identities` failed: ztunnel-log: expected the connection to be mTLS, got plaintext",
		"- `Phase 3: mTLS denied connections are counted`: deny-metric needs Istio >= 1.29",
		"| l4.http.p99 | L4 p99 | 0.42 ms [0.31, 0.55] | 1 ms | holds |",
		"digest `" + r.Digest + "`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestWriteAll(t *testing.T) {
	dir, r, perf := failedRun(t)
	p, err := Write(dir, r, perf)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.YAML, p.JSON, p.HTML, p.Markdown} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := conformance.Verify(p.YAML); err != nil {
		t.Error(err)
	}
}

func TestMain(m *testing.M) { os.Exit(fixturerun.Main(m)) }
