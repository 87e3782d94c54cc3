package verdict

import (
	"path/filepath"
	"testing"
)

// recordedRuns pairs each verdict table with a real run of it, recorded by
// `make verdict-data` after a self-test (the ztunnel mesh's after `make
// ztunnel-mesh`).
var recordedRuns = []struct{ table, run string }{
	{"../null-mesh.yaml", "testdata/null-mesh.json"},
	{"../control-plane-mesh.yaml", "testdata/control-plane-mesh.json"},
	{"../ztunnel-mesh.yaml", "testdata/ztunnel-mesh.json"},
}

// load reads a table and its recorded run.
func load(t *testing.T, table, run string) (Table, Recorded, []Outcome) {
	t.Helper()
	tab, err := LoadTable(table)
	if err != nil {
		t.Fatal(err)
	}
	rec, outcomes, err := ReadRecorded(run)
	if err != nil {
		t.Fatal(err)
	}
	return tab, rec, outcomes
}

// The false-pass guard without a cluster: every verdict table is judged
// against a real run, as the self-test judges it. A row edited to let a
// false pass through, a reason no run gives, or a spec added without a run
// that shows its verdict fails here, in make test.
func TestTablesAgainstRecordedRuns(t *testing.T) {
	for _, rr := range recordedRuns {
		tab, rec, outcomes := load(t, rr.table, rr.run)
		if rec.Table != filepath.Base(rr.table) {
			t.Errorf("%s was recorded against %s, not %s", rr.run, rec.Table, filepath.Base(rr.table))
		}
		for _, m := range Compare(tab, outcomes, false) {
			t.Errorf("%s against the run in %s: %s", rr.table, rr.run, m)
		}
	}
	if t.Failed() {
		t.Logf("a table change needs a run that shows it: make selftest, then make verdict-data (the ztunnel mesh's: make ztunnel-mesh, then make verdict-data)")
	}
}

// The guard catches the edit it exists for: any row flipped by hand, a
// mesh assertion to pass (a false pass let through) or a control to fail.
func TestTheGuardCatchesEveryFlippedRow(t *testing.T) {
	for _, rr := range recordedRuns {
		tab, _, outcomes := load(t, rr.table, rr.run)
		for i, r := range tab.Rows {
			flipped := tab
			flipped.Rows = append([]Row(nil), tab.Rows...)
			switch r.Verdict {
			case Fail, Skip:
				flipped.Rows[i] = Row{ID: r.ID, Spec: r.Spec, Verdict: Pass}
			case Pass:
				flipped.Rows[i] = Row{ID: r.ID, Spec: r.Spec, Verdict: Fail, Reason: "a reason no run gave"}
			}
			ms := Compare(flipped, outcomes, false)
			if len(ms) != 1 || ms[0].ID != r.ID {
				t.Errorf("%s: the row %s flipped from %s: %d mismatches %v, want exactly that row", rr.table, r.ID, r.Verdict, len(ms), ms)
			}
		}
	}
}

func TestRecordTrimsAndScrubsTheMachinesPaths(t *testing.T) {
	long := make([]byte, 3*MaxRecordedMessage)
	for i := range long {
		long[i] = 'x'
	}
	r := Record("null-mesh.yaml", "report.json", "/home/me/out/selftest", []Outcome{
		{Spec: "b", State: "failed", Message: "no istiod\nfailure bundle: /home/me/out/selftest/bundles/b-1"},
		{Spec: "a", State: "failed", Message: string(long)},
	})
	if r.Outcomes[0].Spec != "a" || len(r.Outcomes[0].Message) != MaxRecordedMessage {
		t.Errorf("outcomes not sorted by spec or a message not trimmed: %q, %d bytes", r.Outcomes[0].Spec, len(r.Outcomes[0].Message))
	}
	if got := r.Outcomes[1].Message; got != "no istiod\nfailure bundle: $REPORT_DIR/bundles/b-1" {
		t.Errorf("message %q still names the machine's report directory", got)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := WriteRecorded(path, r); err != nil {
		t.Fatal(err)
	}
	back, outcomes, err := ReadRecorded(path)
	if err != nil || back.Table != "null-mesh.yaml" || len(outcomes) != 2 || outcomes[1].State != "failed" {
		t.Errorf("read back %+v %+v %v", back, outcomes, err)
	}
}
