// The download: the published checksum, then the archive, with a stall guard and progress.

package istioctl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// fetchChecksum downloads and parses <archive URL>.sha256.
func (r *run) fetchChecksum(ctx context.Context) (string, error) {
	sumURL := r.url + ".sha256"
	ctx, cancel := context.WithTimeout(ctx, r.ChecksumTimeout)
	defer cancel()
	g := newStallGuard(ctx, r.StallTimeout)
	defer g.stop()

	resp, err := r.get(g.ctx, sumURL)
	if err != nil {
		return "", r.netErr(g, sumURL, r.ChecksumTimeout, err)
	}
	defer resp.Body.Close()
	g.kick()
	body, err := io.ReadAll(io.LimitReader(&kickReader{r: resp.Body, g: g}, maxChecksumBytes+1))
	if err != nil {
		return "", r.netErr(g, sumURL, r.ChecksumTimeout, err)
	}
	if len(body) > maxChecksumBytes {
		return "", fmt.Errorf("checksum file %s is larger than %d bytes; is it really a .sha256 file?", sumURL, maxChecksumBytes)
	}
	return parseChecksum(body, r.file, sumURL)
}

// parseChecksum accepts "<hex>  <file>", "<hex> *<file>" or "<hex>".
func parseChecksum(body []byte, file, from string) (string, error) {
	f := strings.Fields(string(body))
	if len(f) == 0 {
		return "", fmt.Errorf("checksum file %s is empty", from)
	}
	sum := strings.ToLower(f[0])
	if !isSHA256(sum) {
		return "", fmt.Errorf("checksum file %s does not start with a sha256 hex digest: %q", from, truncate(string(body), 100))
	}
	if len(f) >= 2 {
		if name := path.Base(strings.TrimPrefix(f[1], "*")); name != file {
			return "", fmt.Errorf("checksum file %s is for %q, not %q", from, name, file)
		}
	}
	return sum, nil
}

// download streams the archive into a temporary file in r.dir, hashing it.
// It returns the temporary path and the hex sha256.
func (r *run) download(ctx context.Context) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.DownloadTimeout)
	defer cancel()
	g := newStallGuard(ctx, r.StallTimeout)
	defer g.stop()

	resp, err := r.get(g.ctx, r.url)
	if err != nil {
		return "", "", r.netErr(g, r.url, r.DownloadTimeout, err)
	}
	defer resp.Body.Close()
	g.kick()

	f, err := os.CreateTemp(r.dir, "."+r.file+".*.download")
	if err != nil {
		return "", "", fmt.Errorf("istioctl cache: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (string, string, error) {
		f.Close()
		os.Remove(tmp)
		return "", "", err
	}

	h := sha256.New()
	pr := &progressReader{
		kickReader: kickReader{r: resp.Body, g: g},
		total:      resp.ContentLength,
		interval:   r.ProgressInterval,
		last:       time.Now(),
		report: func(n, total int64) {
			if total > 0 {
				r.progress("istioctl %s: %s of %s downloaded (%d%%)", r.Version, humanBytes(n), humanBytes(total), n*100/total)
			} else {
				r.progress("istioctl %s: %s downloaded", r.Version, humanBytes(n))
			}
		},
	}
	start := time.Now()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(pr, maxArchiveBytes+1))
	if err != nil {
		return fail(r.netErr(g, r.url, r.DownloadTimeout, err))
	}
	if n > maxArchiveBytes {
		return fail(fmt.Errorf("downloading %s: archive larger than %d bytes; the file was discarded", r.url, int64(maxArchiveBytes)))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fail(fmt.Errorf("downloading %s: got %d of %d bytes; the file was discarded", r.url, n, resp.ContentLength))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", "", fmt.Errorf("istioctl cache: %w", err)
	}
	r.progress("downloaded %s (%s) in %s", r.file, humanBytes(n), time.Since(start).Round(time.Millisecond))
	return tmp, hex.EncodeToString(h.Sum(nil)), nil
}

// HTTPError is returned when a download answers with a status other than
// 200 OK.
type HTTPError struct {
	// URL is the requested URL.
	URL string
	// Status is the HTTP status line, e.g. "404 Not Found".
	Status string
	// StatusCode is the numeric status, e.g. 404.
	StatusCode int
	// Version is the requested Istio version.
	Version string
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Status)
	if e.StatusCode == http.StatusNotFound {
		msg += fmt.Sprintf("; is ISTIO_VERSION %q a published Istio release? Check ISTIO_VERSION (and %s if set)", e.Version, EnvDownloadBase)
	}
	return msg
}

func (r *run) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ambient-e2e/istioctl")
	resp, err := r.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		status := resp.Status
		if status == "" {
			status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return nil, &HTTPError{URL: u, Status: status, StatusCode: resp.StatusCode, Version: r.Version}
	}
	return resp, nil
}

// netErr turns a transport/read error into a message naming the URL and, if
// a deadline or the stall guard fired, saying so.
func (r *run) netErr(g *stallGuard, u string, limit time.Duration, err error) error {
	var he *HTTPError
	if errors.As(err, &he) {
		return err
	}
	if cause := context.Cause(g.ctx); cause != nil {
		var se *StallError
		if errors.As(cause, &se) {
			return fmt.Errorf("downloading %s: %w", u, se)
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			return fmt.Errorf("downloading %s: timed out (limit for this step %s, or the caller's deadline): %w", u, limit, context.DeadlineExceeded)
		}
		if errors.Is(cause, context.Canceled) {
			return fmt.Errorf("downloading %s: %w", u, cause)
		}
	}
	return fmt.Errorf("downloading %s: %w", u, err)
}

// StallError reports that a server sent nothing for the stall timeout. It
// matches context.DeadlineExceeded with errors.Is and has Timeout() == true.
type StallError struct {
	// After is the stall timeout that elapsed.
	After time.Duration
}

// Error implements error.
func (e *StallError) Error() string {
	return fmt.Sprintf("timed out: no data received for %s (server stalled)", e.After)
}

// Timeout reports true: a stall is a timeout.
func (e *StallError) Timeout() bool { return true }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *StallError) Unwrap() error { return context.DeadlineExceeded }

// stallGuard cancels its context when kick has not been called for d.
type stallGuard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	d      time.Duration
}

func newStallGuard(parent context.Context, d time.Duration) *stallGuard {
	ctx, cancel := context.WithCancelCause(parent)
	g := &stallGuard{ctx: ctx, cancel: cancel, d: d}
	g.timer = time.AfterFunc(d, func() { cancel(&StallError{After: d}) })
	return g
}

func (g *stallGuard) kick() { g.timer.Reset(g.d) }

func (g *stallGuard) stop() {
	g.timer.Stop()
	g.cancel(context.Canceled)
}

// kickReader resets the stall guard whenever data arrives.
type kickReader struct {
	r io.Reader
	g *stallGuard
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.g.kick()
	}
	return n, err
}

// progressReader reports bytes read at most once per interval.
type progressReader struct {
	kickReader
	n, total int64
	interval time.Duration
	last     time.Time
	report   func(n, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.kickReader.Read(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= p.interval && err == nil {
		p.last = now
		p.report(p.n, p.total)
	}
	return n, err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
