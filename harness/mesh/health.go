// Package mesh installs, verifies and removes Istio's ambient data plane, and
// reads the facts the install specs assert: istiod readiness, one ready
// ztunnel and istio-cni pod per node, and the running version.
package mesh

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Names of Istio's ambient components (istio manifests; facts §1.1).
const (
	Namespace = "istio-system"
	Istiod    = "istiod"
	Ztunnel   = "ztunnel"
	CNI       = "istio-cni-node"
)

// IstiodReady waits until Deployment istiod is available with all replicas ready.
func IstiodReady(ctx context.Context, k *kube.Kube, timeout time.Duration) error {
	return wait.For(ctx, "istiod to be ready", timeout, func(ctx context.Context) (bool, string, error) {
		var d appsv1.Deployment
		err := k.Res().Get(ctx, Istiod, Namespace, &d)
		if apierrors.IsNotFound(err) {
			return false, "", wait.Permanent(fmt.Errorf("no istiod: Deployment %s/%s not found", Namespace, Istiod))
		}
		if err != nil {
			return false, "", err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		return want > 0 && d.Status.ReadyReplicas >= want, fmt.Sprintf("%d/%d replicas ready", d.Status.ReadyReplicas, want), nil
	})
}

// NodeCoverage is how a DaemonSet's ready pods map onto the nodes it must run on.
type NodeCoverage struct {
	Expected []string            // nodes the DaemonSet must cover
	Ready    map[string][]string // node → ready pods on it
	Missing  []string            // expected nodes with no ready pod
	Extra    []string            // nodes with more than one ready pod
}

// OK reports exactly one ready pod on every expected node.
func (c NodeCoverage) OK() bool {
	return len(c.Expected) > 0 && len(c.Missing) == 0 && len(c.Extra) == 0
}

func (c NodeCoverage) String() string {
	s := fmt.Sprintf("%d/%d nodes with a ready pod", len(c.Expected)-len(c.Missing), len(c.Expected))
	if len(c.Missing) > 0 {
		s += "; missing on " + strings.Join(c.Missing, ", ")
	}
	if len(c.Extra) > 0 {
		s += "; more than one on " + strings.Join(c.Extra, ", ")
	}
	return s
}

// Coverage computes NodeCoverage from the DaemonSet's pod template, the
// nodes and its pods. A node is expected when it is schedulable and the
// template tolerates all its NoSchedule/NoExecute taints and matches its
// nodeSelector, which is what the DaemonSet controller does.
func Coverage(ds *appsv1.DaemonSet, nodes []corev1.Node, pods []corev1.Pod) NodeCoverage {
	cov := NodeCoverage{Ready: map[string][]string{}}
	sel := labels.SelectorFromSet(ds.Spec.Template.Spec.NodeSelector)
	for _, n := range nodes {
		if n.Spec.Unschedulable || !sel.Matches(labels.Set(n.Labels)) || !tolerates(ds.Spec.Template.Spec.Tolerations, n.Spec.Taints) {
			continue
		}
		cov.Expected = append(cov.Expected, n.Name)
	}
	for _, p := range pods {
		if p.DeletionTimestamp == nil && kube.PodReady(p) {
			cov.Ready[p.Spec.NodeName] = append(cov.Ready[p.Spec.NodeName], p.Name)
		}
	}
	for _, n := range cov.Expected {
		switch len(cov.Ready[n]) {
		case 0:
			cov.Missing = append(cov.Missing, n)
		case 1:
		default:
			cov.Extra = append(cov.Extra, n)
		}
	}
	sort.Strings(cov.Expected)
	return cov
}

func tolerates(tols []corev1.Toleration, taints []corev1.Taint) bool {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for j := range tols {
			if tolerationMatches(&tols[j], t) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// tolerationMatches is the Kubernetes toleration rule: effect (empty = all),
// key (empty with Exists = all) and value (Equal) must match.
func tolerationMatches(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Key != "" && tol.Value == taint.Value
	}
	return false
}

// DaemonSetOnEveryNode waits until DaemonSet name has exactly one ready pod
// on every node it must run on, and returns the last coverage seen.
func DaemonSetOnEveryNode(ctx context.Context, k *kube.Kube, name string, timeout time.Duration) (NodeCoverage, error) {
	var cov NodeCoverage
	err := wait.For(ctx, name+" to have one ready pod per node", timeout, func(ctx context.Context) (bool, string, error) {
		var ds appsv1.DaemonSet
		err := k.Res().Get(ctx, name, Namespace, &ds)
		if apierrors.IsNotFound(err) {
			return false, "", wait.Permanent(fmt.Errorf("no %s: DaemonSet %s/%s not found", name, Namespace, name))
		}
		if err != nil {
			return false, "", err
		}
		var nodes corev1.NodeList
		if err := k.Res().List(ctx, &nodes); err != nil {
			return false, "", err
		}
		sel, err := labels.ValidatedSelectorFromSet(ds.Spec.Selector.MatchLabels)
		if err != nil {
			return false, "", wait.Permanent(err)
		}
		var pods corev1.PodList
		if err := k.Res().WithNamespace(Namespace).List(ctx, &pods, resources.WithLabelSelector(sel.String())); err != nil {
			return false, "", err
		}
		cov = Coverage(&ds, nodes.Items, pods.Items)
		return cov.OK(), cov.String(), nil
	})
	return cov, err
}

// ComponentImages returns the container image of each ambient component
// (istiod, ztunnel, istio-cni-node), or an error naming what is missing.
func ComponentImages(ctx context.Context, k *kube.Kube) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	var d appsv1.Deployment
	if err := k.Res().Get(ctx, Istiod, Namespace, &d); err != nil {
		errs = append(errs, fmt.Errorf("no istiod: %w", err))
	} else {
		out[Istiod] = firstImage(d.Spec.Template.Spec)
	}
	for _, name := range []string{Ztunnel, CNI} {
		var ds appsv1.DaemonSet
		if err := k.Res().Get(ctx, name, Namespace, &ds); err != nil {
			errs = append(errs, fmt.Errorf("no %s: %w", name, err))
			continue
		}
		out[name] = firstImage(ds.Spec.Template.Spec)
	}
	return out, errors.Join(errs...)
}

func firstImage(spec corev1.PodSpec) string {
	if len(spec.Containers) == 0 {
		return ""
	}
	return spec.Containers[0].Image
}

// ImageVersion extracts the Istio release from an image reference:
// docker.io/istio/ztunnel:1.30.8-distroless → 1.30.8. Vendor suffixes after
// the version ("-solo", "-fips") are dropped with the variant.
func ImageVersion(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	colon := strings.LastIndexByte(image, ':')
	if colon < 0 || colon < slash {
		return ""
	}
	tag := image[colon+1:]
	if i := strings.IndexByte(tag, '-'); i >= 0 {
		tag = tag[:i]
	}
	return tag
}
