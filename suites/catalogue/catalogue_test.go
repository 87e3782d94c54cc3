package catalogue

import (
	"slices"
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

func TestTheCatalogueIsValid(t *testing.T) {
	for _, p := range Validate(Tests()) {
		t.Error(p)
	}
	if len(Tests()) < 100 {
		t.Errorf("%d tests: the catalogue lost entries", len(Tests()))
	}
}

func TestValidateNamesEachProblem(t *testing.T) {
	good := Test{ID: "L4-A", Profile: runinfo.ProfileL4, Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "a"}
	for name, tc := range map[string]struct {
		tests []Test
		want  string
	}{
		"lower-case ID":  {[]Test{{ID: "l4-a", Profile: "l4", Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "a"}}, "upper-case words"},
		"duplicate":      {[]Test{good, good}, "declared twice"},
		"profile":        {[]Test{{ID: "X", Profile: "l5", Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "a"}}, "profile \"l5\""},
		"no evidence":    {[]Test{{ID: "X", Profile: "l4", Seed: SeedVerifyL4, Title: "a"}}, "no evidence"},
		"bad evidence":   {[]Test{{ID: "X", Profile: "l4", Evidence: []string{"evidence:vibes"}, Seed: SeedVerifyL4, Title: "a"}}, "neither"},
		"no seed step":   {[]Test{{ID: "X", Profile: "l4", Evidence: evidence(Mesh), Title: "a"}}, "seed step"},
		"no title given": {[]Test{{ID: "X", Profile: "l4", Evidence: evidence(Mesh), Seed: SeedVerifyL4}}, "title"},
	} {
		ps := Validate(tc.tests)
		if len(ps) != 1 || !strings.Contains(ps[0], tc.want) {
			t.Errorf("%s: %v, want one problem with %q", name, ps, tc.want)
		}
	}
}

func TestLabelsAreDerived(t *testing.T) {
	tt := Test{ID: "UPGRADE-X", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "mtls", Evidence: evidence(Observed, Mesh)}
	want := []string{"id:UPGRADE-X", "l4", "disruptive", "evidence:observed", "evidence:mesh", "claim:mtls"}
	if got := tt.Labels(); !slices.Equal(got, want) {
		t.Fatalf("labels = %v, want %v", got, want)
	}
	if runinfo.IDOf(want) != "UPGRADE-X" || runinfo.IDOf([]string{"l4"}) != "" {
		t.Fatal("runinfo.IDOf does not read the derived id: label")
	}
	noClaim := Test{ID: "PERF-X", Profile: runinfo.ProfilePerf, Evidence: evidence(Observed)}
	if got := noClaim.Labels(); slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, runinfo.ClaimPrefix) }) {
		t.Fatalf("a test that supports no claim carries %v", got)
	}
}

func TestMustLookupRefusesAnUndeclaredID(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not in the catalogue") {
			t.Fatalf("recover() = %v", r)
		}
	}()
	MustLookup("NO-SUCH-TEST")
}

// Check is what make test runs on the suite's dry runs: each way a spec
// and the catalogue can disagree is named.
func TestCheckFindsEveryDisagreement(t *testing.T) {
	ts := []Test{
		{ID: "A", Profile: "l4", Claim: "mtls", Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "a passes"},
		{ID: "B", Profile: "l4", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "b passes"},
		{ID: "CP", Profile: "enroll", Evidence: evidence(Mesh), Seed: SeedEnroll, BuildTag: "controlplane", Title: "cp"},
	}
	specA := Spec{Text: "Phase 3 a passes", Labels: ts[0].Labels()}
	specB := Spec{Text: "Phase 3 b passes", Labels: ts[1].Labels()}
	if ps := Check(ts, []Spec{specA, specB}, nil); len(ps) != 0 {
		t.Fatalf("agreeing suite: %v", ps)
	}
	for name, tc := range map[string]struct {
		specs []Spec
		tags  []string
		want  string
	}{
		"a spec with no entry":       {[]Spec{specA, specB, {Text: "new", Labels: []string{"l4"}}}, nil, "0 catalogue IDs"},
		"an ID not declared":         {[]Spec{specA, specB, {Text: "new", Labels: []string{"id:NEW"}}}, nil, "not in the catalogue"},
		"an entry with no spec":      {[]Spec{specA}, nil, "B: in the catalogue, but no spec"},
		"a build tag's entry":        {[]Spec{specA, specB}, []string{"controlplane"}, "CP: in the catalogue, but no spec"},
		"two specs, one ID":          {[]Spec{specA, specB, {Text: "Phase 3 again a passes", Labels: ts[0].Labels()}}, nil, "registered by two specs"},
		"a label typed by hand":      {[]Spec{specA, {Text: specB.Text, Labels: append(ts[1].Labels(), "claim:mtls")}}, nil, "not derived"},
		"text not the entry's title": {[]Spec{specA, {Text: "Phase 3 b fails", Labels: ts[1].Labels()}}, nil, "does not end with"},
	} {
		ps := Check(ts, tc.specs, tc.tags)
		if len(ps) != 1 || !strings.Contains(ps[0], tc.want) {
			t.Errorf("%s: %v, want one problem with %q", name, ps, tc.want)
		}
	}
}
