package browser

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/internal/fixturerun"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/render"
)

// rendered writes the reports of a fixture run with a failure, a skip, an
// environment and perf data; it returns the report and the HTML path.
func rendered(t *testing.T) (*conformance.Report, string) {
	t.Helper()
	dir := fixturerun.Scenario{Env: []string{"FIXTURE_FAIL=ztunnel-log", "FIXTURE_SKIP=deny-metric"}}.Run(t)
	fixturerun.WriteEnvironment(t, dir)
	r, err := conformance.Build(conformance.Inputs{GinkgoReport: filepath.Join(dir, "report.json")})
	if err != nil {
		t.Fatal(err)
	}
	perf, err := render.ReadPerfData(dir, r)
	if err != nil || perf == nil {
		t.Fatalf("perf data %v: %v", perf, err)
	}
	paths, err := render.Write(dir, r, perf)
	if err != nil {
		t.Fatal(err)
	}
	return r, paths.HTML
}

func context60(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestCheckHTMLInChromium needs Debian's chromium; without it the test
// fails with "install chromium (apt-get install chromium)".
func TestCheckHTMLInChromium(t *testing.T) {
	r, page := rendered(t)
	shot := filepath.Join(filepath.Dir(page), "conformance-report.png")
	if err := CheckHTML(context60(t), page, r, shot); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() <= 900 {
		t.Errorf("screenshot %dx%d, want the full page (taller than the 900 px window)", b.Dx(), b.Dy())
	}
	if dest := os.Getenv("SCREENSHOT_OUT"); dest != "" { // keep one for a look
		if err := os.WriteFile(dest, data, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func TestCheckHTMLFindsWhatIsWrong(t *testing.T) {
	r, page := rendered(t)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(html), "</body>", `<img src="http://192.0.2.1/logo.png" alt="">
<script>console.error("render failed"); null.boom;</script>
</body>`, 1)
	brokenPath := filepath.Join(filepath.Dir(page), "broken.html")
	if err := os.WriteFile(brokenPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	other := *r // a report whose numbers differ from the page
	other.Profiles = append([]conformance.Profile(nil), r.Profiles...)
	other.Profiles[2].Statistics.Passed++
	other.Result = conformance.ResultSuccess
	other.Mesh.Version = "1.31.0"

	err = CheckHTML(context60(t), brokenPath, &other, filepath.Join(t.TempDir(), "broken.png"))
	if err == nil {
		t.Fatal("a broken page whose numbers differ from the report passed the check")
	}
	for _, want := range []string{
		"the page requested http://192.0.2.1/logo.png",
		"console.error: render failed",
		"uncaught exception",
		`report result: the page shows "failure", the report says "success"`,
		`mesh version: the page shows "1.30.1", the report says "1.31.0"`,
		"profile l4 passed: the page shows 2, the report says 3",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestCheckHTMLWithoutChromium(t *testing.T) {
	t.Setenv("CHROME", filepath.Join(t.TempDir(), "no-chromium"))
	err := CheckHTML(context.Background(), "unused.html", &conformance.Report{}, "unused.png")
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "install chromium (apt-get install chromium)") {
		t.Errorf("error %v, want one saying to install chromium", err)
	}
}

func TestMain(m *testing.M) { os.Exit(fixturerun.Main(m)) }
