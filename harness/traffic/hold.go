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
	h := &Held{done: make(chan HoldOutcome, 1), ready: make(chan struct{})}
	h.Ready, h.Done = h.ready, h.done
	cmd := []string{image.BinaryPath, "hold", "--url", url, "--duration", duration.String()}
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
