// Package verdict compares a Ginkgo JSON report with a table of expected
// verdicts. Its first use is the null-mesh self-test: against a cluster with
// no mesh every mesh assertion must fail, for the stated reason, and every
// control must pass. A mesh assertion that passes there is a false pass.
package verdict

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Expected verdicts.
const (
	Pass = "pass" // a control: must pass
	Fail = "fail" // a mesh assertion: must fail, with Reason in its message
	Skip = "skip" // a gated check: must be skipped, with Reason in its message
)

// Row is one spec's expected verdict, keyed by the spec's catalogue ID.
type Row struct {
	ID      string `json:"id"`               // the conformance test's stable ID (suites/catalogue): the key
	Spec    string `json:"spec"`             // full spec text, for people: not compared (a reworded spec keeps its row)
	Verdict string `json:"verdict"`          // pass | fail | skip
	Reason  string `json:"reason,omitempty"` // substring of the failure or skip message
	Why     string `json:"why,omitempty"`    // what the row proves, for readers of the table
}

// Table is the expected verdicts of one environment.
type Table struct {
	Environment string `json:"environment"`
	Rows        []Row  `json:"rows"`
}

// LoadTable reads and validates a table file.
func LoadTable(path string) (Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Table{}, err
	}
	return ParseTable(b)
}

// ParseTable parses and validates a table.
func ParseTable(b []byte) (Table, error) {
	var t Table
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return t, fmt.Errorf("verdict table: %w", err)
	}
	seen := map[string]bool{}
	for i, r := range t.Rows {
		switch {
		case r.ID == "":
			return t, fmt.Errorf("verdict table row %d (%q): no id (the spec's catalogue ID, suites/catalogue)", i+1, r.Spec)
		case seen[r.ID]:
			return t, fmt.Errorf("verdict table: %s listed twice", r.ID)
		case r.Verdict != Pass && r.Verdict != Fail && r.Verdict != Skip:
			return t, fmt.Errorf("verdict table, %q: verdict %q, want pass, fail or skip", r.Spec, r.Verdict)
		case r.Verdict != Pass && r.Reason == "":
			return t, fmt.Errorf("verdict table, %q: a %s row needs the reason it must %s with", r.Spec, r.Verdict, r.Verdict)
		}
		seen[r.ID] = true
	}
	return t, nil
}

// Outcome is what one spec did, read from a Ginkgo report.
type Outcome struct {
	// ID is the spec's catalogue ID, from its id: label ("" in a report
	// from before the catalogue).
	ID      string
	Spec    string
	State   string // passed, failed, skipped, timedout, panicked, …
	Message string
	// Labels are the spec's labels, containers' included (not recorded).
	Labels []string `json:"-"`
	// NotRun says Ginkgo never started the spec and gave no reason: a label
	// filter or focus left it out (it still lists such a spec as skipped).
	NotRun bool `json:"-"`
}

// Key is what an outcome is matched by: its ID, or its text without one.
func (o Outcome) Key() string {
	if o.ID != "" {
		return o.ID
	}
	return o.Spec
}

// ReadReport reads the It specs of a Ginkgo JSON report (--json-report).
func ReadReport(path string) ([]Outcome, error) {
	out, _, err := ReadReportTimed(path)
	return out, err
}

// ReadReportTimed is ReadReport with the run's wall time (the sum of its
// suites' run times).
func ReadReportTimed(path string) ([]Outcome, time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	var suites []types.Report
	if err := json.Unmarshal(b, &suites); err != nil {
		return nil, 0, fmt.Errorf("%s is not a Ginkgo JSON report: %w", path, err)
	}
	var out []Outcome
	var wall time.Duration
	for _, s := range suites {
		wall += s.RunTime
		for _, sr := range s.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			labels := sr.Labels()
			out = append(out, Outcome{ID: runinfo.IDOf(labels), Spec: sr.FullText(), State: sr.State.String(), Message: sr.FailureMessage(), Labels: labels, NotRun: runinfo.LeftOut(sr)})
		}
	}
	return out, wall, nil
}

// Mismatch is one difference between the table and the report.
type Mismatch struct {
	ID     string // the spec's catalogue ID ("" when it has none)
	Spec   string // its text
	Kind   string // FALSE PASS, unexpected failure, wrong reason, missing, unlisted, …
	Detail string
}

// Key is what the mismatch is about, as Outcome.Key: its ID, or its text.
func (m Mismatch) Key() string {
	if m.ID != "" {
		return m.ID
	}
	return m.Spec
}

