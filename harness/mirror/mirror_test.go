package mirror

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/istioctl"
)

// The suite's own download path (checksum, archive, extraction, cache)
// fetches istioctl from the mirror exactly as from GitHub.
func TestIstioctlDownloadsFromTheMirrorWithItsChecksum(t *testing.T) {
	m := New()
	binary := []byte("#!/bin/sh\necho istioctl 1.30.8\n")
	if _, err := m.AddIstioctl("1.30.8", "linux-amd64", binary); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	var progress []string
	path, err := istioctl.Ensure(context.Background(), istioctl.Options{
		Version: "1.30.8", BaseURL: DownloadBase(srv.URL), CacheDir: t.TempDir(), GOOS: "linux", GOARCH: "amd64",
		Progress: func(s string) { progress = append(progress, s) },
	})
	if err != nil {
		t.Fatalf("Ensure through the mirror: %v (progress %q)", err, progress)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, binary) {
		t.Fatalf("the cached istioctl is %q (%v), want the mirror's", got, err)
	}
}

// A tampered archive fails the download's checksum, as a corrupt release would.
func TestATamperedArchiveFailsTheChecksum(t *testing.T) {
	m := New()
	p, err := m.AddIstioctl("1.30.8", "linux-amd64", []byte("istioctl"))
	if err != nil {
		t.Fatal(err)
	}
	m.files[p] = append(bytes.Clone(m.files[p]), 0)
	srv := httptest.NewServer(m)
	defer srv.Close()
	_, err = istioctl.Ensure(context.Background(), istioctl.Options{
		Version: "1.30.8", BaseURL: DownloadBase(srv.URL), CacheDir: t.TempDir(), GOOS: "linux", GOARCH: "amd64",
	})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "sha256") {
		t.Fatalf("err = %v, want a checksum mismatch", err)
	}
}

// An image pushed to the mirror's registry is pulled back by the same
// digest: what a node pulling ISTIO_HUB/<component>:<tag> gets.
func TestImagesPushedToTheMirrorPullByDigest(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pilot-discovery")
	if err := os.WriteFile(bin, []byte("not really istiod"), 0o755); err != nil {
		t.Fatal(err)
	}
	built, err := image.Pack(image.Spec{Repository: "ambient-e2e.local/pilot", Title: "test", Arch: "amd64",
		Files: []image.File{{Path: "/usr/local/bin/pilot-discovery", Source: bin}}, Entrypoint: []string{"/usr/local/bin/pilot-discovery"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	pushed, err := image.Push(context.Background(), built, host+"/istio/pilot", name.Insecure)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	ref, err := name.ParseReference(pushed, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", pushed, err)
	}
	d, _ := img.Digest()
	if !strings.HasSuffix(pushed, d.String()) {
		t.Fatalf("pulled %s, pushed %s", d, pushed)
	}
}

func TestTheMirrorIsReadOnlyOutsideTheRegistry(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+DownloadPath+"/1.30.8/x", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST to the release files: %d, want 405", resp.StatusCode)
	}
}
