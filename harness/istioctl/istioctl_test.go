package istioctl

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testVersion = "1.30.8"

// fakeScript behaves like `istioctl version --remote=false --short` of
// Istio 1.23 and later (pkg/version/cobra.go@1.30.3: "client version: %s").
func fakeScript(version string) string {
	return `#!/bin/sh
if [ "$1" = version ] && [ "$2" = --remote=false ] && [ "$3" = --short ]; then
  echo "client version: ` + version + `"
  exit 0
fi
echo "unexpected arguments: $*" >&2
exit 2
`
}

type entry struct {
	name     string
	body     string
	mode     int64
	typeflag byte
	linkname string
}

func buildArchive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o755
		}
		hdr := &tar.Header{Name: e.name, Mode: mode, Typeflag: tf, Linkname: e.linkname, ModTime: time.Unix(1700000000, 0)}
		if tf == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if tf == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fakeRelease serves files by URL path and counts requests.
type fakeRelease struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	files    map[string][]byte
	// handlers override files for specific paths.
	handlers map[string]http.HandlerFunc
	// seen records "METHOD /path Range" of every request.
	seen []string
}

func newFakeRelease(t *testing.T) *fakeRelease {
	t.Helper()
	f := &fakeRelease{files: map[string][]byte{}, handlers: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
		h, hok := f.handlers[r.URL.Path]
		b, ok := f.files[r.URL.Path]
		f.mu.Unlock()
		switch {
		case hok:
			h(w, r)
		case ok:
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// publish serves archive and its .sha256 (content sumLine, or the correct
// "<hex>  <file>" when sumLine is empty) for version/platform.
func (f *fakeRelease) publish(version, platform string, archive []byte, sumLine string) string {
	file := ArchiveName(version, platform)
	if sumLine == "" {
		sumLine = sum(archive) + "  " + file + "\n"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files["/"+version+"/"+file] = archive
	f.files["/"+version+"/"+file+".sha256"] = []byte(sumLine)
	return f.srv.URL + "/" + version + "/" + file
}

// requestsSeen returns what seen recorded so far.
func (f *fakeRelease) requestsSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func (f *fakeRelease) handle(p string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[p] = h
}

func hostPlatform(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake istioctl is a shell script")
	}
	p, err := Platform(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Skipf("no istioctl build for this host: %v", err)
	}
	return p
}

type progressLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progressLog) add(m string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
}

func (p *progressLog) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.msgs, "\n")
}

func (p *progressLog) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = nil
}

func baseOpts(f *fakeRelease, cache string, log *progressLog) Options {
	o := Options{
		Version:          testVersion,
		CacheDir:         cache,
		BaseURL:          f.srv.URL,
		HTTPClient:       f.srv.Client(),
		StallTimeout:     2 * time.Second,
		ChecksumTimeout:  5 * time.Second,
		DownloadTimeout:  5 * time.Second,
		ProgressInterval: time.Hour,
	}
	if log != nil {
		o.Progress = log.add
	}
	return o
}

