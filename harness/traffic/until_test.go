package traffic

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// fakeExec answers each exec with the next scripted output or error.
type fakeExec struct {
	outs []string
	errs []error
	n    int
}

func (f *fakeExec) Exec(context.Context, string, string, string, []string) ([]byte, error) {
	i := min(f.n, len(f.outs)-1)
	f.n++
	return []byte(f.outs[i]), f.errs[i]
}

func (f *fakeExec) ExecStream(context.Context, string, string, string, []string, io.Writer, io.Writer) error {
	return errors.New("not used")
}

const ok200Line = `{"url":"http://b","protocol":"http","status":200,"body":{"pod":"backend-1","peer":"x","host":"b","method":"GET","path":"/","headers":{},"proto":"HTTP/1.1"},"errorClass":""}`
const resetJSON = `{"url":"http://b","protocol":"http","status":0,"error":"read: connection reset by peer","errorClass":"reset"}`

func TestUntilPassesOnceTheCheckPasses(t *testing.T) {
	wait.SetDefault(wait.Waiter{Out: io.Discard, Interval: time.Millisecond})
	f := &fakeExec{outs: []string{ok200Line, ok200Line, resetJSON}, errs: []error{nil, nil, nil}}
	c := Client{Kube: f, Namespace: "ns", Pod: "other"}
	r, err := c.Until(context.Background(), Request{URL: "http://b"}, Reset(), time.Second)
	if err != nil || r.ErrorClass != "reset" || f.n != 3 {
		t.Fatalf("r=%+v err=%v execs=%d", r, err, f.n)
	}
}

// The failure must name the last judged result even when a later attempt
// could not run: that text is what the null-mesh verdict table matches.
func TestUntilTimeoutKeepsTheLastJudgedResult(t *testing.T) {
	wait.SetDefault(wait.Waiter{Out: io.Discard, Interval: time.Millisecond})
	f := &fakeExec{outs: []string{ok200Line, ""}, errs: []error{nil, errors.New("error sending request: dial tcp 127.0.0.1:1: i/o timeout")}}
	c := Client{Kube: f, Namespace: "ns", Pod: "other"}
	_, err := c.Until(context.Background(), Request{URL: "http://b"}, Reset(), 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "expected reset, got 200 from backend-1") || !strings.Contains(err.Error(), "did not run") {
		t.Fatalf("err=%v", err)
	}
}

func TestUntilReportsExecErrorsWhenNothingWasJudged(t *testing.T) {
	wait.SetDefault(wait.Waiter{Out: io.Discard, Interval: time.Millisecond})
	f := &fakeExec{outs: []string{""}, errs: []error{errors.New("pods \"x\" not found")}}
	_, err := Client{Kube: f, Pod: "x"}.Until(context.Background(), Request{URL: "http://b"}, OK(), 30*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), `pods "x" not found`) {
		t.Fatalf("err=%v", err)
	}
}