func (m Mismatch) String() string {
	if m.ID != "" {
		return fmt.Sprintf("%s: %s (%s)\n    %s", m.Kind, m.ID, m.Spec, m.Detail)
	}
	return fmt.Sprintf("%s: %s\n    %s", m.Kind, m.Spec, m.Detail)
}

// Compare judges outcomes against the table. Every row must have run and
// every spec that ran must have a row (new specs add their row). With
// filtered (LABEL_FILTER set), specs the filter left out (absent, or listed
// by Ginkgo as skipped without ever starting: NotRun) are not judged and
// their rows not required.
func Compare(t Table, outcomes []Outcome, filtered bool) []Mismatch {
	var ms []Mismatch
	rows := map[string]Row{}
	for _, r := range t.Rows {
		rows[r.ID] = r
	}
	ran := map[string]bool{}
	for _, o := range outcomes {
		if filtered && o.NotRun {
			continue // left out by the filter: as absent
		}
		ran[o.Key()] = true
		r, ok := rows[o.Key()]
		if !ok {
			detail := fmt.Sprintf("the spec %s but has no row in the verdict table: add one", o.State)
			if o.ID == "" {
				detail = fmt.Sprintf("the spec %s but carries no catalogue ID (a report from before the catalogue?)", o.State)
			}
			ms = append(ms, Mismatch{o.ID, o.Spec, "unlisted", detail})
			continue
		}
		if m, bad := judge(r, o); bad {
			ms = append(ms, m)
		}
	}
	if !filtered {
		for _, r := range t.Rows {
			if !ran[r.ID] {
				ms = append(ms, Mismatch{r.ID, r.Spec, "missing", "the table expects this test but the report does not have it (removed from the catalogue?)"})
			}
		}
	}
	sortMismatches(ms)
	return ms
}

func sortMismatches(ms []Mismatch) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].ID != ms[j].ID {
			return ms[i].ID < ms[j].ID
		}
		return ms[i].Spec < ms[j].Spec
	})
}

// Retitled lists the rows whose text differs from the spec's text in the
// report (matched by ID): not a mismatch, a row to refresh for readers.
func Retitled(t Table, outcomes []Outcome) []Mismatch {
	text := map[string]string{}
	for _, o := range outcomes {
		text[o.Key()] = o.Spec
	}
	var ms []Mismatch
	for _, r := range t.Rows {
		if now, ok := text[r.ID]; ok && now != r.Spec {
			ms = append(ms, Mismatch{r.ID, r.Spec, "retitled", fmt.Sprintf("the spec now reads %q", now)})
		}
	}
	return ms
}

// Coverage checks only that table and report name the same specs, for a
// dry run (which marks every spec passed): a new spec without a row, or a
// row whose spec was renamed, is caught before any cluster exists.
func Coverage(t Table, outcomes []Outcome) []Mismatch {
	var ms []Mismatch
	for _, m := range Compare(t, outcomes, false) {
		if m.Kind == "unlisted" || m.Kind == "missing" {
			ms = append(ms, m)
		}
	}
	return ms
}