// filesUnder lists regular files (and symlinks) below dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEnsureDownloadsVerifiesAndCaches(t *testing.T) {
	platform := hostPlatform(t)
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion)})
	archiveURL := f.publish(testVersion, platform, archive, "")
	cache := t.TempDir()
	log := &progressLog{}
	ctx := context.Background()

	bin, err := Ensure(ctx, baseOpts(f, cache, log))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if want := filepath.Join(cache, testVersion, "istioctl"); bin != want {
		t.Fatalf("Ensure = %s, want %s", bin, want)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want 0755", st.Mode().Perm())
	}
	if got := f.requests.Load(); got != 2 {
		t.Errorf("first Ensure made %d requests, want 2 (.sha256 + archive)", got)
	}
	marker, err := os.ReadFile(filepath.Join(cache, testVersion, "istioctl.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(marker), sum(archive)+"  "+ArchiveName(testVersion, platform)) {
		t.Errorf("marker %q does not record the archive sum", marker)
	}
	// Only the binary and the marker are left: no temp files.
	if files := filesUnder(t, cache); len(files) != 2 {
		t.Errorf("cache holds %v, want istioctl and istioctl.sha256 only", files)
	}
	msgs := log.all()
	for _, want := range []string{
		"downloading istioctl " + testVersion + " (" + platform + ") from " + archiveURL,
		"verified sha256 " + sum(archive),
		"installed istioctl " + testVersion + " at " + bin,
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("progress lacks %q:\n%s", want, msgs)
		}
	}

	v, err := Version(ctx, bin)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if v != testVersion {
		t.Errorf("Version = %q, want %q", v, testVersion)
	}
	if err := Verify(ctx, bin, testVersion); err != nil {
		t.Errorf("Verify: %v", err)
	}

	// Second Ensure: served from the cache with zero requests.
	f.requests.Store(0)
	log.reset()
	bin2, err := Ensure(ctx, baseOpts(f, cache, log))
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if bin2 != bin {
		t.Errorf("second Ensure = %s, want %s", bin2, bin)
	}
	if got := f.requests.Load(); got != 0 {
		t.Errorf("second Ensure made %d requests, want 0", got)
	}
	if !strings.Contains(log.all(), "using cached istioctl at "+bin) {
		t.Errorf("progress lacks cache message: %q", log.all())
	}

	// Even with the server gone, the cache is enough.
	f.srv.Close()
	if _, err := Ensure(ctx, baseOpts(f, cache, nil)); err != nil {
		t.Errorf("Ensure with server down and a warm cache: %v", err)
	}
}

func TestEnsureRedownloadsTamperedCache(t *testing.T) {
	platform := hostPlatform(t)
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "./istioctl", body: fakeScript(testVersion)})
	f.publish(testVersion, platform, archive, "")
	cache := t.TempDir()
	ctx := context.Background()
	bin, err := Ensure(ctx, baseOpts(f, cache, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho tampered\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.requests.Store(0)
	log := &progressLog{}
	if _, err := Ensure(ctx, baseOpts(f, cache, log)); err != nil {
		t.Fatal(err)
	}
	if got := f.requests.Load(); got != 2 {
		t.Errorf("Ensure after tampering made %d requests, want 2", got)
	}
	if !strings.Contains(log.all(), "not usable") {
		t.Errorf("progress does not explain the re-download: %q", log.all())
	}
	if err := Verify(ctx, bin, testVersion); err != nil {
		t.Errorf("Verify after re-download: %v", err)
	}
}

func TestEnsureChecksumMismatch(t *testing.T) {
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion)})
	file := ArchiveName(testVersion, "linux-amd64")
	wrong := strings.Repeat("ab", 32)
	archiveURL := f.publish(testVersion, "linux-amd64", archive, wrong+"  "+file+"\n")
	cache := t.TempDir()
	o := baseOpts(f, cache, nil)
	o.GOOS, o.GOARCH = "linux", "amd64"

	_, err := Ensure(context.Background(), o)
	if err == nil {
		t.Fatal("Ensure accepted an archive with the wrong checksum")
	}
	want := "checksum mismatch for " + file + ": published sha256 " + wrong + ", downloaded file has " + sum(archive) + " (from " + archiveURL + "); the file was discarded"
	if err.Error() != want {
		t.Errorf("error =\n  %v\nwant\n  %s", err, want)
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("files left in the cache after a mismatch: %v", files)
	}
}

func TestEnsureChecksumFormats(t *testing.T) {
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion)})
	file := ArchiveName(testVersion, "linux-amd64")
	for name, line := range map[string]string{
		"hex only":       sum(archive),
		"hex only upper": strings.ToUpper(sum(archive)) + "\n",
		"binary marker":  sum(archive) + " *" + file + "\n",
		"with dir":       sum(archive) + "  out/" + file,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeRelease(t)
			f.publish(testVersion, "linux-amd64", archive, line)
			o := baseOpts(f, t.TempDir(), nil)
			o.GOOS, o.GOARCH = "linux", "amd64"
			if _, err := Ensure(context.Background(), o); err != nil {
				t.Fatalf("Ensure with checksum %q: %v", line, err)
			}
		})
	}
	for name, line := range map[string]string{
		"other file": sum(archive) + "  istioctl-1.30.7-linux-amd64.tar.gz\n",
		"not hex":    "<html>not found</html>",
		"empty":      "",
		"short hex":  sum(archive)[:40],
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeRelease(t)
			f.publish(testVersion, "linux-amd64", archive, "x")
			f.mu.Lock()
			f.files["/"+testVersion+"/"+file+".sha256"] = []byte(line)
			f.mu.Unlock()
			o := baseOpts(f, t.TempDir(), nil)
			o.GOOS, o.GOARCH = "linux", "amd64"
			_, err := Ensure(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), ".sha256") {
				t.Fatalf("Ensure with checksum %q: err = %v, want an error naming the .sha256 file", line, err)
			}
			t.Log(err)
		})
	}
}

