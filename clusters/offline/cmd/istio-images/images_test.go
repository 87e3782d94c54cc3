package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeInputs is a tiny stand-in for the real build: three "binaries" and a
// cni-root shaped like the one istio-build copies out of the Debian rootfs
// (merged-/usr links, xtables-nft-multi with its iptables names, a library
// behind a symlink, a sticky /tmp).
func fakeInputs(t *testing.T) Inputs {
	t.Helper()
	d := t.TempDir()
	bin := filepath.Join(d, "bin")
	root := filepath.Join(d, "cni-root")
	write := func(p, data string, mode fs.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "pilot-discovery"), "fake pilot-discovery", 0o755)
	write(filepath.Join(bin, "install-cni"), "fake install-cni", 0o755)
	write(filepath.Join(bin, "istio-cni"), "fake istio-cni", 0o755)
	write(filepath.Join(root, "usr/sbin/xtables-nft-multi"), "fake xtables-nft-multi", 0o755)
	write(filepath.Join(root, "usr/sbin/nft"), "fake nft", 0o755)
	link("xtables-nft-multi", filepath.Join(root, "usr/sbin/iptables"))
	link("xtables-nft-multi", filepath.Join(root, "usr/sbin/ip6tables-restore"))
	write(filepath.Join(root, "usr/lib/x86_64-linux-gnu/libnftables.so.1.1.0"), "fake lib", 0o644)
	link("libnftables.so.1.1.0", filepath.Join(root, "usr/lib/x86_64-linux-gnu/libnftables.so.1"))
	link("usr/sbin", filepath.Join(root, "sbin"))
	write(filepath.Join(root, "etc/protocols"), "tcp 6 TCP\n", 0o644)
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(d, "ca.crt"), "fake CA bundle\n", 0o644)
	return Inputs{BinDir: bin, CNIRoot: root, CABundle: filepath.Join(d, "ca.crt")}
}

func testOptions() Options {
	return Options{Hub: "localhost/istio", Tag: "1.31-dev", Variant: "distroless", Arch: "amd64",
		Labels: map[string]string{"org.opencontainers.image.revision": "eed52ebb66ad"}}
}

// file is one tar entry of an image's flattened file system (later layers win).
type file struct {
	hdr  *tar.Header
	data string
}

// loaded reads an image back from its docker archive, as `docker load` would.
func loaded(t *testing.T, w Written) (*v1.ConfigFile, map[string]file, []string) {
	t.Helper()
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(w.Archive) })
	if err != nil {
		t.Fatalf("%s is not a docker archive: %v", w.Archive, err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{w.Ref.String()}) {
		t.Fatalf("archive manifest names %+v, want one image tagged %s", m, w.Ref)
	}
	tag, err := name.NewTag(w.Ref.String())
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(w.Archive, &tag)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", tag, w.Archive, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]file{}
	var order []string
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		seen := map[string]bool{}
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			p := "/" + strings.TrimSuffix(h.Name, "/")
			if parent := filepath.Dir(p); parent != "/" && !seen[parent] {
				t.Errorf("layer %d: %s comes before its parent directory %s", i, p, parent)
			}
			seen[p] = true
			if !h.ModTime.Equal(epoch) || h.Uname != "" || h.Gname != "" {
				t.Errorf("layer %d: %s has mtime %s, owner names %q/%q; want the epoch and numeric owners only", i, p, h.ModTime, h.Uname, h.Gname)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = file{h, string(b)}
			order = append(order, p)
		}
		rc.Close()
	}
	return cf, files, order
}

func wantFile(t *testing.T, files map[string]file, p string, typ byte, mode int64, uid int, content string) {
	t.Helper()
	f, ok := files[p]
	if !ok {
		t.Errorf("%s is missing from the image", p)
		return
	}
	if f.hdr.Typeflag != typ || f.hdr.Mode != mode || f.hdr.Uid != uid || f.hdr.Gid != uid {
		t.Errorf("%s: type %q mode %o owner %d:%d, want type %q mode %o owner %d:%d",
			p, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, typ, mode, uid, uid)
	}
	if typ == tar.TypeReg && f.data != content {
		t.Errorf("%s holds %q, want %q", p, f.data, content)
	}
}

