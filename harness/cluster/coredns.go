package cluster

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// StripForward removes CoreDNS's `forward` directive (and its block) from a
// Corefile, so the cluster answers only its own names and never sends a
// query off the machine (the offline cluster's DNS would otherwise reach the
// host's resolver through Docker's embedded DNS, past the egress guard).
func StripForward(corefile string) (string, bool) {
	var out []string
	depth, skipping, removed := 0, false, false
	for _, line := range strings.Split(corefile, "\n") {
		trimmed := strings.TrimSpace(line)
		if !skipping && strings.HasPrefix(trimmed, "forward ") {
			removed = true
			if strings.HasSuffix(trimmed, "{") {
				skipping, depth = true, 1
			}
			continue
		}
		if skipping {
			depth += strings.Count(trimmed, "{") - strings.Count(trimmed, "}")
			if depth <= 0 {
				skipping = false
			}
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), removed
}

// KeepDNSInside strips the forward directive from kube-system/coredns.
// CoreDNS's reload plugin picks the change up by itself.
func (c *Cluster) KeepDNSInside(ctx context.Context) (bool, error) {
	rc, err := c.RESTConfig()
	if err != nil {
		return false, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return false, err
	}
	cms := cs.CoreV1().ConfigMaps("kube-system")
	cm, err := cms.Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading the CoreDNS config: %w", err)
	}
	stripped, removed := StripForward(cm.Data["Corefile"])
	if !removed {
		return false, nil
	}
	cm.Data["Corefile"] = stripped
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("updating the CoreDNS config: %w", err)
	}
	return true, nil
}
