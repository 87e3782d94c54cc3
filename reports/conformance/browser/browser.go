// Package browser checks the HTML conformance report in a real headless
// Chromium (Debian's chromium, driven with github.com/chromedp/chromedp):
// the page renders without console errors or exceptions, loads nothing
// from outside, shows the numbers of the report it was rendered from, and
// leaves a full-page PNG screenshot.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/render"
)

// DefaultChrome is the Debian chromium binary; $CHROME overrides it.
const DefaultChrome = "/usr/bin/chromium"

// ErrNoChromium is returned when no Chromium binary is found.
var ErrNoChromium = errors.New("install chromium (apt-get install chromium)")

// ChromePath returns $CHROME or /usr/bin/chromium, or an error wrapping
// ErrNoChromium that names where it looked.
func ChromePath() (string, error) {
	path := os.Getenv("CHROME")
	if path == "" {
		path = DefaultChrome
	}
	found, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("headless Chromium not found at %s (set $CHROME to use another): %w", path, ErrNoChromium)
	}
	return found, nil
}

// page is what the checks read from the rendered page.
type page struct {
	Result      string            `json:"result"`
	Digest      string            `json:"digest"`
	MeshVersion string            `json:"meshVersion"`
	K8sVersion  string            `json:"k8sVersion"`
	Profiles    []pageProfile     `json:"profiles"`
	Tests       map[string]string `json:"tests"`      // name → data-result
	TestRows    int               `json:"testRows"`   // rows with data-test
	Budgets     map[string]string `json:"budgets"`    // name → estimate cell text
	Plots       int               `json:"plots"`      // figures that hold an svg
	PlotsDrawn  int               `json:"plotsDrawn"` // svgs with a non-empty box
	Width       int               `json:"width"`
}

type pageProfile struct {
	Name   string         `json:"name"`
	Result string         `json:"result"`
	Stats  map[string]int `json:"stats"`
}

const readPage = `(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const txt = (id) => { const e = document.getElementById(id); return e ? e.textContent.trim() : ""; };
  const sum = document.getElementById("summary") || {dataset: {}};
  const out = {result: sum.dataset.result || "", digest: sum.dataset.digest || "",
    meshVersion: txt("mesh-version"), k8sVersion: txt("kubernetes-version"),
    profiles: [], tests: {}, testRows: 0, budgets: {}, plots: 0, plotsDrawn: 0,
    width: document.documentElement.scrollWidth};
  for (const c of q(".card[data-profile]")) {
    const stats = {};
    for (const s of c.querySelectorAll("[data-stat]")) stats[s.dataset.stat] = parseInt(s.textContent, 10);
    out.profiles.push({name: c.dataset.profile, result: c.dataset.result, stats});
  }
  for (const r of q("tr[data-test]")) { out.tests[r.dataset.test] = r.dataset.result; out.testRows++; }
  for (const r of q("tr[data-budget]")) { const e = r.querySelector("[data-estimate]"); out.budgets[r.dataset.budget] = e ? e.textContent.trim() : ""; }
  for (const f of q("figure[data-plot]")) {
    const svg = f.querySelector("svg");
    if (!svg) continue;
    out.plots++;
    const b = svg.getBBox();
    if (b.width > 0 && b.height > 0 && svg.querySelectorAll("path").length > 0) out.plotsDrawn++;
  }
  return out;
})()`