func wantLink(t *testing.T, files map[string]file, p, target string) {
	t.Helper()
	f, ok := files[p]
	switch {
	case !ok:
		t.Errorf("symlink %s is missing from the image", p)
	case f.hdr.Typeflag != tar.TypeSymlink || f.hdr.Linkname != target:
		t.Errorf("%s: type %q -> %q, want a symlink to %q", p, f.hdr.Typeflag, f.hdr.Linkname, target)
	}
}

func wantBase(t *testing.T, files map[string]file) {
	t.Helper()
	wantFile(t, files, "/etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0, "fake CA bundle\n")
	wantFile(t, files, "/tmp", tar.TypeDir, 0o1777, 0, "")
	wantFile(t, files, "/run", tar.TypeDir, 0o755, 0, "")
	wantFile(t, files, "/home/nonroot", tar.TypeDir, 0o755, 65532, "")
	wantFile(t, files, "/etc/nsswitch.conf", tar.TypeReg, 0o644, 0, files["/etc/nsswitch.conf"].data)
	if !strings.Contains(files["/etc/passwd"].data, "istio-proxy:x:1337:1337:") {
		t.Errorf("/etc/passwd has no istio-proxy 1337 account:\n%s", files["/etc/passwd"].data)
	}
}

func TestPilotImage(t *testing.T) {
	in := fakeInputs(t)
	img, err := Pilot(in, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	w, err := Write(t.TempDir(), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Ref.String(); got != "localhost/istio/pilot:1.31-dev-distroless" {
		t.Errorf("ref %s, want localhost/istio/pilot:1.31-dev-distroless (the chart's <hub>/pilot:<tag>-<variant>)", got)
	}
	cf, files, _ := loaded(t, w)
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/pilot-discovery"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want entrypoint [/usr/local/bin/pilot-discovery] and no cmd", c.Entrypoint, c.Cmd)
	}
	// runAsNonRoot: the kubelet accepts only a numeric, non-zero image user.
	uid, err := strconv.Atoi(strings.Split(c.User, ":")[0])
	if c.User != "1337:1337" || err != nil || uid == 0 {
		t.Errorf("user %q, want 1337:1337 (runAsNonRoot needs a numeric non-root user)", c.User)
	}
	if !slices.Equal(c.Env, []string{DefaultPath}) || c.WorkingDir != "" {
		t.Errorf("env %q workdir %q", c.Env, c.WorkingDir)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(epoch) {
		t.Errorf("platform %s/%s created %s, want linux/amd64 at the epoch", cf.OS, cf.Architecture, cf.Created)
	}
	if c.Labels["org.opencontainers.image.revision"] != "eed52ebb66ad" {
		t.Errorf("labels %v lack the revision passed in", c.Labels)
	}
	wantFile(t, files, "/usr/local/bin/pilot-discovery", tar.TypeReg, 0o755, 0, "fake pilot-discovery")
	wantFile(t, files, "/usr/local/bin", tar.TypeDir, 0o755, 0, "")
	wantBase(t, files)
	for p := range files {
		if strings.Contains(p, "cni") || strings.Contains(p, "tables") {
			t.Errorf("pilot image holds %s from the install-cni inputs", p)
		}
	}
}

func TestInstallCNIImage(t *testing.T) {
	in := fakeInputs(t)
	img, err := InstallCNI(in, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	w, err := Write(t.TempDir(), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Ref.String(); got != "localhost/istio/install-cni:1.31-dev-distroless" {
		t.Errorf("ref %s, want localhost/istio/install-cni:1.31-dev-distroless", got)
	}
	cf, files, _ := loaded(t, w)
	c := cf.Config
	if !slices.Equal(c.Cmd, []string{"/usr/local/bin/install-cni"}) || len(c.Entrypoint) != 0 {
		t.Errorf("entrypoint %q cmd %q, want cmd [/usr/local/bin/install-cni] and no entrypoint", c.Entrypoint, c.Cmd)
	}
	if !slices.Equal(c.Env, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/cni/bin"}) {
		t.Errorf("env %q, want Istio's PATH with /opt/cni/bin", c.Env)
	}
	if c.WorkingDir != "/opt/cni/bin" || c.User != "65532" {
		t.Errorf("workdir %q user %q, want /opt/cni/bin and 65532 (Istio's iptables base)", c.WorkingDir, c.User)
	}
	if c.Labels["description"] != "Istio CNI plugin installer." {
		t.Errorf("labels %v lack the Dockerfile's description", c.Labels)
	}
	wantFile(t, files, "/opt/cni/bin/istio-cni", tar.TypeReg, 0o755, 0, "fake istio-cni")
	wantFile(t, files, "/usr/local/bin/install-cni", tar.TypeReg, 0o755, 0, "fake install-cni")
	wantFile(t, files, "/usr/sbin/xtables-nft-multi", tar.TypeReg, 0o755, 0, "fake xtables-nft-multi")
	wantFile(t, files, "/usr/sbin/nft", tar.TypeReg, 0o755, 0, "fake nft")
	wantFile(t, files, "/usr/lib/x86_64-linux-gnu/libnftables.so.1.1.0", tar.TypeReg, 0o644, 0, "fake lib")
	wantFile(t, files, "/etc/protocols", tar.TypeReg, 0o644, 0, "tcp 6 TCP\n")
	wantLink(t, files, "/usr/sbin/iptables", "xtables-nft-multi")
	wantLink(t, files, "/usr/sbin/ip6tables-restore", "xtables-nft-multi")
	wantLink(t, files, "/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables.so.1.1.0")
	wantLink(t, files, "/sbin", "usr/sbin")
	wantBase(t, files)
}

func archiveSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestSameInputsSameImages(t *testing.T) {
	in := fakeInputs(t)
	var ids []v1.Hash
	var sums [][32]byte
	for range 2 {
		out := t.TempDir()
		var sb bytes.Buffer
		args := []string{"-hub", "localhost/istio", "-tag", "1.31-dev", "-arch", "amd64", "-bin", in.BinDir,
			"-cni-root", in.CNIRoot, "-ca-bundle", in.CABundle, "-label", "a=b", "-out", out}
		if err := run(args, &sb); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("printed %q, want two lines (pilot, install-cni)", sb.String())
		}
		for i, want := range []string{"pilot localhost/istio/pilot:1.31-dev-distroless ", "install-cni localhost/istio/install-cni:1.31-dev-distroless "} {
			if !strings.HasPrefix(lines[i], want) {
				t.Errorf("line %d %q, want it to start with %q", i, lines[i], want)
			}
			f := strings.Fields(lines[i])
			h, err := v1.NewHash(f[3])
			if err != nil {
				t.Fatalf("line %q: image ID: %v", lines[i], err)
			}
			ids = append(ids, h)
			sums = append(sums, archiveSum(t, f[2]))
		}
		txt, err := os.ReadFile(filepath.Join(out, "images.txt"))
		if err != nil || string(txt) != sb.String() {
			t.Errorf("images.txt %q (%v), want what was printed: %q", txt, err, sb.String())
		}
	}
	if ids[0] != ids[2] || ids[1] != ids[3] || sums[0] != sums[2] || sums[1] != sums[3] {
		t.Errorf("two builds from the same inputs differ: image IDs %v", ids)
	}
	if ids[0] == ids[1] {
		t.Errorf("pilot and install-cni have the same image ID %s", ids[0])
	}

	// A changed input is a changed image.
	if err := os.WriteFile(filepath.Join(in.BinDir, "pilot-discovery"), []byte("another pilot"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := Pilot(in, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	w, err := Write(t.TempDir(), img)
	if err != nil {
		t.Fatal(err)
	}
	if w.ID == ids[0] {
		t.Errorf("a different pilot-discovery gave the same image ID %s", w.ID)
	}
}

func TestShareBaseLayer(t *testing.T) {
	in := fakeInputs(t)
	p, err := Pilot(in, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	c, err := InstallCNI(in, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := p.Img.Layers()
	cl, _ := c.Img.Layers()
	if len(pl) != 2 || len(cl) != 3 {
		t.Fatalf("pilot has %d layers, install-cni %d; want 2 (base, binary) and 3 (base, tools, binaries)", len(pl), len(cl))
	}
	pd, _ := pl[0].Digest()
	cd, _ := cl[0].Digest()
	if pd != cd {
		t.Errorf("base layers differ (%s, %s); nodes would store the base twice", pd, cd)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, in *Inputs, o *Options)
		want  []string
	}{
		{"missing binary", func(t *testing.T, in *Inputs, _ *Options) {
			if err := os.Remove(filepath.Join(in.BinDir, "istio-cni")); err != nil {
				t.Fatal(err)
			}
		}, []string{"istio-cni", "expected a file at", "istio-build"}},
		{"no cni root", func(_ *testing.T, in *Inputs, _ *Options) { in.CNIRoot = filepath.Join(in.CNIRoot, "nope") },
			[]string{"-cni-root", "expected a directory"}},
		{"socket in cni root", func(t *testing.T, in *Inputs, _ *Options) {
			l, err := net.Listen("unix", filepath.Join(in.CNIRoot, "run.sock"))
			if err != nil {
				t.Skip("no unix sockets here:", err)
			}
			t.Cleanup(func() { l.Close() })
		}, []string{"run.sock", "only directories, regular files and symlinks"}},
		{"bad hub", func(_ *testing.T, _ *Inputs, o *Options) { o.Hub = "Local Host/istio" },
			[]string{`hub "Local Host/istio"`, "image reference"}},
		{"no arch", func(_ *testing.T, _ *Inputs, o *Options) { o.Arch = "" }, []string{"-arch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, o := fakeInputs(t), testOptions()
			tc.spoil(t, &in, &o)
			_, err := InstallCNI(in, o)
			if err == nil {
				t.Fatal("InstallCNI succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	got, err := normalize([]entry{fileEntry("usr/local/bin/x", 0o755, "x"), dirEntry("opt", 0o700), fileEntry("opt/a", 0o644, "")})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got {
		paths = append(paths, e.Path+" "+e.Mode.String())
	}
	want := []string{"opt drwx------", "opt/a -rw-r--r--", "usr drwxr-xr-x", "usr/local drwxr-xr-x", "usr/local/bin drwxr-xr-x", "usr/local/bin/x -rwxr-xr-x"}
	if !slices.Equal(paths, want) {
		t.Errorf("normalized to %q, want %q (given dirs kept, missing parents 0755, sorted)", paths, want)
	}
	for _, bad := range [][]entry{
		{linkEntry("bin", "usr/bin"), fileEntry("bin/x", 0o755, "")},
		{fileEntry("a", 0o644, ""), fileEntry("a", 0o644, "")},
		{fileEntry("/abs", 0o644, "")},
		{fileEntry("a/../b", 0o644, "")},
	} {
		if _, err := normalize(bad); err == nil {
			t.Errorf("normalize(%v) succeeded, want an error", bad)
		}
	}
}

func TestRunNeedsItsFlags(t *testing.T) {
	err := run([]string{"-hub", "localhost/istio"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-tag is required") {
		t.Errorf("run without -tag: %v, want '-tag is required'", err)
	}
	if err := run([]string{"-label", "novalue"}, io.Discard); err == nil || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("run -label novalue: %v, want a key=value error", err)
	}
}
