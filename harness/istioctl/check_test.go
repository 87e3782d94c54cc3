package istioctl

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestLog records method, path and Range header of every request.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

func checkOpts(base string, client *http.Client, version string) Options {
	return Options{Version: version, BaseURL: base, HTTPClient: client, GOOS: "linux", GOARCH: "amd64"}
}

const evidence = "istio.io/api v1.32.0 on the Go module proxy, commit time 2026-10-21"

func TestCheckPublishedFound(t *testing.T) {
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript("1.31.1")})
	f.publish("1.31.1", "linux-amd64", archive, "")
	if err := CheckPublished(context.Background(), checkOpts(f.srv.URL, f.srv.Client(), "1.31.1"), CheckOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatalf("CheckPublished of a published release: %v", err)
	}
	want := []string{
		"HEAD /1.31.1/istioctl-1.31.1-linux-amd64.tar.gz ",
		"HEAD /1.31.1/istioctl-1.31.1-linux-amd64.tar.gz.sha256 ",
	}
	if got := f.requestsSeen(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests = %q, want only HEADs %q (nothing downloaded)", got, want)
	}
}

func TestCheckPublishedNotFoundUnconfirmed(t *testing.T) {
	f := newFakeRelease(t) // serves nothing

	start := time.Now()
	err := CheckPublished(context.Background(), checkOpts(f.srv.URL, f.srv.Client(), "1.32.0"), CheckOptions{Unconfirmed: evidence})
	if err == nil {
		t.Fatal("CheckPublished succeeded against an empty server")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 404 took %s to report", d)
	}
	url := f.srv.URL + "/1.32.0/istioctl-1.32.0-linux-amd64.tar.gz"
	want := "Istio 1.32.0 is unconfirmed (" + evidence + "): its istioctl release asset " + url +
		" was not found (HTTP 404); pick a confirmed version (make versions) or set ISTIO_DOWNLOAD_BASE"
	if err.Error() != want {
		t.Errorf("error =\n  %s\nwant\n  %s", err, want)
	}
	var ae *AssetError
	if !errors.As(err, &ae) || !ae.NotFound() || ae.URL != url || ae.StatusCode != http.StatusNotFound {
		t.Errorf("error is not a not-found *AssetError for %s: %#v", url, err)
	}
	// HEAD said 404; the ranged GET confirms it before the verdict.
	wantReqs := []string{"HEAD /1.32.0/istioctl-1.32.0-linux-amd64.tar.gz ", "GET /1.32.0/istioctl-1.32.0-linux-amd64.tar.gz bytes=0-0"}
	if got := f.requestsSeen(); strings.Join(got, "|") != strings.Join(wantReqs, "|") {
		t.Errorf("requests = %q, want %q", got, wantReqs)
	}
}

func TestCheckPublishedNotFoundConfirmed(t *testing.T) {
	f := newFakeRelease(t)
	err := CheckPublished(context.Background(), checkOpts(f.srv.URL, f.srv.Client(), "1.31.1"), CheckOptions{})
	url := f.srv.URL + "/1.31.1/istioctl-1.31.1-linux-amd64.tar.gz"
	want := "Istio 1.31.1: its istioctl release asset " + url + " was not found (HTTP 404); check ISTIO_VERSION (make versions lists the table) and the network, or set ISTIO_DOWNLOAD_BASE to a mirror that has it"
	if err == nil || err.Error() != want {
		t.Errorf("error =\n  %v\nwant\n  %s", err, want)
	}
}

func TestCheckPublishedMissingChecksum(t *testing.T) {
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript("1.31.1")})
	archiveURL := f.publish("1.31.1", "linux-amd64", archive, "")
	f.handle("/1.31.1/istioctl-1.31.1-linux-amd64.tar.gz.sha256", http.NotFound)
	err := CheckPublished(context.Background(), checkOpts(f.srv.URL, f.srv.Client(), "1.31.1"), CheckOptions{})
	var ae *AssetError
	if !errors.As(err, &ae) || !ae.NotFound() || ae.URL != archiveURL+".sha256" {
		t.Fatalf("err = %v, want not found for %s.sha256", err, archiveURL)
	}
}