// CheckHTML opens htmlPath in headless Chromium and checks that it renders
// without console errors or uncaught exceptions, requests nothing but the
// file itself, and shows r's numbers: the report's result and digest, the
// mesh and Kubernetes versions, each profile's result and statistics, every
// test's result, every budget's estimate, and (when r names perf data) at
// least one drawn plot. It saves a full-page PNG screenshot at
// screenshotPath, also when a check fails, and returns every problem found.
func CheckHTML(ctx context.Context, htmlPath string, r *conformance.Report, screenshotPath string) error {
	chrome, err := ChromePath()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("the HTML report to check: %w", err)
	}
	profileDir, err := os.MkdirTemp("", "ambient-e2e-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profileDir)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(profileDir),
	)
	defer cancelAlloc()
	var mu sync.Mutex
	var problems []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	url := "file://" + abs
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		return fmt.Errorf("starting %s: %w", chrome, err)
	}
	// Listen before navigating: fn sees every event of the load in order.
	err = chromedp.Listen(bctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u := e.Request.URL; u != url && !strings.HasPrefix(u, "data:") {
				note("the page requested %s: it must load nothing from outside the file", u)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				note("console.%s: %s", e.Type, consoleText(e.Args))
			}
		case *runtime.EventExceptionThrown:
			note("uncaught exception: %s", exceptionText(e.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				note("browser log error (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("listening to the page's console: %w", err)
	}

	runCtx, cancelRun := context.WithTimeout(bctx, 60*time.Second)
	defer cancelRun()
	if err := chromedp.Do(runCtx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		return fmt.Errorf("opening %s in Chromium: %w", url, err)
	}
	got, err := chromedp.Run(runCtx, chromedp.Evaluate[page](readPage))
	if err != nil {
		note("reading the page: %v", err)
	}
	shot, shotErr := chromedp.Run(runCtx, chromedp.FullScreenshot(100))
	if shotErr != nil {
		note("taking the screenshot: %v", shotErr)
	} else if err := conformance.WriteFile(screenshotPath, shot); err != nil {
		note("saving the screenshot: %v", err)
	}
	if err == nil {
		for _, m := range compare(got, r) {
			note("%s", m)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		return fmt.Errorf("the HTML report %s failed its browser check (%d problems; screenshot %s):\n  - %s", htmlPath, len(problems), screenshotPath, strings.Join(problems, "\n  - "))
	}
	return nil
}

// compare lists where the page differs from the report.
func compare(p page, r *conformance.Report) []string {
	var out []string
	diff := func(what, got, want string) {
		if got != want {
			out = append(out, fmt.Sprintf("%s: the page shows %q, the report says %q", what, got, want))
		}
	}
	diff("report result", p.Result, r.Result)
	diff("digest", p.Digest, r.Digest)
	diff("mesh version", p.MeshVersion, orUnknown(r.Mesh.Version))
	diff("Kubernetes version", p.K8sVersion, orUnknown(r.Cluster.KubernetesVersion))
	if len(p.Profiles) != len(r.Profiles) {
		out = append(out, fmt.Sprintf("the page shows %d profiles, the report has %d", len(p.Profiles), len(r.Profiles)))
	}
	for i := range min(len(p.Profiles), len(r.Profiles)) {
		pp, rp := p.Profiles[i], r.Profiles[i]
		diff(fmt.Sprintf("profile %d", i+1), pp.Name, rp.Name)
		diff("profile "+rp.Name+" result", pp.Result, rp.Result)
		s := rp.Statistics
		for k, want := range map[string]int{"total": s.Total, "passed": s.Passed, "failed": s.Failed, "skipped": s.Skipped, "notRun": s.NotRun} {
			if got, ok := pp.Stats[k]; !ok || got != want {
				out = append(out, fmt.Sprintf("profile %s %s: the page shows %d, the report says %d", rp.Name, k, got, want))
			}
		}
	}
	tests := r.Tests()
	if p.TestRows != len(tests) {
		out = append(out, fmt.Sprintf("the page has %d test rows, the report %d tests", p.TestRows, len(tests)))
	}
	for _, t := range tests {
		if got, ok := p.Tests[t.Name]; !ok {
			out = append(out, fmt.Sprintf("test %q is not in the page", t.Name))
		} else {
			diff("test "+t.Name, got, t.Result)
		}
	}
	for _, prof := range r.Profiles {
		for _, b := range prof.Budgets {
			diff("budget "+b.Name+" estimate", p.Budgets[b.Name], render.Number(b.Estimate)+" "+b.Unit)
		}
	}
	if r.Sources.PerfData != "" && p.PlotsDrawn == 0 {
		out = append(out, fmt.Sprintf("the report has perf data (%s) but the page draws no latency plot (%d figures with an svg)", r.Sources.PerfData, p.Plots))
	}
	if p.Plots != p.PlotsDrawn {
		out = append(out, fmt.Sprintf("%d of %d plots render empty", p.Plots-p.PlotsDrawn, p.Plots))
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func consoleText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	msg := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		msg += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1)
}
