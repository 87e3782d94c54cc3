package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRenderIsATableWithOneFactARow(t *testing.T) {
	r := Report{Namespace: "shop", MeshNamespace: "istio-system", Steps: []Step{
		{Number: 0, Check: CheckKubernetes, State: Pass, Evidence: []string{"API server answered", "namespace shop exists"}},
		{Number: 3, Check: CheckZtunnel, State: Fail, Evidence: []string{"no ztunnel pod on node worker2\n(two lines)"}, Next: []string{"kubectl get pods", "istioctl zc workload"}},
		{Number: 4, Check: CheckWaypoint, State: NotApplicable},
	}}
	var b bytes.Buffer
	if err := r.Render(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []struct{ prefix, contains string }{
		{"STEP", "CHECK  "},
		{"0 ", "API server answered"},
		{" ", "namespace shop exists"},
		{"3 ", "no ztunnel pod on node worker2 (two lines)"},
		{" ", "istioctl zc workload"},
		{"4 ", "not applicable"},
		{"namespace shop (mesh namespace istio-system): 1 passed, 1 failed, 1 not applicable; failed steps: 3", ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.prefix) || !strings.Contains(lines[i], w.contains) {
			t.Errorf("line %d = %q, want prefix %q containing %q", i, lines[i], w.prefix, w.contains)
		}
	}
	// The columns line up: RESULT starts at the same offset on every step row.
	col := strings.Index(lines[0], "RESULT")
	for _, i := range []int{1, 3, 5} {
		if got := lines[i][col:]; !strings.HasPrefix(got, string(r.Steps[map[int]int{1: 0, 3: 1, 5: 2}[i]].State)) {
			t.Errorf("line %d: result column starts with %q", i, got)
		}
	}
	// The first "next" sits on the same row as the step.
	if !strings.Contains(lines[3], "kubectl get pods") {
		t.Errorf("next not on the step's row: %q", lines[3])
	}
}

func TestFailed(t *testing.T) {
	r := Report{Steps: []Step{{State: Pass}, {State: NotApplicable}}}
	if r.Failed() {
		t.Fatal("no failed step, but Failed")
	}
	r.Steps = append(r.Steps, Step{State: Fail})
	if !r.Failed() {
		t.Fatal("a failed step, but not Failed")
	}
}

func TestJSONForTheBundle(t *testing.T) {
	r := Judge(noMesh())
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Namespace != "shop" || len(back.Steps) != 7 || back.Steps[3].State != Fail || back.Steps[4].State != NotApplicable {
		t.Fatalf("round trip: %+v", back)
	}
	for _, k := range []string{`"step": 3`, `"check": "Is ztunnel intercepting traffic?"`, `"result": "fail"`, `"result": "not applicable"`, `"evidence": [`, `"next": [`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s:\n%s", k, b)
		}
	}
}

func TestOptionsDefaultsAndBadInput(t *testing.T) {
	o, err := Options{Namespace: "shop"}.WithDefaults()
	if err != nil || o.MeshNamespace != "istio-system" || o.TrustDomain != "cluster.local" || o.CallTimeout != 10*time.Second {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = Options{Namespace: "shop", MeshNamespace: "mesh", TrustDomain: "corp", CallTimeout: time.Second}.WithDefaults()
	if err != nil || o.MeshNamespace != "mesh" || o.TrustDomain != "corp" || o.CallTimeout != time.Second {
		t.Fatalf("explicit values replaced: %+v %v", o, err)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "no namespace given"},
		{Options{Namespace: "Shop_1"}, `namespace "Shop_1" is not a valid namespace name`},
		{Options{Namespace: "shop", MeshNamespace: "istio/system"}, `mesh namespace "istio/system" is not a valid namespace name`},
		{Options{Namespace: "shop", TrustDomain: "a/b"}, `trust domain "a/b" must not contain`},
		{Options{Namespace: "shop", CallTimeout: -time.Second}, "call timeout -1s is negative"},
	} {
		if _, err := tc.o.WithDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestRenderWrapsLongLines(t *testing.T) {
	long := "shop/require-jwt: ztunnel cannot enforce it as written: ZtunnelAccepted=True (UnsupportedValue: ztunnel does not support HTTP attributes (found: methods, requestPrincipals). In ambient mode you must use a waypoint proxy to enforce HTTP rules.)"
	r := Report{Namespace: "shop", MeshNamespace: "istio-system", Steps: []Step{
		{Number: 5, Check: CheckPolicies, State: Fail, Evidence: []string{long}, Next: []string{"bind L7 rules to a waypoint with targetRefs (https://istio.io/latest/docs/ambient/usage/l7-features/)"}},
	}}
	var b bytes.Buffer
	if err := r.Render(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	col := strings.Index(lines[0], "EVIDENCE")
	next := strings.Index(lines[0], "NEXT")
	if next-col > evidenceWidth+2 {
		t.Errorf("the evidence column is %d wide, want at most %d", next-col, evidenceWidth+2)
	}
	var rebuilt []string
	for _, l := range lines[1 : len(lines)-1] {
		rebuilt = append(rebuilt, strings.TrimSpace(l[col:next]))
	}
	if got := strings.Join(rebuilt, " "); !strings.Contains(got, long) {
		t.Errorf("wrapped evidence does not rejoin to the original:\n%s\n%s", got, long)
	}
	if !strings.HasPrefix(lines[2][col:], "  ") {
		t.Errorf("continuation row not indented: %q", lines[2])
	}
	if !strings.Contains(b.String(), "(https://istio.io/latest/docs/ambient/usage/l7-features/)") {
		t.Errorf("a long word was cut:\n%s", b.String())
	}
}