// A server (like a signed object-store redirect target) that refuses HEAD
// but serves a ranged GET is a published release.
func TestCheckPublishedHeadRefusedRangedGetServes(t *testing.T) {
	var log requestLog
	mux := http.NewServeMux()
	// Like github.com/istio/istio/releases/download: a redirect to storage.
	mux.HandleFunc("/dl/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/storage/"+strings.TrimPrefix(r.URL.Path, "/dl/"), http.StatusFound)
	})
	mux.HandleFunc("/storage/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			http.Error(w, "signature does not match", http.StatusForbidden)
			return
		}
		if r.Header.Get("Range") != "bytes=0-0" {
			http.Error(w, "want a ranged GET", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Range", "bytes 0-0/1000")
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte{0x1f})
	})
	srv := httptest.NewServer(log.wrap(mux))
	t.Cleanup(srv.Close)

	err := CheckPublished(context.Background(), checkOpts(srv.URL+"/dl", srv.Client(), "1.31.1"), CheckOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("CheckPublished: %v (requests %q)", err, log.all())
	}
	if n := len(log.all()); n != 8 { // 2 assets × (HEAD → redirect → 403, GET → redirect → 206)
		t.Errorf("requests = %q, want 8", log.all())
	}
}

func TestCheckPublishedServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	err := CheckPublished(context.Background(), checkOpts(srv.URL, srv.Client(), "1.30.8"), CheckOptions{Unconfirmed: evidence})
	var ae *AssetError
	if !errors.As(err, &ae) || ae.NotFound() || ae.StatusCode != http.StatusInternalServerError {
		t.Fatalf("err = %#v, want a 500 *AssetError", err)
	}
	for _, want := range []string{"Istio 1.30.8 is unconfirmed (" + evidence + ")", "answered HTTP 500 Internal Server Error", "ISTIO_DOWNLOAD_BASE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCheckPublishedStalledServerIsBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	const bound = 300 * time.Millisecond
	start := time.Now()
	err := CheckPublished(context.Background(), checkOpts(srv.URL, srv.Client(), "1.32.0"), CheckOptions{Timeout: bound, Unconfirmed: evidence})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("CheckPublished succeeded against a server that never answers")
	}
	t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
	if elapsed < bound || elapsed > bound+time.Second {
		t.Errorf("gave up after %s, want about %s", elapsed, bound)
	}
	var ae *AssetError
	if !errors.As(err, &ae) || ae.Timeout != bound || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %#v, want a timed-out *AssetError", err)
	}
	url := srv.URL + "/1.32.0/istioctl-1.32.0-linux-amd64.tar.gz"
	if !strings.Contains(err.Error(), "checking its istioctl release asset "+url+" got no answer within 300ms") {
		t.Errorf("error %q does not name the URL and the bound", err)
	}
}

func TestCheckPublishedUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	err := CheckPublished(context.Background(), checkOpts(base, nil, "1.31.1"), CheckOptions{Timeout: 5 * time.Second})
	var ae *AssetError
	if !errors.As(err, &ae) || ae.StatusCode != 0 || ae.Err == nil || !strings.Contains(err.Error(), "could not be checked") {
		t.Fatalf("err = %v, want an unreachable *AssetError", err)
	}
}

func TestCheckPublishedRejectsBadInputWithoutNetwork(t *testing.T) {
	f := newFakeRelease(t)
	cases := map[string]Options{
		"development version": checkOpts(f.srv.URL, f.srv.Client(), "1.31-dev"),
		"minor only":          checkOpts(f.srv.URL, f.srv.Client(), "1.31"),
		"ftp base":            checkOpts("ftp://mirror.example/istio", f.srv.Client(), "1.31.1"),
		"relative base":       checkOpts("releases/download", f.srv.Client(), "1.31.1"),
		"windows":             {Version: "1.31.1", BaseURL: f.srv.URL, GOOS: "windows", GOARCH: "amd64"},
	}
	for name, o := range cases {
		err := CheckPublished(context.Background(), o, CheckOptions{})
		var ae *AssetError
		if err == nil || errors.As(err, &ae) {
			t.Errorf("%s: err = %v, want an input error", name, err)
		}
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests sent for bad input", n)
	}
}
