package image

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushWritesTheImageAndReturnsItPinnedByDigest(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials: anonymous
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	if err := os.WriteFile(bin, []byte("#!fake probe binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := FromBinary(bin, "amd64", dir)
	if err != nil {
		t.Fatal(err)
	}
	repo := u.Host + "/mesh/ambient-e2e-probe"
	ref, err := Push(context.Background(), b, repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tag := b.Ref[strings.LastIndex(b.Ref, ":")+1:]
	if !strings.HasPrefix(ref, repo+":"+tag+"@sha256:") {
		t.Fatalf("pushed ref %q, want %s:%s@sha256:…", ref, repo, tag)
	}
	// What the registry holds is the image: same digest, same entrypoint.
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != BinaryPath || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("pushed config: entrypoint %q, %s/%s", got, cf.OS, cf.Architecture)
	}

	if _, err := Push(context.Background(), b, "not a repository!", name.Insecure); err == nil {
		t.Error("a malformed repository was accepted")
	}
}
