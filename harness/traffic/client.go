package traffic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Executor runs commands in pods; *kube.Kube is the real one.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string) ([]byte, error)
	ExecStream(ctx context.Context, namespace, pod, container string, cmd []string, stdout, stderr io.Writer) error
}

var _ Executor = (*kube.Kube)(nil)

// Client sends probe requests from inside one pod.
type Client struct {
	Kube      Executor
	Namespace string
	Pod       string
	Container string // "probe" when empty
}

// Request describes what to send.
type Request struct {
	URL     string
	Method  string
	Headers []string // "Name: value"
	Body    string
	Timeout time.Duration // per request; DefaultRequestTimeout when zero
	Count   int           // sequential requests, each on a new connection; 1 when zero
}

// DefaultRequestTimeout bounds one request when Request.Timeout is zero.
const DefaultRequestTimeout = 5 * time.Second

// PerRequest is the bound of one request.
func (q Request) PerRequest() time.Duration {
	if q.Timeout == 0 {
		return DefaultRequestTimeout
	}
	return q.Timeout
}

// Args renders the probe command line.
func (q Request) Args() []string {
	args := []string{image.BinaryPath, "request", "--url", q.URL}
	if q.Method != "" {
		args = append(args, "--method", q.Method)
	}
	for _, h := range q.Headers {
		args = append(args, "--header", h)
	}
	if q.Body != "" {
		args = append(args, "--body", q.Body)
	}
	args = append(args, "--timeout", q.PerRequest().String())
	if q.Count > 1 {
		args = append(args, "--count", strconv.Itoa(q.Count))
	}
	return args
}

// Send runs the request(s) in the pod and returns one result per request.
// A transport failure of the request is a result, not an error; an error
// means the probe could not be run or its output not read.
func (c Client) Send(ctx context.Context, q Request) ([]wire.Result, error) {
	container := c.Container
	if container == "" {
		container = "probe"
	}
	n := max(q.Count, 1)
	timeout := q.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n)*timeout+30*time.Second)
	defer cancel()
	out, err := c.Kube.Exec(ctx, c.Namespace, c.Pod, container, q.Args())
	probelog.Add("request", c.Namespace+"/"+c.Pod, q.Args(), out, err)
	if err != nil {
		return nil, err
	}
	return ParseResults(out, n)
}

// One sends a single request.
func (c Client) One(ctx context.Context, q Request) (wire.Result, error) {
	q.Count = 1
	rs, err := c.Send(ctx, q)
	if err != nil {
		return wire.Result{}, err
	}
	return rs[0], nil
}

// ParseResults reads want JSON lines of probe output.
func ParseResults(out []byte, want int) ([]wire.Result, error) {
	var rs []wire.Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r wire.Result
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("probe printed a line that is not a result: %q: %w", truncate(string(line), 200), err)
		}
		rs = append(rs, r)
	}
	if len(rs) != want {
		return nil, fmt.Errorf("probe printed %d results, want %d: %q", len(rs), want, truncate(string(out), 400))
	}
	return rs, nil
}

// Until repeats one request until check passes or timeout: for changes that
// take effect asynchronously (a policy reaching ztunnel). The timeout error
// carries the last judged result, e.g. "expected reset, got 200 from
// backend-…", even when a later attempt could not run (the API server was
// slow, or the bound cut an attempt short).
func (c Client) Until(ctx context.Context, q Request, check Check, timeout time.Duration) (wire.Result, error) {
	r, _, err := c.UntilTries(ctx, q, check, timeout)
	return r, err
}

// UntilTries is Until, also returning how many requests were sent: a check
// that passed only after several tries is reported as such.
func (c Client) UntilTries(ctx context.Context, q Request, check Check, timeout time.Duration) (wire.Result, int, error) {
	var last wire.Result
	var judged string // the last check failure of a completed request
	tries := 0
	what := fmt.Sprintf("%s → %s to pass the check", c.Pod, q.URL)
	err := wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		tries++
		r, err := c.One(ctx, q)
		if err != nil {
			if judged != "" {
				return false, judged + " (the next attempt did not run: " + truncate(err.Error(), 120) + ")", nil
			}
			return false, err.Error(), nil
		}
		last = r
		if err := check(r); err != nil {
			judged = err.Error()
			return false, judged, nil
		}
		return true, "", nil
	})
	return last, tries, err
}
