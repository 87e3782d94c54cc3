// Package clusters holds the cluster definitions as data: the kind cluster
// layout and the pinned node image per Kubernetes minor.
package clusters

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// KindConfig is the kind cluster layout (1 control plane + 2 workers).
//
//go:embed kind/ambient-3node.yaml
var KindConfig []byte

//go:embed kind/node-images.yaml
var nodeImagesYAML []byte

// NodeImage pins a kind node image to a Kubernetes minor.
type NodeImage struct {
	Kubernetes string `json:"kubernetes"`
	Image      string `json:"image"`
}

// NodeImages returns the pinned node images, oldest Kubernetes first.
func NodeImages() ([]NodeImage, error) {
	var doc struct {
		Images []NodeImage `json:"images"`
	}
	if err := yaml.UnmarshalStrict(nodeImagesYAML, &doc); err != nil {
		return nil, fmt.Errorf("clusters/kind/node-images.yaml: %w", err)
	}
	sort.Slice(doc.Images, func(i, j int) bool {
		return minorLess(doc.Images[i].Kubernetes, doc.Images[j].Kubernetes)
	})
	return doc.Images, nil
}

// NodeImageFor returns the pinned image for a Kubernetes minor ("1.35").
func NodeImageFor(minor string) (string, error) {
	imgs, err := NodeImages()
	if err != nil {
		return "", err
	}
	var have []string
	for _, im := range imgs {
		if im.Kubernetes == minor {
			return im.Image, nil
		}
		have = append(have, im.Kubernetes)
	}
	return "", fmt.Errorf("no kind node image pinned for Kubernetes %q (pinned: %s); set K8S_VERSION to one of them or KIND_NODE_IMAGE to an image",
		minor, strings.Join(have, ", "))
}

func minorLess(a, b string) bool {
	var am, an, bm, bn int
	_, _ = fmt.Sscanf(a, "%d.%d", &am, &an)
	_, _ = fmt.Sscanf(b, "%d.%d", &bm, &bn)
	if am != bm {
		return am < bm
	}
	return an < bn
}
