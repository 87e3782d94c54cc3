package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestFromBinaryWritesALoadableSingleLayerImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	content := []byte("#!fake probe binary")
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := FromBinary(bin, "amd64", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Ref, Repository+":") {
		t.Fatalf("ref %q", b.Ref)
	}
	tag, _ := name.NewTag(b.Ref)
	img, err := tarball.ImageFromPath(b.Archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" || cf.Config.Entrypoint[0] != BinaryPath {
		t.Fatalf("config %+v", cf.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 (binary on an empty base)", len(layers))
	}
	rc, _ := layers[0].Uncompressed()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil || h.Name != "probe" || h.Mode != 0o755 {
		t.Fatalf("entry %+v err %v", h, err)
	}
	got, _ := io.ReadAll(tr)
	if !bytes.Equal(got, content) {
		t.Fatal("layer does not hold the binary")
	}

	// Same binary → same tag (cache hit); changed binary → new tag.
	again, err := FromBinary(bin, "amd64", dir)
	if err != nil || again != b {
		t.Fatalf("rebuild differs: %v %v", again, err)
	}
	if err := os.WriteFile(bin, []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	changed, err := FromBinary(bin, "amd64", dir)
	if err != nil || changed.Ref == b.Ref {
		t.Fatalf("changed binary kept tag %s (%v)", changed.Ref, err)
	}
}

func TestModuleRootFindsGoMod(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "fixtures")); err != nil {
		t.Fatalf("root %s has no fixtures dir", root)
	}
}

// A relative directory is searched upwards too: the suite asks from its
// package directory with ".", and the report's suite version depends on it.
func TestModuleRootFromARelativeDirectory(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatalf("ModuleRoot(\".\"): %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil || !filepath.IsAbs(root) {
		t.Fatalf("root %q: %v", root, err)
	}
}
