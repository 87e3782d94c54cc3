package conformance

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// build builds the report of the run in dir.
func build(t *testing.T, dir string, in Inputs) *Report {
	t.Helper()
	in.GinkgoReport = filepath.Join(dir, "report.json")
	if in.Now.IsZero() {
		in.Now = time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC)
	}
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// test finds a test by the end of its name.
func test(t *testing.T, r *Report, suffix string) Test {
	t.Helper()
	for _, x := range r.Tests() {
		if strings.HasSuffix(x.Name, suffix) {
			return x
		}
	}
	t.Fatalf("no test ending in %q in the report", suffix)
	return Test{}
}

func profile(t *testing.T, r *Report, name string) Profile {
	t.Helper()
	p := r.Profile(name)
	if p == nil {
		t.Fatalf("no profile %q", name)
	}
	return *p
}