func TestEnsure404(t *testing.T) {
	f := newFakeRelease(t) // serves nothing
	cache := t.TempDir()
	o := baseOpts(f, cache, nil)
	o.Version = "1.99.0"
	o.GOOS, o.GOARCH = "darwin", "arm64"
	_, err := Ensure(context.Background(), o)
	if err == nil {
		t.Fatal("Ensure succeeded against an empty server")
	}
	t.Log(err)
	wantURL := f.srv.URL + "/1.99.0/istioctl-1.99.0-osx-arm64.tar.gz.sha256"
	for _, want := range []string{wantURL, "404 Not Found", "ISTIO_VERSION"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound || he.URL != wantURL {
		t.Errorf("error is not an *HTTPError for %s: %#v", wantURL, err)
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("files left in the cache: %v", files)
	}
}

func TestEnsureArchiveHTTPError(t *testing.T) {
	f := newFakeRelease(t)
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion)})
	archiveURL := f.publish(testVersion, "linux-arm64", archive, "")
	f.handle("/"+testVersion+"/"+ArchiveName(testVersion, "linux-arm64"), func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	cache := t.TempDir()
	o := baseOpts(f, cache, nil)
	o.GOOS, o.GOARCH = "linux", "arm64"
	_, err := Ensure(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "GET "+archiveURL+": 502 Bad Gateway") {
		t.Fatalf("err = %v, want it to name %s and 502 Bad Gateway", err, archiveURL)
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("files left in the cache: %v", files)
	}
}

func TestEnsureStalledServer(t *testing.T) {
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion) + strings.Repeat("#", 64<<10)})
	file := ArchiveName(testVersion, "linux-amd64")
	cases := map[string]string{
		"before checksum headers": "/" + testVersion + "/" + file + ".sha256",
		"mid archive body":        "/" + testVersion + "/" + file,
	}
	for name, stallPath := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeRelease(t)
			f.publish(testVersion, "linux-amd64", archive, "")
			release := make(chan struct{})
			t.Cleanup(func() { close(release) }) // runs before the server closes
			mid := strings.HasSuffix(stallPath, ".tar.gz")
			f.handle(stallPath, func(w http.ResponseWriter, r *http.Request) {
				if mid {
					w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
					w.Write(archive[:len(archive)/2])
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			cache := t.TempDir()
			o := baseOpts(f, cache, nil)
			o.GOOS, o.GOARCH = "linux", "amd64"
			o.StallTimeout = 300 * time.Millisecond
			o.DownloadTimeout = time.Minute
			o.ChecksumTimeout = time.Minute

			start := time.Now()
			_, err := Ensure(context.Background(), o)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Ensure succeeded against a stalled server")
			}
			t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
			if elapsed > 3*time.Second {
				t.Errorf("took %s to give up, want well under 5s", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
				t.Errorf("err = %v, want a timeout error", err)
			}
			if !strings.Contains(err.Error(), f.srv.URL+stallPath) {
				t.Errorf("err %q does not name the URL", err)
			}
			var se *StallError
			if !errors.As(err, &se) || !se.Timeout() {
				t.Errorf("err is not a *StallError: %#v", err)
			}
			if files := filesUnder(t, cache); len(files) != 0 {
				t.Errorf("files left in the cache: %v", files)
			}
		})
	}
}

