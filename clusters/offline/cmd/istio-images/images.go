package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Paths and settings as Istio's Dockerfiles have them
// (pilot/docker/Dockerfile.pilot, cni/deployments/kubernetes/Dockerfile.install-cni).
const (
	PilotBinary      = "/usr/local/bin/pilot-discovery"
	PilotUser        = "1337:1337" // the chart sets runAsNonRoot: the image user must be numeric and not 0
	InstallCNIBinary = "/usr/local/bin/install-cni"
	CNIPluginBinary  = "/opt/cni/bin/istio-cni"
	CNIWorkDir       = "/opt/cni/bin"
	CNIPath          = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/cni/bin"
	// CNIUser is the run-as of Istio's iptables base image (docker/iptables.yaml);
	// the istio-cni chart runs the container with runAsUser 0 regardless.
	CNIUser      = "65532"
	DefaultPath  = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	CABundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// Inputs are the files the images are made of.
type Inputs struct {
	BinDir   string // pilot-discovery, install-cni, istio-cni
	CNIRoot  string // a root tree with iptables, nft and their libraries
	CABundle string // optional CA bundle for /etc/ssl/certs/ca-certificates.crt
}

// Options name and label the images.
type Options struct {
	Hub, Tag, Variant string // <hub>/pilot:<tag>-<variant>, as the charts build the name
	Arch              string // GOARCH of the binaries
	Labels            map[string]string
}

// Image is one built image and the reference it is tagged with.
type Image struct {
	Name string // pilot, install-cni
	Ref  name.Tag
	Img  v1.Image
}

// Ref is the reference the charts render for image n:
// <hub>/<n>:<tag>[-<variant>].
func (o Options) Ref(n string) (name.Tag, error) {
	tag := o.Tag
	if o.Variant != "" {
		tag += "-" + o.Variant
	}
	ref, err := name.NewTag(o.Hub + "/" + n + ":" + tag)
	if err != nil {
		return name.Tag{}, fmt.Errorf("hub %q, tag %q and variant %q do not make an image reference for %s: %w", o.Hub, o.Tag, o.Variant, n, err)
	}
	return ref, nil
}

// baseEntries is the distroless base both images share: the accounts of
// Istio's distroless and iptables bases (root, istio-proxy 1337, nonroot
// 65532, nobody), nsswitch.conf (istio-cni bind-mounts /dev/null over it in
// its iptables sandbox), a CA bundle, /tmp and /run.
func baseEntries(in Inputs) ([]entry, error) {
	es := []entry{
		fileEntry("etc/passwd", 0o644, "root:x:0:0:root:/root:/sbin/nologin\n"+
			"istio-proxy:x:1337:1337:istio-proxy:/nonexistent:/sbin/nologin\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"),
		fileEntry("etc/group", 0o644, "root:x:0:\nistio-proxy:x:1337:\nnonroot:x:65532:\nnobody:x:65534:\n"),
		fileEntry("etc/nsswitch.conf", 0o644, "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"),
		{Path: "home/nonroot", Mode: fs.ModeDir | 0o755, UID: 65532, GID: 65532},
		dirEntry("run", 0o755),
		dirEntry("tmp", fs.ModeSticky|0o777),
	}
	if in.CABundle != "" {
		if err := regularFile(in.CABundle, "the CA bundle (-ca-bundle)"); err != nil {
			return nil, err
		}
		es = append(es, srcEntry(CABundlePath, 0o644, in.CABundle))
	}
	return es, nil
}

// regularFile checks that p is a regular file, saying what it should be.
func regularFile(p, what string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: expected a file at %s: %w", what, p, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: expected a regular file at %s, found a %s", what, p, st.Mode().Type())
	}
	return nil
}

// binary is the entry of a built Istio binary at its image path.
func binary(in Inputs, file, imagePath string) (entry, error) {
	src := filepath.Join(in.BinDir, file)
	if err := regularFile(src, file+" (from -bin; build it with clusters/offline/istio-build)"); err != nil {
		return entry{}, err
	}
	return srcEntry(strings.TrimPrefix(imagePath, "/"), 0o755, src), nil
}

// Pilot is <hub>/pilot: pilot-discovery at /usr/local/bin, USER 1337:1337,
// ENTRYPOINT pilot-discovery.
func Pilot(in Inputs, o Options) (Image, error) {
	base, err := baseEntries(in)
	if err != nil {
		return Image{}, err
	}
	bin, err := binary(in, "pilot-discovery", PilotBinary)
	if err != nil {
		return Image{}, err
	}
	return build("pilot", o, []layerSpec{
		{"distroless base: accounts, nsswitch.conf, CA bundle, /tmp, /run", base},
		{"COPY pilot-discovery " + PilotBinary, []entry{bin}},
	}, func(c *v1.Config) {
		c.Entrypoint = []string{PilotBinary}
		c.User = PilotUser
		c.Env = []string{DefaultPath}
	})
}