func judge(r Row, o Outcome) (Mismatch, bool) {
	msg := strings.TrimSpace(o.Message)
	switch r.Verdict {
	case Fail:
		switch {
		case o.State == "passed":
			return Mismatch{o.ID, o.Spec, "FALSE PASS", fmt.Sprintf("a mesh assertion passed where it must fail with %q", r.Reason)}, true
		case o.State != "failed" && o.State != "timedout":
			return Mismatch{o.ID, o.Spec, "unexpected state", fmt.Sprintf("want failed with %q, got %s: %s", r.Reason, o.State, firstLine(msg))}, true
		case !strings.Contains(msg, r.Reason):
			return Mismatch{o.ID, o.Spec, "wrong reason", fmt.Sprintf("failed, but not with %q: %s", r.Reason, firstLine(msg))}, true
		}
	case Pass:
		if o.State != "passed" {
			return Mismatch{o.ID, o.Spec, "control did not pass", fmt.Sprintf("%s: %s", o.State, firstLine(msg))}, true
		}
	case Skip:
		switch {
		case o.State != "skipped":
			return Mismatch{o.ID, o.Spec, "not skipped", fmt.Sprintf("want skipped with %q, got %s: %s", r.Reason, o.State, firstLine(msg))}, true
		case !strings.Contains(msg, r.Reason):
			return Mismatch{o.ID, o.Spec, "wrong skip reason", fmt.Sprintf("skipped, but not with %q: %s", r.Reason, firstLine(msg))}, true
		}
	}
	return Mismatch{}, false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Summary renders the comparison as a table a reader can act on.
func Summary(t Table, outcomes []Outcome, ms []Mismatch) string {
	bad := map[string]Mismatch{}
	for _, m := range ms {
		bad[m.ID] = m
	}
	state := map[string]string{}
	for _, o := range outcomes {
		state[o.Key()] = o.State
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Verdicts for %s: %d rows, %d mismatches\n", t.Environment, len(t.Rows), len(ms))
	for _, r := range t.Rows {
		mark := "ok  "
		if _, isBad := bad[r.ID]; isBad {
			mark = "FAIL"
		}
		got := state[r.ID]
		if got == "" {
			got = "not run"
		}
		fmt.Fprintf(&b, "  %s expect %-4s got %-8s %s %s\n", mark, r.Verdict, got, r.ID, r.Spec)
	}
	for _, m := range ms {
		b.WriteString("  " + m.String() + "\n")
	}
	return b.String()
}

// Same compares two runs of the suite spec by spec (a flake check): every
// spec must be in both, in the same state. It says nothing of whether the
// states are right; Compare does that against a table.
func Same(a, b []Outcome) []Mismatch {
	var ms []Mismatch
	in := map[string]Outcome{}
	for _, o := range b {
		in[o.Key()] = o
	}
	seen := map[string]bool{}
	for _, o := range a {
		seen[o.Key()] = true
		other, ok := in[o.Key()]
		switch {
		case !ok:
			ms = append(ms, Mismatch{o.ID, o.Spec, "only in the first run", "it " + o.State + " there"})
		case other.State != o.State:
			ms = append(ms, Mismatch{o.ID, o.Spec, "verdict changed", fmt.Sprintf("%s, then %s: %s", o.State, other.State, firstLine(strings.TrimSpace(other.Message+" "+o.Message)))})
		}
	}
	for _, o := range b {
		if !seen[o.Key()] {
			ms = append(ms, Mismatch{o.ID, o.Spec, "only in the second run", "it " + o.State + " there"})
		}
	}
	sortMismatches(ms)
	return ms
}

// Recorded is a run's outcomes trimmed to what Compare reads (spec text,
// state, the failure or skip message up to MaxRecordedMessage bytes): the
// data the false-pass guard keeps in the repository, so `make test` judges
// the verdict tables against real runs without a cluster.
type Recorded struct {
	// Table is the verdict table the run matched when it was recorded.
	Table string `json:"table"`
	// Source says where the run came from (the report it was read from).
	Source   string           `json:"source"`
	Outcomes []RecordedResult `json:"outcomes"`
}

// RecordedResult is one Outcome as Recorded keeps it.
type RecordedResult struct {
	ID      string `json:"id,omitempty"`
	Spec    string `json:"spec"`
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
}

// MaxRecordedMessage bounds a recorded message: a table's reason is a short
// substring near its start.
const MaxRecordedMessage = 2000

// Record trims outcomes for WriteRecorded. reportDir, the run's report
// directory, becomes "$REPORT_DIR" in the messages (failure bundles are
// named by their path): no machine's path goes into the repository.
func Record(table, source, reportDir string, outcomes []Outcome) Recorded {
	r := Recorded{Table: table, Source: source}
	for _, o := range outcomes {
		msg := strings.TrimSpace(o.Message)
		if reportDir != "" {
			msg = strings.ReplaceAll(msg, reportDir, "$REPORT_DIR")
		}
		if len(msg) > MaxRecordedMessage {
			msg = strings.ToValidUTF8(msg[:MaxRecordedMessage], "")
		}
		r.Outcomes = append(r.Outcomes, RecordedResult{ID: o.ID, Spec: o.Spec, State: o.State, Message: msg})
	}
	sort.Slice(r.Outcomes, func(i, j int) bool {
		return r.Outcomes[i].ID+"\x00"+r.Outcomes[i].Spec < r.Outcomes[j].ID+"\x00"+r.Outcomes[j].Spec
	})
	return r
}

// WriteRecorded writes r as indented JSON.
func WriteRecorded(path string, r Recorded) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadRecorded reads a file WriteRecorded wrote and returns its outcomes.
func ReadRecorded(path string) (Recorded, []Outcome, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Recorded{}, nil, err
	}
	var r Recorded
	if err := json.Unmarshal(b, &r); err != nil {
		return Recorded{}, nil, fmt.Errorf("%s is not a recorded run: %w", path, err)
	}
	if len(r.Outcomes) == 0 {
		return Recorded{}, nil, fmt.Errorf("%s records no outcomes", path)
	}
	out := make([]Outcome, len(r.Outcomes))
	for i, o := range r.Outcomes {
		out[i] = Outcome{ID: o.ID, Spec: o.Spec, State: o.State, Message: o.Message}
	}
	return r, out, nil
}