func TestEnsureOverallTimeout(t *testing.T) {
	// A server that keeps trickling bytes never trips the stall guard; the
	// step deadline must still end the download.
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion)})
	f := newFakeRelease(t)
	f.publish(testVersion, "linux-amd64", archive, "")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.handle("/"+testVersion+"/"+ArchiveName(testVersion, "linux-amd64"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		for i := 0; i < len(archive); i++ {
			w.Write(archive[i : i+1])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-release:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	o := baseOpts(f, t.TempDir(), nil)
	o.GOOS, o.GOARCH = "linux", "amd64"
	o.StallTimeout = time.Second
	o.DownloadTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err := Ensure(context.Background(), o)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	t.Log(err)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestEnsureArchiveWithoutIstioctl(t *testing.T) {
	f := newFakeRelease(t)
	archive := buildArchive(t,
		entry{name: "README.md", body: "hello"},
		entry{name: "bin/", typeflag: tar.TypeDir},
		entry{name: "bin/istioctl", body: fakeScript(testVersion)},
	)
	f.publish(testVersion, "linux-amd64", archive, "")
	cache := t.TempDir()
	o := baseOpts(f, cache, nil)
	o.GOOS, o.GOARCH = "linux", "amd64"
	_, err := Ensure(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), `contains no "istioctl" entry`) || !strings.Contains(err.Error(), ArchiveName(testVersion, "linux-amd64")) {
		t.Fatalf("err = %v, want a clear no-istioctl error naming the archive", err)
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("files left in the cache: %v", files)
	}
}

func TestEnsureRejectsUnsafeEntries(t *testing.T) {
	for name, entries := range map[string][]entry{
		"dotdot istioctl": {{name: "../istioctl", body: fakeScript(testVersion)}},
		"dotdot after good": {
			{name: "istioctl", body: fakeScript(testVersion)},
			{name: "sub/../../evil", body: "x"},
		},
		"absolute": {{name: "/tmp/istioctl", body: fakeScript(testVersion)}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeRelease(t)
			f.publish(testVersion, "linux-amd64", buildArchive(t, entries...), "")
			root := t.TempDir()
			cache := filepath.Join(root, "cache")
			o := baseOpts(f, cache, nil)
			o.GOOS, o.GOARCH = "linux", "amd64"
			_, err := Ensure(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), "unsafe entry") {
				t.Fatalf("err = %v, want an unsafe entry error", err)
			}
			if files := filesUnder(t, root); len(files) != 0 {
				t.Errorf("files written: %v", files)
			}
		})
	}
}

func TestEnsureRejectsNonRegularIstioctl(t *testing.T) {
	f := newFakeRelease(t)
	f.publish(testVersion, "linux-amd64", buildArchive(t, entry{name: "istioctl", typeflag: tar.TypeSymlink, linkname: "/bin/sh"}), "")
	cache := t.TempDir()
	o := baseOpts(f, cache, nil)
	o.GOOS, o.GOARCH = "linux", "amd64"
	_, err := Ensure(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v, want a not-a-regular-file error", err)
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("files left in the cache: %v", files)
	}
}

