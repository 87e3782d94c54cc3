package istioctl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// DefaultCheckTimeout bounds CheckPublished as a whole.
const DefaultCheckTimeout = 10 * time.Second

// CheckOptions configures CheckPublished.
type CheckOptions struct {
	// Timeout bounds the whole check (every request); default
	// DefaultCheckTimeout.
	Timeout time.Duration
	// Unconfirmed is, for a version the versions table marks unconfirmed,
	// its evidence (e.g. "istio.io/api v1.32.0 on the Go module proxy,
	// commit time 2026-10-21"); empty for a confirmed version. It only
	// shapes the error message.
	Unconfirmed string
}

// AssetError reports that a release asset CheckPublished looked for is
// missing, answered with an unexpected status, or could not be reached in
// time.
type AssetError struct {
	// Version is the Istio version checked.
	Version string
	// URL is the asset that failed the check.
	URL string
	// StatusCode is the HTTP status of the last answer (0 when none came).
	StatusCode int
	// Status is the HTTP status line of the last answer, e.g. "404 Not Found".
	Status string
	// Unconfirmed is CheckOptions.Unconfirmed.
	Unconfirmed string
	// Timeout is the bound that elapsed, when the check timed out.
	Timeout time.Duration
	// Err is the transport error, when no answer came.
	Err error
}

// NotFound reports whether the server said the asset does not exist (HTTP
// 404 or 410).
func (e *AssetError) NotFound() bool {
	return e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone
}

// Error implements error.
func (e *AssetError) Error() string {
	var b strings.Builder
	if e.Unconfirmed != "" {
		fmt.Fprintf(&b, "Istio %s is unconfirmed (%s): ", e.Version, e.Unconfirmed)
	} else {
		fmt.Fprintf(&b, "Istio %s: ", e.Version)
	}
	switch {
	case e.NotFound():
		fmt.Fprintf(&b, "its istioctl release asset %s was not found (HTTP %d)", e.URL, e.StatusCode)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "its istioctl release asset %s answered HTTP %s (HEAD, then a ranged GET)", e.URL, e.Status)
	case e.Timeout > 0:
		fmt.Fprintf(&b, "checking its istioctl release asset %s got no answer within %s", e.URL, e.Timeout)
	default:
		fmt.Fprintf(&b, "its istioctl release asset %s could not be checked: %v", e.URL, e.Err)
	}
	if e.Unconfirmed != "" {
		fmt.Fprintf(&b, "; pick a confirmed version (make versions) or set %s", EnvDownloadBase)
	} else {
		fmt.Fprintf(&b, "; check ISTIO_VERSION (make versions lists the table) and the network, or set %s to a mirror that has it", EnvDownloadBase)
	}
	return b.String()
}

// Unwrap returns the transport error, if any; with a timeout it matches
// context.DeadlineExceeded.
func (e *AssetError) Unwrap() error {
	if e.Err == nil && e.Timeout > 0 {
		return context.DeadlineExceeded
	}
	return e.Err
}

// CheckPublished checks, without downloading, that the istioctl archive of
// opts.Version for opts.GOOS/GOARCH and its .sha256 exist under
// opts.BaseURL (Options as for Ensure; CacheDir and the download timeouts
// are not used). Each asset is asked for with HEAD and, if that does not
// answer 2xx (some servers and signed redirect targets refuse HEAD), with a
// GET of its first byte. The whole check is bounded by check.Timeout, so a
// missing or unreachable release fails preflight in seconds instead of
// after a cluster was created. The error is an *AssetError.
func CheckPublished(ctx context.Context, opts Options, check CheckOptions) error {
	if !versionRE.MatchString(opts.Version) {
		return fmt.Errorf("istioctl: invalid version %q: want an Istio release such as \"1.30.8\" (check ISTIO_VERSION)", opts.Version)
	}
	goos, goarch := opts.GOOS, opts.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	platform, err := Platform(goos, goarch)
	if err != nil {
		return err
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := checkBaseURL(base); err != nil {
		return err
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	limit := check.Timeout
	if limit <= 0 {
		limit = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	archive := ArchiveURL(base, opts.Version, platform)
	for _, u := range []string{archive, archive + ".sha256"} {
		if err := probeAsset(ctx, client, u); err != nil {
			err.Version, err.Unconfirmed = opts.Version, check.Unconfirmed
			if err.StatusCode == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err.Timeout, err.Err = limit, nil
			}
			return err
		}
	}
	return nil
}

// probeAsset asks for u with HEAD, then with a one-byte ranged GET.
func probeAsset(ctx context.Context, client *http.Client, u string) *AssetError {
	code, status, err := request(ctx, client, http.MethodHead, u)
	if err == nil && code/100 == 2 {
		return nil
	}
	if ctx.Err() != nil {
		return &AssetError{URL: u, StatusCode: code, Status: status, Err: err}
	}
	code, status, err = request(ctx, client, http.MethodGet, u)
	if err == nil && (code == http.StatusOK || code == http.StatusPartialContent) {
		return nil
	}
	return &AssetError{URL: u, StatusCode: code, Status: status, Err: err}
}

// request sends one request and returns the status; a GET asks for the
// first byte only and its body is not read.
func request(ctx context.Context, client *http.Client, method, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", "ambient-e2e/istioctl")
	if method == http.MethodGet {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	// Only the status matters: closing the body unread drops the connection
	// instead of waiting for bytes a server may never send.
	resp.Body.Close()
	status := resp.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, status, nil
}
