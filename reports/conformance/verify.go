package conformance

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// VerifyError lists every problem Verify found in a report file.
type VerifyError struct {
	Path     string
	Problems []string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%s is not a valid conformance report (%d problems):\n  - %s", e.Path, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Verify checks a report file (YAML or JSON): its identity and schema, that
// every test's fields agree with its result, that statistics, claims and
// results equal what its tests give, the vendor implementation block, and
// the digest. It returns nil or an error naming each problem (a
// *VerifyError once the file parsed as a report).
func Verify(path string) error {
	doc, err := readDocument(path)
	if err != nil {
		return err
	}
	if err := validateSchema(doc.value); err != nil {
		return &VerifyError{Path: path, Problems: []string{err.Error()}}
	}
	r, err := doc.decode(path)
	if err != nil {
		return &VerifyError{Path: path, Problems: []string{err.Error()}}
	}
	if problems := Check(r); len(problems) > 0 {
		return &VerifyError{Path: path, Problems: problems}
	}
	return nil
}

// Check returns the problems of a decoded report: inconsistent tests,
// derived fields that differ from what the tests give, an incomplete
// vendor implementation block and a wrong digest.
func Check(r *Report) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var names []string
	for _, p := range r.Profiles {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, runinfo.Profiles) {
		add("profiles are %v, want %v in that order", names, runinfo.Profiles)
	}
	for _, p := range r.Profiles {
		for _, t := range p.Tests {
			for _, m := range checkTest(t) {
				add("profile %s, test %q: %s", p.Name, t.Name, m)
			}
			if !slices.Contains(t.Labels, p.Name) {
				add("profile %s, test %q: its labels %v do not carry the profile %q", p.Name, t.Name, t.Labels, p.Name)
			}
		}
	}
	for _, t := range r.Unprofiled {
		for _, m := range checkTest(t) {
			add("unprofiled test %q: %s", t.Name, m)
		}
	}

	want := *r
	want.Profiles = slices.Clone(r.Profiles)
	Summarize(&want)
	for i, p := range r.Profiles {
		w := want.Profiles[i]
		if p.Statistics != w.Statistics {
			add("profile %s: statistics say %s, its tests give %s", p.Name, stats(p.Statistics), stats(w.Statistics))
		}
		if p.Result != w.Result {
			add("profile %s: result is %q, its tests give %q", p.Name, p.Result, w.Result)
		}
		if !reflect.DeepEqual(emptyNil(p.Claims), emptyNil(w.Claims)) {
			add("profile %s: the claims summary differs from what its tests give (%s)", p.Name, claimText(w.Claims))
		}
	}
	if r.Result != want.Result {
		add("result is %q, the profiles and suite nodes give %q", r.Result, want.Result)
	}
	if r.Mode == ModeVendor {
		if err := CheckImplementation(r.Mode, r.Implementation); err != nil {
			add("%v", err)
		}
	}
	if d, err := ComputeDigest(r); err != nil {
		add("digest: %v", err)
	} else if d != r.Digest {
		add("digest mismatch: the file says %s, its content gives %s: the report was modified after it was written (rebuild it from the run's files instead of editing it)", r.Digest, d)
	}
	return problems
}

func checkTest(t Test) []string {
	var out []string
	switch {
	case t.Result == TestPassed:
		if t.FailureLocation != "" {
			out = append(out, fmt.Sprintf("marked passed but has a failure location (%s): a failed test edited to pass?", t.FailureLocation))
		}
		if t.Message != "" {
			out = append(out, fmt.Sprintf("marked passed but carries a failure or skip message %q", firstLine(t.Message)))
		}
		if t.NotRunReason != "" {
			out = append(out, fmt.Sprintf("marked passed but has a reason it did not run (%q)", t.NotRunReason))
		}
		if t.Attempts == 0 {
			out = append(out, "marked passed but Ginkgo made no attempt")
		}
	case Failed(t.Result):
		if t.Message == "" {
			out = append(out, "marked "+t.Result+" but has no failure message")
		}
	case t.Result == TestSkipped:
		if t.Message == "" {
			out = append(out, "skipped without a reason")
		}
	case t.Result == TestNotRun:
		if t.NotRunReason == "" {
			out = append(out, "not run without a reason")
		}
		if t.Attempts != 0 {
			out = append(out, fmt.Sprintf("not run but Ginkgo made %d attempts", t.Attempts))
		}
	}
	if t.Result != TestNotRun && t.NotRunReason != "" {
		out = append(out, fmt.Sprintf("marked %s but has a reason it did not run (%q)", t.Result, t.NotRunReason))
	}
	if t.Bundle != "" && !Failed(t.Result) {
		out = append(out, fmt.Sprintf("marked %s but has a failure bundle (%s)", t.Result, t.Bundle))
	}
	if k := evidenceKind(t.Labels); k != t.EvidenceKind {
		out = append(out, fmt.Sprintf("evidence kind %q, its labels give %q", t.EvidenceKind, k))
	}
	if id := runinfo.IDOf(t.Labels); id != t.ID {
		out = append(out, fmt.Sprintf("ID %q, its labels give %q", t.ID, id))
	}
	if c := claimsOf(t.Labels); !slices.Equal(c, t.Claims) {
		out = append(out, fmt.Sprintf("claims %v, its labels give %v", t.Claims, c))
	}
	return out
}

func stats(s Statistics) string {
	return fmt.Sprintf("total %d, passed %d, failed %d, skipped %d, not run %d", s.Total, s.Passed, s.Failed, s.Skipped, s.NotRun)
}

func claimText(cs []Claim) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Summary)
	}
	if len(out) == 0 {
		return "no claims"
	}
	return strings.Join(out, "; ")
}

func emptyNil(cs []Claim) []Claim {
	if len(cs) == 0 {
		return nil
	}
	return cs
}