func TestEnsureNotGzip(t *testing.T) {
	f := newFakeRelease(t)
	f.publish(testVersion, "linux-amd64", []byte("<html>rate limited</html>"), "")
	o := baseOpts(f, t.TempDir(), nil)
	o.GOOS, o.GOARCH = "linux", "amd64"
	if _, err := Ensure(context.Background(), o); err == nil || !strings.Contains(err.Error(), "not a gzip archive") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnsureProgressReportsBytes(t *testing.T) {
	archive := buildArchive(t, entry{name: "istioctl", body: fakeScript(testVersion) + strings.Repeat("#", 32<<10)})
	f := newFakeRelease(t)
	f.publish(testVersion, "linux-amd64", archive, "")
	f.handle("/"+testVersion+"/"+ArchiveName(testVersion, "linux-amd64"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		chunk := len(archive)/4 + 1
		for i := 0; i < len(archive); i += chunk {
			w.Write(archive[i:min(i+chunk, len(archive))])
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
		}
	})
	log := &progressLog{}
	o := baseOpts(f, t.TempDir(), log)
	o.GOOS, o.GOARCH = "linux", "amd64"
	o.ProgressInterval = 10 * time.Millisecond
	if _, err := Ensure(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	t.Log(log.all())
	if !strings.Contains(log.all(), "istioctl "+testVersion+": ") || !strings.Contains(log.all(), " downloaded (") {
		t.Errorf("no bytes-so-far progress:\n%s", log.all())
	}
}

func TestEnsureValidatesInputsWithoutNetwork(t *testing.T) {
	f := newFakeRelease(t)
	for _, v := range []string{"", "1.30", "../1.30.8", "1.30.8/../x", "latest"} {
		o := baseOpts(f, t.TempDir(), nil)
		o.Version = v
		if _, err := Ensure(context.Background(), o); err == nil || !strings.Contains(err.Error(), "invalid version") {
			t.Errorf("Ensure(version %q) err = %v", v, err)
		}
	}
	o := baseOpts(f, t.TempDir(), nil)
	o.GOOS, o.GOARCH = "windows", "amd64"
	if _, err := Ensure(context.Background(), o); err == nil || !strings.Contains(err.Error(), "windows/amd64") {
		t.Errorf("windows: err = %v", err)
	}
	o = baseOpts(f, t.TempDir(), nil)
	o.BaseURL = "ftp://example.invalid/x"
	if _, err := Ensure(context.Background(), o); err == nil || !strings.Contains(err.Error(), EnvDownloadBase) {
		t.Errorf("bad base: err = %v", err)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests made for invalid inputs", n)
	}
}

func TestPlatformAndURL(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"linux", "amd64"}:  "linux-amd64",
		{"linux", "arm64"}:  "linux-arm64",
		{"darwin", "amd64"}: "osx-amd64",
		{"darwin", "arm64"}: "osx-arm64",
	} {
		got, err := Platform(in[0], in[1])
		if err != nil || got != want {
			t.Errorf("Platform(%s/%s) = %q, %v; want %q", in[0], in[1], got, err, want)
		}
	}
	for _, in := range [][2]string{{"linux", "386"}, {"windows", "amd64"}, {"linux", "arm"}} {
		if _, err := Platform(in[0], in[1]); err == nil {
			t.Errorf("Platform(%s/%s) succeeded", in[0], in[1])
		}
	}
	want := "https://github.com/istio/istio/releases/download/1.30.8/istioctl-1.30.8-linux-amd64.tar.gz"
	if got := ArchiveURL("", "1.30.8", "linux-amd64"); got != want {
		t.Errorf("ArchiveURL default = %s", got)
	}
	if got := ArchiveURL("https://blob.istio.io/istio-release/releases/", "1.30.8", "osx-arm64"); got != "https://blob.istio.io/istio-release/releases/1.30.8/istioctl-1.30.8-osx-arm64.tar.gz" {
		t.Errorf("ArchiveURL mirror = %s", got)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if d, err := DefaultCacheDir(); err != nil || d != filepath.FromSlash("/x/cache/ambient-e2e/istioctl") {
		t.Errorf("DefaultCacheDir = %q, %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultCacheDir(); err != nil || d != filepath.FromSlash("/home/u/.cache/ambient-e2e/istioctl") {
		t.Errorf("DefaultCacheDir without XDG = %q, %v", d, err)
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	p := filepath.Join(t.TempDir(), "istioctl")
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyMismatch(t *testing.T) {
	bin := writeScript(t, fakeScript("1.30.7"))
	err := Verify(context.Background(), bin, "1.30.8")
	if err == nil || !strings.Contains(err.Error(), `"1.30.7"`) || !strings.Contains(err.Error(), `"1.30.8"`) {
		t.Fatalf("Verify err = %v, want both versions", err)
	}
}

func TestVersionErrors(t *testing.T) {
	bin := writeScript(t, "#!/bin/sh\necho 'bad flag' >&2\nexit 3\n")
	if _, err := Version(context.Background(), bin); err == nil || !strings.Contains(err.Error(), "bad flag") {
		t.Errorf("err = %v, want stderr included", err)
	}
	hang := writeScript(t, "#!/bin/sh\nexec sleep 30\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Version(ctx, hang); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging istioctl: err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("hanging istioctl took %s", d)
	}
}

func TestClientVersion(t *testing.T) {
	for out, want := range map[string]string{
		"client version: 1.30.8":   "1.30.8",
		"client version: 1.31-dev": "1.31-dev",
		"1.22.3":                   "1.22.3", // before 1.23: the bare version
		"client version: 1.30.8\ncontrol plane version: 1.30.7": "1.30.8",
	} {
		if got := clientVersion(out); got != want {
			t.Errorf("clientVersion(%q) = %q, want %q", out, got, want)
		}
	}
}
