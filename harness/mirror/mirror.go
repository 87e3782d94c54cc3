// Package mirror is a local Istio release mirror, so the suite's online
// install paths run where nothing can be downloaded (as Istio's own kind CI
// pushes its images to a local registry): an OCI registry
// (go-containerregistry's pkg/registry, in process) for the images, and the
// istioctl release archives in the layout of Istio's GitHub releases, each
// with its .sha256, all from one HTTP address. ISTIO_HUB points at
// <address>/<repository> and ISTIO_DOWNLOAD_BASE at DownloadBase.
package mirror

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/ambient-e2e/ambient-e2e/harness/istioctl"
)

// DownloadPath is where the release archives are served, as on GitHub:
// <DownloadPath>/<version>/istioctl-<version>-<platform>.tar.gz.
const DownloadPath = "/istio/istio/releases/download"

// Mirror serves the registry under /v2/ and the release files under
// DownloadPath.
type Mirror struct {
	registry http.Handler
	mu       sync.RWMutex
	files    map[string][]byte // URL path → content
}

// New returns an empty mirror.
func New() *Mirror {
	return &Mirror{registry: registry.New(registry.Logger(log.New(io.Discard, "", 0))), files: map[string][]byte{}}
}

// ServeHTTP serves the registry's API and the release files.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") || r.URL.Path == "/v2" {
		m.registry.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	m.mu.RLock()
	b, ok := m.files[r.URL.Path]
	m.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, r.URL.Path, time.Unix(0, 0), bytes.NewReader(b))
}

// DownloadBase is ISTIO_DOWNLOAD_BASE for a mirror served at url.
func DownloadBase(url string) string { return strings.TrimRight(url, "/") + DownloadPath }

// AddIstioctl publishes an istioctl binary as Istio publishes its releases:
// the archive istioctl-<version>-<platform>.tar.gz holding the one file
// istioctl, and beside it <archive>.sha256, "<hex>  <archive name>". It
// returns the archive's URL path.
func (m *Mirror) AddIstioctl(version, platform string, binary []byte) (string, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "istioctl", Mode: 0o755, Size: int64(len(binary)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return "", err
	}
	if _, err := tw.Write(binary); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	name := istioctl.ArchiveName(version, platform)
	p := DownloadPath + "/" + version + "/" + name
	sum := sha256.Sum256(buf.Bytes())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[p] = buf.Bytes()
	m.files[p+".sha256"] = []byte(fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), name))
	return p, nil
}
