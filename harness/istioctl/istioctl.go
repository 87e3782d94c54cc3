// Package istioctl downloads a given istioctl release once, verifies it
// against its published sha256, caches it per version, and runs it.
//
// Release archives follow Istio's layout:
//
//	${BASE}/${V}/istioctl-${V}-${PLATFORM}.tar.gz
//	${BASE}/${V}/istioctl-${V}-${PLATFORM}.tar.gz.sha256
//
// with BASE defaulting to DefaultBaseURL and PLATFORM one of linux-amd64,
// linux-arm64, osx-amd64, osx-arm64. The cache holds
// <CacheDir>/<V>/istioctl and a marker <CacheDir>/<V>/istioctl.sha256 that
// records the verified archive sum and the sum of the extracted binary; a
// cached binary whose marker matches is used without any network access.
package istioctl

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

const (
	// DefaultBaseURL is where Istio publishes release archives.
	DefaultBaseURL = "https://github.com/istio/istio/releases/download"
	// EnvDownloadBase is the environment variable the harness reads to
	// override Options.BaseURL (e.g. a mirror such as
	// https://blob.istio.io/istio-release/releases). This package does not
	// read it itself.
	EnvDownloadBase = "ISTIO_DOWNLOAD_BASE"

	// DefaultChecksumTimeout bounds fetching the .sha256 file.
	DefaultChecksumTimeout = time.Minute
	// DefaultDownloadTimeout bounds downloading the archive.
	DefaultDownloadTimeout = 10 * time.Minute
	// DefaultStallTimeout is how long a download may go without receiving
	// any data (or, before the response, without headers) before it fails.
	DefaultStallTimeout = 30 * time.Second
	// DefaultProgressInterval is the minimum time between two
	// bytes-so-far progress messages.
	DefaultProgressInterval = 5 * time.Second
	// DefaultVersionTimeout bounds `istioctl version` when the caller's
	// context has no deadline.
	DefaultVersionTimeout = 30 * time.Second

	binaryName = "istioctl"
	markerName = "istioctl.sha256"

	maxChecksumBytes = 4 << 10
	maxArchiveBytes  = 1 << 30
	maxBinaryBytes   = 1 << 30
)

