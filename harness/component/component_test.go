package component

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestParse(t *testing.T) {
	got, err := Parse(" ztunnel=docker:localhost/ztunnel:mine , pilot=/x/pilot.tar,install-cni=/x/cni.tar", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Component: Pilot, Archive: "/x/pilot.tar"},
		{Component: InstallCNI, Archive: "/x/cni.tar"},
		{Component: Ztunnel, Docker: "localhost/ztunnel:mine"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("source %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	got, err = Parse("proxyv2=/p.tar", "/build/ztunnel")
	if err != nil || len(got) != 2 || got[0].Binary != "/build/ztunnel" || got[1].Component != Proxyv2 {
		t.Fatalf("Parse with ZTUNNEL_BINARY: %+v, %v", got, err)
	}
	if got, err := Parse("", ""); err != nil || len(got) != 0 {
		t.Fatalf("nothing given: %+v, %v", got, err)
	}
	for in, want := range map[[2]string]string{
		{"istiod=/x.tar", ""}:                   `unknown component "istiod"; want one of pilot, install-cni, ztunnel, proxyv2`,
		{"ztunnel", ""}:                         "want component=source",
		{"ztunnel=", ""}:                        "want component=source",
		{"ztunnel=docker:", ""}:                 "docker: needs an image reference",
		{"ztunnel=/a.tar", "/b/ztunnel"}:        "ztunnel is given twice",
		{"pilot=/a.tar,pilot=docker:x:1", ""}:   "pilot is given twice",
		{"pilot=/a.tar,bogus=1,ztunnel=", "/b"}: "unknown component",
	} {
		_, err := Parse(in[0], in[1])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q, %q): error %v, want one containing %q", in[0], in[1], err, want)
		}
	}
}

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{
		{Component: Ztunnel, Binary: "/b/ztunnel"}:  "ZTUNNEL_BINARY /b/ztunnel",
		{Component: Pilot, Archive: "/a/pilot.tar"}: "pilot=/a/pilot.tar (image archive)",
		{Component: Proxyv2, Docker: "x/proxyv2:1"}: "proxyv2=docker:x/proxyv2:1 (host Docker)",
	} {
		if got := s.String(); got != want {
			t.Errorf("%+v: got %q, want %q", s, got, want)
		}
	}
}

// The images `istioctl manifest generate --set profile=ambient --set
// hub=localhost/istio --set tag=1.31-dev` renders with the release-1.31
// build (the self-test's istio-build log, manifest-images.txt), plus the
// waypoint's proxyv2 that mesh.ReleaseImages adds.
var ambientImages = []string{
	"localhost/istio/install-cni:1.31-dev-distroless",
	"localhost/istio/pilot:1.31-dev-distroless",
	"localhost/istio/proxyv2:1.31-dev-distroless",
	"localhost/istio/ztunnel:1.31-dev-distroless",
}

func TestChartRef(t *testing.T) {
	for _, c := range Names {
		got, err := ChartRef(ambientImages, c)
		if err != nil {
			t.Fatal(err)
		}
		if want := "localhost/istio/" + string(c) + ":1.31-dev-distroless"; got != want {
			t.Errorf("%s: got %s, want %s", c, got, want)
		}
	}
	// A registry with a port, and a digest, are not the image's name.
	if got, err := ChartRef([]string{"reg:5000/istio/ztunnel@sha256:abcd", "reg:5000/istio/pilot:1"}, Ztunnel); err != nil || got != "reg:5000/istio/ztunnel@sha256:abcd" {
		t.Errorf("digest reference: %q, %v", got, err)
	}
	if _, err := ChartRef(ambientImages[:2], Ztunnel); err == nil || !strings.Contains(err.Error(), "renders no ztunnel image") {
		t.Errorf("missing component: %v", err)
	}
	if _, err := ChartRef([]string{"a/ztunnel:1", "b/ztunnel:2"}, Ztunnel); err == nil || !strings.Contains(err.Error(), "several ztunnel images") {
		t.Errorf("two candidates: %v", err)
	}
}

func TestParseLdd(t *testing.T) {
	// ldd of ztunnel 1.31.0-rc.0 (release-1.31, release profile,
	// default features tls-aws-lc and jemalloc) built by hand on this
	// project's Debian bookworm machine on 2026-12-07, with one missing
	// library and a repeated line added.
	out := []byte(`	linux-vdso.so.1 (0x00007f17b3f5a000)
	libgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f17b3f29000)
	libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f17b3e49000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f17b2c1e000)
	libfoo.so.3 => not found
	/lib64/ld-linux-x86-64.so.2 (0x00007f17b3f5c000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f17b2c1e000)
`)
	libs, missing := ParseLdd(out)
	want := []string{"/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if strings.Join(libs, " ") != strings.Join(want, " ") {
		t.Errorf("libs: got %q, want %q", libs, want)
	}
	if len(missing) != 1 || missing[0] != "libfoo.so.3" {
		t.Errorf("missing: %q", missing)
	}
	if libs, missing := ParseLdd([]byte("\tstatically linked\n")); len(libs)+len(missing) != 0 {
		t.Errorf("a static binary: %q %q", libs, missing)
	}
}

// hostBinary is a dynamically linked executable of this host.
func hostBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no /bin/true on this host")
	return ""
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

