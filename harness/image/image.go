// Package image builds images of static binaries without Docker (the probe
// fixture, the in-cluster runner): the binaries as one layer on an empty
// base (go-containerregistry), written as a docker-archive tarball that kind
// nodes can import, or pushed to a registry for clusters that pull.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Repository is the name of locally built probe images; the tag is the
// binary's content hash, so a changed probe is a new image and nodes never
// run a stale one.
const Repository = "ambient-e2e.local/probe"

// BinaryPath is where the probe lives inside the image.
const BinaryPath = "/probe"

// Built is a probe image written to disk.
type Built struct {
	Ref     string // e.g. ambient-e2e.local/probe:3f2a…
	Archive string // docker-archive tarball path
}

// BuildBinary compiles the probe for linux/arch into outDir, statically.
func BuildBinary(ctx context.Context, moduleRoot, outDir, arch string) (string, error) {
	out := filepath.Join(outDir, "probe-linux-"+arch)
	return out, GoBuild(ctx, moduleRoot, arch, out, []string{"build", "-ldflags=-s -w"}, "./fixtures/probe")
}

// GoBuild compiles pkg of the module at moduleRoot for linux/arch,
// statically (CGO_ENABLED=0, -trimpath), into out: `go <command…> -trimpath
// -o out pkg`, command being e.g. {"build"} or {"test", "-c", "-tags=e2e"}.
func GoBuild(ctx context.Context, moduleRoot, arch, out string, command []string, pkg string) error {
	args := append(append(slices.Clone(command), "-trimpath", "-o", out), pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// FromBinary builds the probe image from a linux binary and writes its archive to outDir.
func FromBinary(binary, arch, outDir string) (Built, error) {
	return Pack(Spec{
		Repository: Repository, Title: "ambient-e2e probe", Arch: arch,
		Files:      []File{{Path: BinaryPath, Source: binary}},
		Entrypoint: []string{BinaryPath}, Cmd: []string{"serve"},
	}, outDir)
}

// File is one executable of an image: its path in the image and the file
// on disk it is read from.
type File struct {
	Path   string // absolute path in the image, e.g. /probe
	Source string // the linux binary on disk
}

// Spec describes an image of static binaries on an empty base.
type Spec struct {
	Repository string // e.g. ambient-e2e.local/probe
	Title      string // org.opencontainers.image.title
	Arch       string
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string // KEY=value
}

// Pack builds spec's image, one layer holding its files on an empty base,
// run as 65532 (nonroot), and writes its docker-archive to outDir. The tag
// is a hash of the files and the configuration, so a changed binary is a
// new image and a node never runs a stale one; an archive already written
// for the same tag is reused.
func Pack(spec Spec, outDir string) (Built, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q\n", spec.Entrypoint, spec.Cmd, spec.Env, spec.Arch)
	for _, f := range spec.Files {
		bin, err := os.ReadFile(f.Source)
		if err != nil {
			return Built{}, err
		}
		fmt.Fprintf(h, "%s %d\n", f.Path, len(bin))
		h.Write(bin)
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return Built{}, err
		}
		if _, err := tw.Write(bin); err != nil {
			return Built{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Built{}, err
	}
	tag := hex.EncodeToString(h.Sum(nil))[:16]
	ref, err := name.NewTag(spec.Repository + ":" + tag)
	if err != nil {
		return Built{}, err
	}
	layerTar := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		return Built{}, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return Built{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Built{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", spec.Arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = spec.Entrypoint
	cf.Config.Cmd = spec.Cmd
	cf.Config.Env = spec.Env
	cf.Config.User = "65532:65532"
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": spec.Title}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return Built{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Built{}, err
	}
	archive := filepath.Join(outDir, path.Base(spec.Repository)+"-"+tag+".tar")
	if _, err := os.Stat(archive); err == nil {
		return Built{Ref: ref.String(), Archive: archive}, nil
	}
	tmp := archive + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return Built{}, err
	}
	if err := os.Rename(tmp, archive); err != nil {
		return Built{}, err
	}
	return Built{Ref: ref.String(), Archive: archive}, nil
}

// Build compiles the probe and packs it: the one call the harness makes.
func Build(ctx context.Context, moduleRoot, outDir, arch string) (Built, error) {
	if arch == "" {
		arch = runtime.GOARCH
	}
	bin, err := BuildBinary(ctx, moduleRoot, outDir, arch)
	if err != nil {
		return Built{}, err
	}
	return FromBinary(bin, arch, outDir)
}

// ModuleRoot finds the directory holding go.mod, from dir upwards (a
// relative dir is taken from the working directory).
func ModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// Push copies a built image to repository (registry/path, no tag) under the
// built image's tag, with the credentials of the Docker config
// (authn.DefaultKeychain), and returns the pushed reference pinned by
// digest: what PROBE_IMAGE takes on a cluster that pulls.
func Push(ctx context.Context, b Built, repository string, opts ...name.Option) (string, error) {
	src, err := name.NewTag(b.Ref)
	if err != nil {
		return "", err
	}
	img, err := tarball.ImageFromPath(b.Archive, &src)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", b.Archive, err)
	}
	dst, err := name.NewTag(repository+":"+src.TagStr(), opts...)
	if err != nil {
		return "", fmt.Errorf("repository %q: %w", repository, err)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", dst, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return dst.String() + "@" + d.String(), nil
}
