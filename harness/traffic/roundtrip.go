package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
)

// Defaults of a RoundTrip's zero fields.
const (
	// DefaultRoundTripCount is the number of samples when Count is 0.
	DefaultRoundTripCount = 100
	// DefaultRoundTripSize is the round trip size when Size is 0: netperf's 1 byte.
	DefaultRoundTripSize = 1
	// DefaultRoundTripTimeout bounds each sample when Timeout is 0.
	DefaultRoundTripTimeout = 5 * time.Second
)

// RoundTrip describes TCP round trips from a pod through the probe's TCP
// echo server (`probe rr`).
type RoundTrip struct {
	URL        string        // tcp://host:port of the echo server
	Mode       string        // wire.RoundTripRR (one connection) or wire.RoundTripCRR (a connection per sample); rr when empty
	Count      int           // samples; DefaultRoundTripCount when 0
	Size       int           // bytes per round trip; DefaultRoundTripSize when 0
	Timeout    time.Duration // per sample, dial included; DefaultRoundTripTimeout when 0
	Resolution time.Duration // fortio's histogram resolution (its lowest buckets); 0 keeps the probe's 10 µs
	Bucket     time.Duration // uniform histogram's bucket width; 0 keeps the probe's 10 µs, negative asks for none
	QPS        float64       // samples per second; 0 is back to back
	Payload    string        // what every round trip writes (a canary), instead of Size varying bytes; Size is then ignored
	StopName   string        // lets Client.Stop end the run early (its result as for an interrupt); "" for none
}

// withDefaults fills the zero fields.
func (q RoundTrip) withDefaults() RoundTrip {
	if q.Mode == "" {
		q.Mode = wire.RoundTripRR
	}
	if q.Count == 0 {
		q.Count = DefaultRoundTripCount
	}
	if q.Size == 0 {
		q.Size = DefaultRoundTripSize
	}
	if q.Payload != "" {
		q.Size = len(q.Payload)
	}
	if q.Timeout == 0 {
		q.Timeout = DefaultRoundTripTimeout
	}
	return q
}

// Validate checks what the probe would reject, so that bad input fails
// before any exec.
func (q RoundTrip) Validate() error {
	q = q.withDefaults()
	var errs []error
	if !strings.HasPrefix(q.URL, "tcp://") {
		errs = append(errs, fmt.Errorf("round trip URL %q: want tcp://host:port of the probe's TCP echo", q.URL))
	}
	if q.Mode != wire.RoundTripRR && q.Mode != wire.RoundTripCRR {
		errs = append(errs, fmt.Errorf("round trip mode %q: want %q or %q", q.Mode, wire.RoundTripRR, wire.RoundTripCRR))
	}
	for _, f := range []struct {
		name     string
		value    any
		negative bool
	}{
		{"count", q.Count, q.Count < 0},
		{"size", q.Size, q.Size < 0},
		{"timeout", q.Timeout, q.Timeout < 0},
		{"resolution", q.Resolution, q.Resolution < 0},
		{"qps", q.QPS, q.QPS < 0 || math.IsNaN(q.QPS)},
	} {
		if f.negative {
			errs = append(errs, fmt.Errorf("round trip %s %v: want 0 (the default) or more", f.name, f.value))
		}
	}
	return errors.Join(errs...)
}

// Args renders the probe command line, with the defaults filled in.
func (q RoundTrip) Args() []string {
	q = q.withDefaults()
	args := []string{image.BinaryPath, "rr", "--url", q.URL, "--mode", q.Mode,
		"--count", strconv.Itoa(q.Count), "--size", strconv.Itoa(q.Size), "--timeout", q.Timeout.String()}
	if q.Resolution != 0 {
		args = append(args, "--resolution", strconv.FormatFloat(q.Resolution.Seconds(), 'f', -1, 64))
	}
	if q.Bucket != 0 {
		args = append(args, "--bucket", bucketFlag(q.Bucket))
	}
	if q.QPS != 0 {
		args = append(args, "--qps", strconv.FormatFloat(q.QPS, 'f', -1, 64))
	}
	if q.Payload != "" {
		args = append(args, "--payload", q.Payload)
	}
	if q.StopName != "" {
		args = append(args, "--stop-name", q.StopName)
	}
	return args
}

// Bound is how long the exec may take: every sample at its timeout, the
// pacing of QPS, and 30 s for the exec itself.
func (q RoundTrip) Bound() time.Duration {
	q = q.withDefaults()
	b := time.Duration(q.Count)*q.Timeout + 30*time.Second
	if q.QPS > 0 {
		b += time.Duration(float64(q.Count) / q.QPS * float64(time.Second))
	}
	return b
}

// RoundTrips runs the round trips in the pod and returns the probe's
// result. Failed samples are counted in the result, not returned; an error
// means bad input, or that the probe could not be run or its output read.
func (c Client) RoundTrips(ctx context.Context, q RoundTrip) (wire.RoundTrips, error) {
	if err := q.Validate(); err != nil {
		return wire.RoundTrips{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, q.Bound())
	defer cancel()
	container := c.Container
	if container == "" {
		container = "probe"
	}
	out, err := c.Kube.Exec(ctx, c.Namespace, c.Pod, container, q.Args())
	probelog.Add("rr", c.Namespace+"/"+c.Pod, q.Args(), out, err)
	if err != nil {
		return wire.RoundTrips{}, err
	}
	return ParseRoundTrips(out, q.withDefaults().Mode)
}

// ParseRoundTrips reads the JSON document of `probe rr` and checks that it
// is the run asked for, in mode, and that its uniform histogram, when
// present, is consistent and holds the samples of fortio's.
func ParseRoundTrips(out []byte, mode string) (wire.RoundTrips, error) {
	var r wire.RoundTrips
	if err := json.Unmarshal(out, &r); err != nil {
		return wire.RoundTrips{}, fmt.Errorf("probe rr printed no RoundTrips document: %w: %q", err, truncate(string(out), 300))
	}
	if r.Histogram == nil {
		return wire.RoundTrips{}, fmt.Errorf("probe rr result without a latency histogram: %q", truncate(string(out), 300))
	}
	if r.Mode != mode {
		return wire.RoundTrips{}, fmt.Errorf("probe rr ran mode %q, want %q: is the probe image older than this harness?", r.Mode, mode)
	}
	if u := r.UniformHistogram; u != nil {
		if err := u.Validate(); err != nil {
			return wire.RoundTrips{}, fmt.Errorf("probe rr's uniform histogram: %w", err)
		}
		if u.Count != r.Histogram.Count {
			return wire.RoundTrips{}, fmt.Errorf("probe rr's uniform histogram holds %d samples, its fortio histogram %d", u.Count, r.Histogram.Count)
		}
	}
	return r, nil
}