func TestCheckBinary(t *testing.T) {
	ctx := context.Background()
	bin := hostBinary(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "ztunnel.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(dir, "ztunnel")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notExec, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, arch, want string }{
		{filepath.Join(dir, "missing"), runtime.GOARCH, "no such file"},
		{dir, runtime.GOARCH, "is not a regular file (mode d"},
		{notExec, runtime.GOARCH, "is not executable (mode -rw-r--r--)"},
		{script, runtime.GOARCH, "is not an ELF executable"},
		{bin, otherArch(), "but the nodes are " + otherArch()},
		{bin, "mips", `the nodes' architecture "mips"`},
	} {
		err := Source{Component: Ztunnel, Binary: c.path}.Check(ctx, c.arch)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%s, %s): %v, want an error containing %q", c.path, c.arch, err, c.want)
		}
	}
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd on this host")
	}
	libs, err := Libraries(ctx, bin, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if !containsBase(libs, "libc.so.6") {
		t.Errorf("the libraries of %s lack libc: %q", bin, libs)
	}
}

func containsBase(paths []string, base string) bool {
	for _, p := range paths {
		if filepath.Base(p) == base {
			return true
		}
	}
	return false
}

// layerFiles reads every regular file of an image's layers.
func layerFiles(t *testing.T, archive string) map[string][]byte {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[h.Name] = b
			}
		}
		_ = rc.Close()
	}
	return files
}

func TestPrepareZtunnelBinary(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd on this host")
	}
	ctx := context.Background()
	bin := hostBinary(t)
	dir := t.TempDir()
	ref := "localhost/istio/ztunnel:1.31-dev-distroless"
	p, err := Prepare(ctx, Source{Component: Ztunnel, Binary: bin}, ref, dir, runtime.GOARCH, "1.31-dev")
	if err != nil {
		t.Fatal(err)
	}
	if !tagged(p.Archive, ref) {
		t.Errorf("%s is not tagged %s", p.Archive, ref)
	}
	files := layerFiles(t, p.Archive)
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(files["usr/local/bin/ztunnel"], want) {
		t.Errorf("usr/local/bin/ztunnel is not %s (%d bytes in the image)", bin, len(files["usr/local/bin/ztunnel"]))
	}
	libs, _ := Libraries(ctx, bin, runtime.GOARCH)
	for _, l := range libs {
		if _, ok := files[strings.TrimPrefix(l, "/")]; !ok {
			t.Errorf("library %s is not in the image", l)
		}
	}
	img, err := tarball.ImageFromPath(p.Archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != ZtunnelPath || cf.Architecture != runtime.GOARCH || cf.OS != "linux" {
		t.Errorf("config: entrypoint %q, platform %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	if id, _ := img.ConfigName(); id.String() != p.ID {
		t.Errorf("Prepared.ID %s, image ID %s", p.ID, id)
	}
	// The same binary packs to the same image: a re-run loads nothing new.
	again, err := Prepare(ctx, Source{Component: Ztunnel, Binary: bin}, ref, dir, runtime.GOARCH, "1.31-dev")
	if err != nil || again.ID != p.ID || again.Archive != p.Archive {
		t.Errorf("packing again: %+v, %v; first %+v", again, err, p)
	}
}

func TestPrepareArchive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img, err := mutate.ConfigFile(empty.Image, mustConfig(t, "linux", runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine.tar")
	if err := tarball.WriteToFile(mine, name.MustParseReference("example.com/me/ztunnel:mine").(name.Tag), img); err != nil {
		t.Fatal(err)
	}
	if err := (Source{Component: Ztunnel, Archive: mine}).Check(ctx, runtime.GOARCH); err != nil {
		t.Fatalf("a good archive: %v", err)
	}
	if err := (Source{Component: Ztunnel, Archive: mine}).Check(ctx, otherArch()); err == nil || !strings.Contains(err.Error(), "but the nodes are "+otherArch()) {
		t.Errorf("wrong architecture: %v", err)
	}
	// Retagged as the chart names it, into a new archive.
	ref := "localhost/istio/ztunnel:1.31-dev-distroless"
	p, err := Prepare(ctx, Source{Component: Ztunnel, Archive: mine}, ref, filepath.Join(dir, "out"), runtime.GOARCH, "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.Archive == mine || !tagged(p.Archive, ref) {
		t.Errorf("retagged archive %s: tagged %s: %v", p.Archive, ref, tagged(p.Archive, ref))
	}
	// Already tagged as the chart names it: used as it is.
	q, err := Prepare(ctx, Source{Component: Ztunnel, Archive: p.Archive}, ref, filepath.Join(dir, "out2"), runtime.GOARCH, "x")
	if err != nil || q.Archive != p.Archive || q.ID != p.ID {
		t.Errorf("an archive tagged %s: %+v, %v", ref, q, err)
	}
	junk := filepath.Join(dir, "junk.tar")
	if err := os.WriteFile(junk, []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		junk:                          "does not load",
		filepath.Join(dir, "nothing"): "no such file",
		dir:                           "is a directory",
	} {
		if err := (Source{Component: Pilot, Archive: path}).Check(ctx, runtime.GOARCH); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s): %v, want %q", path, err, want)
		}
	}
}

func mustConfig(t *testing.T, os, arch string) *v1.ConfigFile {
	t.Helper()
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	return cf
}