// Options configures Ensure. Only Version is required.
type Options struct {
	// Version is the exact Istio release, e.g. "1.30.8".
	Version string
	// CacheDir is the cache root; binaries go to <CacheDir>/<Version>/istioctl.
	// Default: DefaultCacheDir().
	CacheDir string
	// BaseURL replaces DefaultBaseURL (the harness passes
	// $ISTIO_DOWNLOAD_BASE here).
	BaseURL string
	// HTTPClient is used for downloads; default: a client with no overall
	// timeout (the timeouts below apply through contexts).
	HTTPClient *http.Client
	// Progress, if set, receives human-readable progress messages.
	Progress func(msg string)

	// GOOS and GOARCH select the platform; default runtime.GOOS/GOARCH.
	GOOS, GOARCH string

	// ChecksumTimeout bounds fetching the .sha256 file; default
	// DefaultChecksumTimeout.
	ChecksumTimeout time.Duration
	// DownloadTimeout bounds downloading the archive; default
	// DefaultDownloadTimeout.
	DownloadTimeout time.Duration
	// StallTimeout fails a request that receives no headers or no body
	// bytes for this long; default DefaultStallTimeout.
	StallTimeout time.Duration
	// ProgressInterval is the minimum time between bytes-so-far messages;
	// default DefaultProgressInterval.
	ProgressInterval time.Duration
}

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][0-9A-Za-z.]*)?$`)

// DefaultCacheDir returns $XDG_CACHE_HOME/ambient-e2e/istioctl, or
// ~/.cache/ambient-e2e/istioctl when XDG_CACHE_HOME is unset or relative.
func DefaultCacheDir() (string, error) {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "ambient-e2e", "istioctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("istioctl cache: no XDG_CACHE_HOME and no home directory: %w", err)
	}
	return filepath.Join(home, ".cache", "ambient-e2e", "istioctl"), nil
}

// Platform maps a Go OS/architecture to Istio's archive suffix:
// linux/amd64 → "linux-amd64", linux/arm64 → "linux-arm64",
// darwin/amd64 → "osx-amd64", darwin/arm64 → "osx-arm64".
func Platform(goos, goarch string) (string, error) {
	var osPart string
	switch goos {
	case "linux":
		osPart = "linux"
	case "darwin":
		osPart = "osx"
	default:
		return "", fmt.Errorf("no istioctl .tar.gz build for %s/%s (supported: linux and darwin, amd64 and arm64)", goos, goarch)
	}
	switch goarch {
	case "amd64", "arm64":
		return osPart + "-" + goarch, nil
	default:
		return "", fmt.Errorf("no istioctl .tar.gz build for %s/%s (supported: linux and darwin, amd64 and arm64)", goos, goarch)
	}
}

// ArchiveName returns the archive file name, e.g.
// "istioctl-1.30.8-linux-amd64.tar.gz".
func ArchiveName(version, platform string) string {
	return "istioctl-" + version + "-" + platform + ".tar.gz"
}

// ArchiveURL returns ${base}/${version}/ArchiveName(version, platform); an
// empty base means DefaultBaseURL.
func ArchiveURL(base, version, platform string) string {
	if base == "" {
		base = DefaultBaseURL
	}
	return strings.TrimRight(base, "/") + "/" + version + "/" + ArchiveName(version, platform)
}

// run holds the resolved options of one Ensure call.
type run struct {
	Options
	platform string
	file     string // archive file name
	url      string // archive URL
	dir      string // <CacheDir>/<Version>
}

func (r *run) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

func resolve(opts Options) (*run, error) {
	r := &run{Options: opts}
	if !versionRE.MatchString(r.Version) {
		return nil, fmt.Errorf("istioctl: invalid version %q: want an Istio release such as \"1.30.8\" (check ISTIO_VERSION)", r.Version)
	}
	if r.GOOS == "" {
		r.GOOS = runtime.GOOS
	}
	if r.GOARCH == "" {
		r.GOARCH = runtime.GOARCH
	}
	p, err := Platform(r.GOOS, r.GOARCH)
	if err != nil {
		return nil, err
	}
	r.platform = p
	if r.CacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		r.CacheDir = d
	}
	if r.BaseURL == "" {
		r.BaseURL = DefaultBaseURL
	}
	if err := checkBaseURL(r.BaseURL); err != nil {
		return nil, err
	}
	if r.HTTPClient == nil {
		r.HTTPClient = &http.Client{}
	}
	if r.ChecksumTimeout <= 0 {
		r.ChecksumTimeout = DefaultChecksumTimeout
	}
	if r.DownloadTimeout <= 0 {
		r.DownloadTimeout = DefaultDownloadTimeout
	}
	if r.StallTimeout <= 0 {
		r.StallTimeout = DefaultStallTimeout
	}
	if r.ProgressInterval <= 0 {
		r.ProgressInterval = DefaultProgressInterval
	}
	r.file = ArchiveName(r.Version, r.platform)
	r.url = ArchiveURL(r.BaseURL, r.Version, r.platform)
	r.dir = filepath.Join(r.CacheDir, r.Version)
	return r, nil
}

// checkBaseURL accepts only an absolute http(s) URL as a download base.
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("istioctl: download base %q is not an http(s) URL (check %s)", base, EnvDownloadBase)
	}
	return nil
}

// Ensure returns the path of a verified istioctl binary for opts.Version,
// downloading it into the cache if needed.
//
// A cached binary is used, without any network request, when its marker
// records the expected archive name and the binary's sha256 still matches.
// Otherwise Ensure fetches the published .sha256, downloads the archive to a
// temporary file next to the cache entry while hashing it, rejects (and
// deletes) it on a checksum mismatch, extracts only the istioctl entry,
// makes it executable and renames it into place atomically.
func Ensure(ctx context.Context, opts Options) (string, error) {
	r, err := resolve(opts)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(r.dir, binaryName)

	switch sum, err := r.cached(); {
	case err == nil:
		r.progress("using cached istioctl at %s (archive sha256 %s)", bin, sum)
		return bin, nil
	case !errors.Is(err, os.ErrNotExist):
		r.progress("cached istioctl at %s is not usable (%v); downloading again", bin, err)
	}

	r.progress("downloading istioctl %s (%s) from %s", r.Version, r.platform, r.url)
	want, err := r.fetchChecksum(ctx)
	if err != nil {
		return "", err
	}

	_, statErr := os.Stat(r.dir)
	createdDir := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return "", fmt.Errorf("istioctl cache: %w", err)
	}
	bin, err = r.install(ctx, want)
	if err != nil && createdDir {
		_ = os.Remove(r.dir) // only succeeds if nothing was left behind
	}
	return bin, err
}

// install downloads, verifies and extracts the archive into r.dir.
func (r *run) install(ctx context.Context, want string) (string, error) {
	tmp, got, err := r.download(ctx)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if got != want {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("checksum mismatch for %s: published sha256 %s, downloaded file has %s (from %s); the file was discarded", r.file, want, got, r.url)
	}
	r.progress("verified sha256 %s for %s", got, r.file)

	// Drop the old marker first so a crash never pairs it with a new binary.
	_ = os.Remove(filepath.Join(r.dir, markerName))
	binSum, err := extract(tmp, r.file, r.dir)
	if err != nil {
		return "", err
	}
	marker := fmt.Sprintf("%s  %s\n%s  %s\n", want, r.file, binSum, binaryName)
	if err := writeFileAtomic(filepath.Join(r.dir, markerName), []byte(marker), 0o644); err != nil {
		return "", fmt.Errorf("istioctl cache: %w", err)
	}
	bin := filepath.Join(r.dir, binaryName)
	r.progress("installed istioctl %s at %s", r.Version, bin)
	return bin, nil
}

// cached checks the cache entry. It returns the recorded archive sum, an
// error wrapping os.ErrNotExist if there is no complete entry, or another
// error if the entry exists but does not match its marker.
func (r *run) cached() (string, error) {
	bin := filepath.Join(r.dir, binaryName)
	raw, err := os.ReadFile(filepath.Join(r.dir, markerName))
	if err != nil {
		return "", err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return "", err
	}
	var archiveSum, binSum string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !isSHA256(f[0]) {
			return "", fmt.Errorf("malformed marker %s", markerName)
		}
		switch f[1] {
		case r.file:
			archiveSum = f[0]
		case binaryName:
			binSum = f[0]
		}
	}
	if archiveSum == "" || binSum == "" {
		return "", fmt.Errorf("marker %s does not record %s", markerName, r.file)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 {
		return "", fmt.Errorf("%s is not an executable file", bin)
	}
	got, err := hashFile(bin)
	if err != nil {
		return "", err
	}
	if got != binSum {
		return "", fmt.Errorf("binary sha256 %s differs from recorded %s", got, binSum)
	}
	return archiveSum, nil
}

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

// extract copies the single "istioctl" entry of a .tar.gz into
// dir/istioctl (mode 0755, atomically) and returns its sha256. Any entry
// with an absolute path or a ".." element makes the whole archive rejected.
func extract(archive, file, dir string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return "", fmt.Errorf("%s is not a gzip archive: %w", file, err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)

	var tmp, sum string
	defer func() {
		if tmp != "" {
			os.Remove(tmp)
		}
	}()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		if !safeEntryName(hdr.Name) {
			return "", fmt.Errorf("archive %s has an unsafe entry %q (absolute path or \"..\"); refusing to extract it", file, hdr.Name)
		}
		if path.Clean(hdr.Name) != binaryName {
			continue
		}
		if tmp != "" {
			return "", fmt.Errorf("archive %s has more than one %s entry", file, binaryName)
		}
		if hdr.Typeflag != tar.TypeReg {
			return "", fmt.Errorf("archive %s: entry %q is not a regular file (tar type %q)", file, hdr.Name, hdr.Typeflag)
		}
		if hdr.Size > maxBinaryBytes {
			return "", fmt.Errorf("archive %s: entry %q is %d bytes, more than the %d allowed", file, hdr.Name, hdr.Size, int64(maxBinaryBytes))
		}
		tmp, sum, err = writeTemp(dir, ".istioctl.*.tmp", tr, 0o755)
		if err != nil {
			return "", fmt.Errorf("extracting %s from %s: %w", binaryName, file, err)
		}
	}
	if tmp == "" {
		return "", fmt.Errorf("archive %s contains no %q entry; is it an istioctl release archive?", file, binaryName)
	}
	if err := os.Rename(tmp, filepath.Join(dir, binaryName)); err != nil {
		return "", fmt.Errorf("istioctl cache: %w", err)
	}
	tmp = ""
	return sum, nil
}

// safeEntryName rejects empty, absolute and parent-escaping tar entry names.
func safeEntryName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || filepath.IsAbs(name) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

// writeTemp writes r to a new temporary file in dir with the given mode,
// syncs it and returns its path and sha256.
func writeTemp(dir, pattern string, r io.Reader, mode os.FileMode) (string, string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", "", err
	}
	name := f.Name()
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", "", err
	}
	return name, hex.EncodeToString(h.Sum(nil)), nil
}

func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	tmp, _, err := writeTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp", strings.NewReader(string(data)), mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
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
