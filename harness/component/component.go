// Package component brings a user's own build of a mesh component into the
// install path: a ztunnel binary packed into the image Istio's chart names,
// or an image (an archive, or an image in the host's Docker engine) for
// pilot, install-cni, ztunnel or proxyv2, loaded into the kind nodes under
// the reference the rendered manifest asks for. Vendors and Istio developers
// test their own builds this way; the self-test gives it the control plane
// it builds from Istio's module and, when one is given, a ztunnel.
package component

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Name is a mesh component whose image can be given.
type Name string

// The components of an ambient install, named as their images are
// (<hub>/<name>:<tag>-<variant>): istiod's pilot, istio-cni's install-cni,
// ztunnel, and the waypoint's proxyv2 (istio manifests/charts
// istio-control/istio-discovery/templates/deployment.yaml, istio-cni and
// ztunnel templates/daemonset.yaml, pkg/kube/inject/inject.go ProxyImage;
// release-1.31 and 1.28–1.30).
const (
	Pilot      Name = "pilot"
	InstallCNI Name = "install-cni"
	Ztunnel    Name = "ztunnel"
	Proxyv2    Name = "proxyv2"
)

// Names lists the components in install order.
var Names = []Name{Pilot, InstallCNI, Ztunnel, Proxyv2}

// DockerPrefix marks a COMPONENT_IMAGES source that is an image in the
// host's Docker engine rather than an archive file.
const DockerPrefix = "docker:"

// Source says where one component's image comes from. Exactly one of
// Archive, Docker and Binary is set.
type Source struct {
	Component Name
	Archive   string // a docker-archive tarball (docker save, go-containerregistry)
	Docker    string // an image reference in the host's Docker engine
	Binary    string // ztunnel only: a linux ztunnel binary to pack (ZTUNNEL_BINARY)
}

// String says where the image comes from, as a user wrote it.
func (s Source) String() string {
	switch {
	case s.Binary != "":
		return "ZTUNNEL_BINARY " + s.Binary
	case s.Docker != "":
		return fmt.Sprintf("%s=%s%s (host Docker)", s.Component, DockerPrefix, s.Docker)
	default:
		return fmt.Sprintf("%s=%s (image archive)", s.Component, s.Archive)
	}
}

// Parse reads COMPONENT_IMAGES, a comma-separated list of
// component=source (source: a docker-archive path, or docker:<image> for an
// image in the host's Docker engine), and ZTUNNEL_BINARY. It checks only the
// form; Check looks at the files.
func Parse(images, ztunnelBinary string) ([]Source, error) {
	var out []Source
	var errs []error
	seen := map[Name]bool{}
	add := func(s Source) {
		if seen[s.Component] {
			errs = append(errs, fmt.Errorf("%s is given twice (COMPONENT_IMAGES and ZTUNNEL_BINARY name one image each)", s.Component))
			return
		}
		seen[s.Component] = true
		out = append(out, s)
	}
	for item := range strings.SplitSeq(images, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			errs = append(errs, fmt.Errorf("COMPONENT_IMAGES item %q: want component=source, e.g. ztunnel=/path/ztunnel.tar or ztunnel=docker:localhost/ztunnel:dev", item))
			continue
		}
		c := Name(k)
		if !slices.Contains(Names, c) {
			errs = append(errs, fmt.Errorf("COMPONENT_IMAGES item %q: unknown component %q; want one of %s", item, k, joinNames()))
			continue
		}
		s := Source{Component: c}
		if ref, isDocker := strings.CutPrefix(v, DockerPrefix); isDocker {
			if ref == "" {
				errs = append(errs, fmt.Errorf("COMPONENT_IMAGES item %q: docker: needs an image reference", item))
				continue
			}
			s.Docker = ref
		} else {
			s.Archive = v
		}
		add(s)
	}
	if b := strings.TrimSpace(ztunnelBinary); b != "" {
		add(Source{Component: Ztunnel, Binary: b})
	}
	sort.SliceStable(out, func(i, j int) bool { return order(out[i].Component) < order(out[j].Component) })
	return out, errors.Join(errs...)
}

func order(n Name) int { return slices.Index(Names, n) }

func joinNames() string {
	s := make([]string, len(Names))
	for i, n := range Names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// ChartRef picks, from the images an install renders (mesh.ReleaseImages),
// the one of component c: the reference whose last path element is c,
// e.g. localhost/istio/ztunnel:1.31-dev-distroless for ztunnel.
func ChartRef(images []string, c Name) (string, error) {
	var found []string
	for _, img := range images {
		repo := img
		if i := strings.LastIndex(repo, "@"); i >= 0 {
			repo = repo[:i]
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		if repo[strings.LastIndex(repo, "/")+1:] == string(c) {
			found = append(found, img)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("the install renders no %s image (it renders %s): is %s part of this install?", c, strings.Join(images, ", "), c)
	default:
		return "", fmt.Errorf("the install renders several %s images (%s); cannot tell which one to replace", c, strings.Join(found, ", "))
	}
}
