package probelog

import (
	"errors"
	"strings"
	"testing"
)

func TestRecordIsBounded(t *testing.T) {
	Take()
	for i := range MaxEntries + 10 {
		out := []byte("{}")
		if i == MaxEntries+9 {
			out = []byte(strings.Repeat("x", MaxOutput+1))
		}
		Add("request", "ns/pod", []string{"/probe", "request"}, out, nil)
	}
	Add("load", "ns/pod", []string{"/probe", "load"}, nil, errors.New("exec failed"))
	got := Take()
	if len(got) != MaxEntries {
		t.Fatalf("%d entries kept, want %d", len(got), MaxEntries)
	}
	last := got[len(got)-1]
	if last.Kind != "load" || last.Err != "exec failed" {
		t.Errorf("newest entry = %+v", last)
	}
	cut := got[len(got)-2]
	if !cut.Cut || len(cut.Output) != MaxOutput {
		t.Errorf("a long output is cut to %d bytes: %d, cut=%v", MaxOutput, len(cut.Output), cut.Cut)
	}
	if len(Take()) != 0 {
		t.Error("Take does not forget")
	}
}
