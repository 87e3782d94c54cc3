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
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
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
