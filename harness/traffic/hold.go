package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
)

// Held is a long-lived connection running in a pod (`probe hold`).
type Held struct {
	Ready <-chan struct{}    // closed once the first ping came back
	Done  <-chan HoldOutcome // receives the outcome once it ends
	done  chan HoldOutcome   // the sending side of Done
	ready chan struct{}      // the sending side of Ready
	once  sync.Once          // closes ready once
}

// HoldOutcome is how a held connection ended, with the harness's clock.
type HoldOutcome struct {
	Result wire.HoldResult
	Ended  time.Time // when the harness saw it end
	Err    error     // the probe could not be run or read
}

// readyWriter closes ready when the probe reports it on stderr.
type readyWriter struct {
	h   *Held
	buf bytes.Buffer
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), `{"ready":true}`) {
		w.h.once.Do(func() { close(w.h.ready) })
	}
	return len(p), nil
}

// Hold opens one TCP connection from the client pod to a tcp:// echo URL
// and keeps pinging through it for at most duration.
func (c Client) Hold(ctx context.Context, url string, duration time.Duration) *Held {
	return c.HoldStoppable(ctx, url, duration, "")
}

// HoldStoppable is Hold that Client.Stop(stopName) can end early: the
// connection then counts as not broken.
func (c Client) HoldStoppable(ctx context.Context, url string, duration time.Duration, stopName string) *Held {
	h := &Held{done: make(chan HoldOutcome, 1), ready: make(chan struct{})}
	h.Ready, h.Done = h.ready, h.done
	cmd := []string{image.BinaryPath, "hold", "--url", url, "--duration", duration.String()}
	if stopName != "" {
		cmd = append(cmd, "--stop-name", stopName)
	}
	container := c.Container
	if container == "" {
		container = "probe"
	}
	go func() {
		var stdout bytes.Buffer
		stderr := &readyWriter{h: h}
		ctx, cancel := context.WithTimeout(ctx, duration+30*time.Second)
		defer cancel()
		err := c.Kube.ExecStream(ctx, c.Namespace, c.Pod, container, cmd, &stdout, stderr)
		probelog.Add("hold", c.Namespace+"/"+c.Pod, cmd, stdout.Bytes(), err)
		out := HoldOutcome{Ended: time.Now(), Err: err}
		if err == nil {
			if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &out.Result); jerr != nil {
				out.Err = fmt.Errorf("probe hold printed %q: %w (stderr %q)", truncate(stdout.String(), 200), jerr, truncate(stderr.buf.String(), 200))
			}
		}
		h.done <- out
	}()
	return h
}

// Stop ends the runs started in the client pod with these stop names
// (RoundTrip.StopName, HoldStoppable): each prints its result as for an
// interrupt. It returns the names that had no run to stop (it had ended,
// e.g. a held connection that broke); the error is the exec's.
func (c Client) Stop(ctx context.Context, names ...string) (notRunning []string, err error) {
	cmd := []string{image.BinaryPath, "stop"}
	for _, n := range names {
		cmd = append(cmd, "--name", n)
	}
	container := c.Container
	if container == "" {
		container = "probe"
	}
	out, err := c.Kube.Exec(ctx, c.Namespace, c.Pod, container, cmd)
	probelog.Add("stop", c.Namespace+"/"+c.Pod, cmd, out, err)
	if err != nil {
		return nil, fmt.Errorf("stop %v in %s/%s: %w (%s)", names, c.Namespace, c.Pod, err, strings.TrimSpace(string(out)))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if name, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(rest, "not running") {
			notRunning = append(notRunning, name)
		}
	}
	return notRunning, nil
}