// InstallCNI is <hub>/install-cni: the iptables/nft tree, istio-cni at
// /opt/cni/bin, install-cni at /usr/local/bin, Istio's PATH, WORKDIR
// /opt/cni/bin and CMD install-cni.
func InstallCNI(in Inputs, o Options) (Image, error) {
	base, err := baseEntries(in)
	if err != nil {
		return Image{}, err
	}
	const wantRoot = "-cni-root: expected a directory with iptables and nft (istio-build makes it from the Debian rootfs) at %q"
	st, err := os.Stat(in.CNIRoot)
	if err != nil {
		return Image{}, fmt.Errorf(wantRoot+": %w", in.CNIRoot, err)
	}
	if !st.IsDir() {
		return Image{}, fmt.Errorf(wantRoot+", found a %s", in.CNIRoot, st.Mode().Type())
	}
	tools, err := treeEntries(in.CNIRoot)
	if err != nil {
		return Image{}, fmt.Errorf("-cni-root %s: %w", in.CNIRoot, err)
	}
	if len(tools) == 0 {
		return Image{}, fmt.Errorf("-cni-root %s is empty; expected iptables and nft in it", in.CNIRoot)
	}
	plugin, err := binary(in, "istio-cni", CNIPluginBinary)
	if err != nil {
		return Image{}, err
	}
	installer, err := binary(in, "install-cni", InstallCNIBinary)
	if err != nil {
		return Image{}, err
	}
	return build("install-cni", o, []layerSpec{
		{"distroless base: accounts, nsswitch.conf, CA bundle, /tmp, /run", base},
		{"iptables base: iptables, ip6tables, nft and their libraries (Debian)", tools},
		{"COPY istio-cni " + CNIPluginBinary + ", install-cni " + InstallCNIBinary, []entry{plugin, installer}},
	}, func(c *v1.Config) {
		c.Cmd = []string{InstallCNIBinary}
		c.User = CNIUser
		c.Env = []string{CNIPath}
		c.WorkingDir = CNIWorkDir
		c.Labels["description"] = "Istio CNI plugin installer."
	})
}

type layerSpec struct {
	createdBy string
	entries   []entry
}

func build(n string, o Options, layers []layerSpec, configure func(*v1.Config)) (Image, error) {
	ref, err := o.Ref(n)
	if err != nil {
		return Image{}, err
	}
	img := empty.Image
	for _, l := range layers {
		layer, err := newLayer(l.entries)
		if err != nil {
			return Image{}, fmt.Errorf("%s image, layer %q: %w", n, l.createdBy, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{CreatedBy: l.createdBy, Created: v1.Time{Time: epoch}, Comment: "ambient-e2e istio-images"},
		})
		if err != nil {
			return Image{}, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cf = cf.DeepCopy()
	arch := o.Arch
	if arch == "" {
		return Image{}, fmt.Errorf("no architecture given for %s; pass -arch (the GOARCH the binaries were built for)", n)
	}
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "istio " + n}
	for k, v := range o.Labels {
		cf.Config.Labels[k] = v
	}
	configure(&cf.Config)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return Image{}, err
	}
	return Image{Name: n, Ref: ref, Img: img}, nil
}

// Written is an image archive on disk.
type Written struct {
	Image
	Archive string
	ID      v1.Hash // config digest: what `docker images` shows as the image ID
	Bytes   int64   // archive size
}

// Write writes img as a docker-archive tarball <dir>/<name>.tar (loadable
// with `docker load` and `kind load image-archive`), atomically.
func Write(dir string, img Image) (Written, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Written{}, err
	}
	archive := filepath.Join(dir, img.Name+".tar")
	tmp := archive + ".tmp"
	if err := tarball.WriteToFile(tmp, img.Ref, img.Img); err != nil {
		_ = os.Remove(tmp)
		return Written{}, fmt.Errorf("writing %s: %w", archive, err)
	}
	if err := os.Rename(tmp, archive); err != nil {
		return Written{}, err
	}
	id, err := img.Img.ConfigName()
	if err != nil {
		return Written{}, err
	}
	st, err := os.Stat(archive)
	if err != nil {
		return Written{}, err
	}
	return Written{Image: img, Archive: archive, ID: id, Bytes: st.Size()}, nil
}
