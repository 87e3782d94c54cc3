package component

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ZtunnelPath is where Istio's image puts the binary, and its entrypoint
// (istio pilot/docker/Dockerfile.ztunnel: COPY ztunnel /usr/local/bin/ztunnel,
// ENTRYPOINT ["/usr/local/bin/ztunnel"]; the chart adds the args "proxy
// ztunnel", manifests/charts/ztunnel/templates/daemonset.yaml, release-1.31).
const ZtunnelPath = "/usr/local/bin/ztunnel"

// HostCABundle is packed as the image's CA bundle when this host has one
// (ztunnel talks to istiod with istiod's root from its own config; the
// bundle is for parity with Istio's base image).
const HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// epoch is every file's and the config's timestamp: the same binary and
// libraries give the same image ID.
var epoch = time.Unix(0, 0).UTC()

// file is one entry of a layer: a directory, or a regular file whose
// content is read from a host path.
type file struct {
	Path string // inside the image, without the leading slash
	Dir  bool
	Mode int64
	Src  string // host path of a regular file's content
	Data []byte // or the content itself
}

// PackZtunnel makes the image Istio's ztunnel image is, from a binary built
// on this host: the binary at /usr/local/bin/ztunnel as the entrypoint,
// the libraries and loader it links against (libs, from Libraries) at the
// paths its loader looks in, the accounts of Istio's distroless base and
// the host's CA bundle. Istio's base also has iptables and nftables;
// ztunnel in in-pod mode runs neither (istio-cni writes the rules), so they
// are left out.
func PackZtunnel(binary string, libs []string, arch, version string) (v1.Image, error) {
	base := []file{
		{Path: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"istio-proxy:x:1337:1337:istio-proxy:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nistio-proxy:x:1337:\nnonroot:x:65532:\n")},
		{Path: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Path: "tmp", Dir: true, Mode: 0o1777},
	}
	if st, err := os.Stat(HostCABundle); err == nil && st.Mode().IsRegular() {
		base = append(base, file{Path: strings.TrimPrefix(HostCABundle, "/"), Mode: 0o644, Src: HostCABundle})
	}
	var libFiles []file
	for _, l := range libs {
		real, err := filepath.EvalSymlinks(l)
		if err != nil {
			return nil, fmt.Errorf("library %s of %s: %w", l, binary, err)
		}
		libFiles = append(libFiles, file{Path: strings.TrimPrefix(l, "/"), Mode: 0o755, Src: real})
	}
	layers := [][]file{base, libFiles, {{Path: strings.TrimPrefix(ZtunnelPath, "/"), Mode: 0o755, Src: binary}}}
	img := empty.Image
	for _, fs := range layers {
		if len(fs) == 0 {
			continue
		}
		data, err := layerTar(fs)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{ZtunnelPath}
	cf.Config.WorkingDir = "/"
	// Dockerfile.ztunnel: ENV ISTIO_META_ISTIO_VERSION $istio_version
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ISTIO_META_ISTIO_VERSION=" + version}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "ztunnel (ZTUNNEL_BINARY, packed by ambient-e2e)",
		"org.opencontainers.image.version":     version,
		"io.ambient-e2e.ztunnel-binary-source": binary,
	}
	return mutate.ConfigFile(img, cf)
}

// layerTar writes the files as a tar, with every parent directory, sorted,
// owned by root, timestamps at the epoch.
func layerTar(files []file) ([]byte, error) {
	all := map[string]file{}
	for _, f := range files {
		all[f.Path] = f
		for d := path.Dir(f.Path); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = file{Path: d, Dir: true, Mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		f := all[n]
		h := &tar.Header{Name: n, Mode: f.Mode, ModTime: epoch, Format: tar.FormatPAX}
		if f.Dir {
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
			if err := tw.WriteHeader(h); err != nil {
				return nil, err
			}
			continue
		}
		data := f.Data
		if f.Src != "" {
			var err error
			if data, err = os.ReadFile(f.Src); err != nil {
				return nil, err
			}
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Prepared is a given image, written as a docker-archive tagged with the
// reference the install renders, ready to load into the nodes.
type Prepared struct {
	Component Name
	Ref       string // the reference the rendered manifest names
	Archive   string
	ID        string // image ID (sha256 of its config), as the nodes' containerd reports it
	From      string // where it came from (Source.String)
}

// Prepare writes the image of s as a docker-archive in dir, tagged ref (the
// reference the install renders for s.Component), so the chart's pods run
// it. A binary is packed (PackZtunnel); an archive already tagged ref is
// used as it is; a Docker image is saved from the host's engine first.
func Prepare(ctx context.Context, s Source, ref, dir, arch, version string) (Prepared, error) {
	p := Prepared{Component: s.Component, Ref: ref, From: s.String()}
	tag, err := parseTag(ref)
	if err != nil {
		return p, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	var img v1.Image
	switch {
	case s.Binary != "":
		libs, err := Libraries(ctx, s.Binary, arch)
		if err != nil {
			return p, err
		}
		if img, err = PackZtunnel(s.Binary, libs, arch, version); err != nil {
			return p, fmt.Errorf("packing %s: %w", s.Binary, err)
		}
	case s.Docker != "":
		saved := filepath.Join(dir, string(s.Component)+"-docker-save.tar")
		defer func() { _ = os.Remove(saved) }()
		if err := dockerSave(ctx, s.Docker, saved); err != nil {
			return p, err
		}
		if img, err = tarball.ImageFromPath(saved, nil); err != nil {
			return p, fmt.Errorf("docker save %s wrote an archive that does not load: %w", s.Docker, err)
		}
	default:
		if img, err = tarball.ImageFromPath(s.Archive, nil); err != nil {
			return p, fmt.Errorf("image archive %s does not load: %w", s.Archive, err)
		}
		if tagged(s.Archive, ref) {
			id, err := img.ConfigName()
			if err != nil {
				return p, err
			}
			p.Archive, p.ID = s.Archive, id.String()
			return p, nil
		}
	}
	id, err := img.ConfigName()
	if err != nil {
		return p, fmt.Errorf("reading the image of %s: %w", s, err)
	}
	p.ID = id.String()
	p.Archive = filepath.Join(dir, fmt.Sprintf("%s-%s.tar", s.Component, id.Hex[:16]))
	if _, err := os.Stat(p.Archive); err == nil && tagged(p.Archive, ref) {
		return p, nil // written before, under the same reference
	}
	tmp := p.Archive + ".tmp"
	defer func() { _ = os.Remove(tmp) }()
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return p, fmt.Errorf("writing the image of %s as %s: %w", s, ref, err)
	}
	return p, os.Rename(tmp, p.Archive)
}

// tagged reports whether the archive's one image carries ref among its tags.
func tagged(archive, ref string) bool {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil || len(m) != 1 {
		return false
	}
	want, err := parseTag(ref)
	if err != nil {
		return false
	}
	for _, t := range m[0].RepoTags {
		if got, err := parseTag(t); err == nil && got.Name() == want.Name() {
			return true
		}
	}
	return false
}

func dockerSave(ctx context.Context, ref, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if b, err := execCombined(ctx, "docker", "save", "-o", out, ref); err != nil {
		return fmt.Errorf("docker save %s: %w: %s", ref, err, strings.TrimSpace(string(b)))
	}
	return nil
}

func parseTag(ref string) (name.Tag, error) {
	t, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("%q is not an image reference with a tag: %w", ref, err)
	}
	return t, nil
}

func execCombined(ctx context.Context, cmd string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, cmd, args...).CombinedOutput()
}
