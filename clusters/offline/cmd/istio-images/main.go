// Command istio-images packs Istio's pilot and install-cni images from
// locally built binaries, without Docker (go-containerregistry), as
// docker-archive tarballs that `docker load` and kind's image loading take.
//
//	istio-images -hub localhost/istio -tag 1.31-dev -variant distroless -arch amd64 \
//	  -bin BIN -cni-root TREE [-ca-bundle FILE] [-label k=v]... -out DIR
//
// It writes DIR/pilot.tar, DIR/install-cni.tar and DIR/images.txt and prints
// images.txt: one line per image, "NAME REF ARCHIVE IMAGE-ID BYTES".
// Timestamps are fixed, so the same inputs give the same image IDs.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

type labels map[string]string

func (l labels) String() string { return fmt.Sprint(map[string]string(l)) }
func (l labels) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q: expected key=value", s)
	}
	l[k] = v
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "istio-images:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("istio-images", flag.ContinueOnError)
	var in Inputs
	o := Options{Labels: labels{}}
	var out string
	fl.StringVar(&o.Hub, "hub", "", "image hub, e.g. localhost/istio")
	fl.StringVar(&o.Tag, "tag", "", "image tag before the variant, e.g. 1.31-dev")
	fl.StringVar(&o.Variant, "variant", "distroless", "variant suffix of the tag (the ambient profile asks for distroless; empty for none)")
	fl.StringVar(&o.Arch, "arch", "", "GOARCH of the binaries, e.g. amd64")
	fl.StringVar(&in.BinDir, "bin", "", "directory with pilot-discovery, install-cni and istio-cni")
	fl.StringVar(&in.CNIRoot, "cni-root", "", "root tree with iptables, nft and their libraries for install-cni")
	fl.StringVar(&in.CABundle, "ca-bundle", "", "CA bundle for /etc/ssl/certs/ca-certificates.crt (optional)")
	fl.Var(labels(o.Labels), "label", "image label key=value (repeatable)")
	fl.StringVar(&out, "out", "", "output directory")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; every input is a flag (see -h)", fl.Args())
	}
	for _, f := range []struct{ name, v string }{{"hub", o.Hub}, {"tag", o.Tag}, {"arch", o.Arch}, {"bin", in.BinDir}, {"cni-root", in.CNIRoot}, {"out", out}} {
		if f.v == "" {
			return fmt.Errorf("-%s is required (see -h)", f.name)
		}
	}
	pilot, err := Pilot(in, o)
	if err != nil {
		return err
	}
	cni, err := InstallCNI(in, o)
	if err != nil {
		return err
	}
	var lines strings.Builder
	for _, img := range []Image{pilot, cni} {
		w, err := Write(out, img)
		if err != nil {
			return err
		}
		fmt.Fprintf(&lines, "%s %s %s %s %d\n", w.Name, w.Ref, w.Archive, w.ID, w.Bytes)
	}
	if err := os.WriteFile(filepath.Join(out, "images.txt"), []byte(lines.String()), 0o644); err != nil {
		return err
	}
	_, err = io.WriteString(stdout, lines.String())
	return err
}
