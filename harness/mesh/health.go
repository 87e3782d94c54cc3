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

// Names of Istio's ambient components (istio manifests; docs/istio-facts.md §1.1).
const (
	// DefaultNamespace is where istioctl and the Helm docs install Istio.
	DefaultNamespace = "istio-system"
	Istiod           = "istiod"
	Ztunnel          = "ztunnel"
	CNI              = "istio-cni-node"
	// RevisionLabel is on istiod's Deployment: the revision, or "default"
	// for an install without one (istio-discovery templates/deployment.yaml
	// @1.30.3: `istio.io/rev: {{ .Values.revision | default "default" }}`).
	RevisionLabel = "istio.io/rev"
)

// ControlPlane says where the mesh's control plane lives: its namespace
// (ISTIO_NAMESPACE) and revision (ISTIO_REVISION, "" for none). istiod's
// Deployment is istiod-<rev> and its mesh config ConfigMap istio-<rev> when
// there is a revision (istio-discovery templates/deployment.yaml and
// configmap.yaml @1.30.3).
type ControlPlane struct {
	Namespace string
	Revision  string
}

// IstiodName is the name of istiod's Deployment.
func (c ControlPlane) IstiodName() string {
	if c.Revision == "" {
		return Istiod
	}
	return Istiod + "-" + c.Revision
}

// MeshConfigMap is the name of the ConfigMap istiod reads its mesh config from.
func (c ControlPlane) MeshConfigMap() string {
	if c.Revision == "" {
		return "istio"
	}
	return "istio-" + c.Revision
}

// DiscoverRevision reads the revision of the istiod Deployment(s) in
// namespace from their istio.io/rev label: "" for the default revision or
// when there is no istiod (the install specs then say so). With several
// revisions installed (a canary upgrade) the default one is taken if there
// is one; otherwise ISTIO_REVISION must choose, and the error lists them.
func DiscoverRevision(ctx context.Context, k *kube.Kube, namespace string) (string, error) {
	var l appsv1.DeploymentList
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithLabelSelector("app="+Istiod)); err != nil {
		return "", fmt.Errorf("listing istiod Deployments in %s: %w", namespace, err)
	}
	return revisionOf(namespace, l.Items)
}

// revisionOf picks the revision to judge among istiod Deployments.
func revisionOf(namespace string, istiods []appsv1.Deployment) (string, error) {
	var revs []string
	for _, d := range istiods {
		rev := d.Labels[RevisionLabel]
		if rev == "" || rev == "default" {
			return "", nil
		}
		revs = append(revs, rev)
	}
	switch len(revs) {
	case 0:
		return "", nil
	case 1:
		return revs[0], nil
	}
	sort.Strings(revs)
	return "", fmt.Errorf("istiod runs in %d revisions in %s (%s) and none is the default: set ISTIO_REVISION to the one to judge",
		len(revs), namespace, strings.Join(revs, ", "))
}

// IstiodReady waits until istiod's Deployment is available with all replicas ready.
func IstiodReady(ctx context.Context, k *kube.Kube, cp ControlPlane, timeout time.Duration) error {
	return wait.For(ctx, "istiod to be ready", timeout, func(ctx context.Context) (bool, string, error) {
		var d appsv1.Deployment
		err := k.Res().Get(ctx, cp.IstiodName(), cp.Namespace, &d)
		if apierrors.IsNotFound(err) {
			return false, "", wait.Permanent(fmt.Errorf("no istiod: Deployment %s/%s not found", cp.Namespace, cp.IstiodName()))
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
func DaemonSetOnEveryNode(ctx context.Context, k *kube.Kube, namespace, name string, timeout time.Duration) (NodeCoverage, error) {
	var cov NodeCoverage
	err := wait.For(ctx, name+" to have one ready pod per node", timeout, func(ctx context.Context) (bool, string, error) {
		var ds appsv1.DaemonSet
		err := k.Res().Get(ctx, name, namespace, &ds)
		if apierrors.IsNotFound(err) {
			return false, "", wait.Permanent(fmt.Errorf("no %s: DaemonSet %s/%s not found", name, namespace, name))
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
		if err := k.Res().WithNamespace(namespace).List(ctx, &pods, resources.WithLabelSelector(sel.String())); err != nil {
			return false, "", err
		}
		cov = Coverage(&ds, nodes.Items, pods.Items)
		return cov.OK(), cov.String(), nil
	})
	return cov, err
}

// ComponentImages returns the container image of each ambient component
// (istiod, ztunnel, istio-cni-node), or an error naming what is missing.
func ComponentImages(ctx context.Context, k *kube.Kube, cp ControlPlane) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	var d appsv1.Deployment
	if err := k.Res().Get(ctx, cp.IstiodName(), cp.Namespace, &d); err != nil {
		errs = append(errs, fmt.Errorf("no istiod: %w", err))
	} else {
		out[Istiod] = firstImage(d.Spec.Template.Spec)
	}
	for _, name := range []string{Ztunnel, CNI} {
		var ds appsv1.DaemonSet
		if err := k.Res().Get(ctx, name, cp.Namespace, &ds); err != nil {
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

// RunsVersion says whether an image runs Istio version want: its tag is
// want itself or want followed by "-" and a variant or vendor suffix
// ("1.30.8-distroless", "1.32-dev-distroless", "1.30.8-solo"); "1.30.80"
// does not run 1.30.8.
func RunsVersion(image, want string) bool {
	tag := imageTag(image)
	return want != "" && (tag == want || strings.HasPrefix(tag, want+"-"))
}

func imageTag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	colon := strings.LastIndexByte(image, ':')
	if colon < 0 || colon < slash {
		return ""
	}
	return image[colon+1:]
}

// ImageVersion is the Istio version an image tag names, for reports: the
// tag without Istio's image variant suffix ("-distroless", "-debug"; the
// ambient profile sets global.variant distroless): docker.io/istio/ztunnel:
// 1.30.8-distroless → 1.30.8, localhost/istio/pilot:1.32-dev-distroless →
// 1.32-dev. A vendor suffix is kept (1.29.6-solo); RunsVersion judges it.
func ImageVersion(image string) string {
	tag := imageTag(image)
	for _, variant := range []string{"-distroless", "-debug"} {
		tag = strings.TrimSuffix(tag, variant)
	}
	return tag
}

// ActiveMeshConfig asks istiod for the mesh config it runs with: its
// /debug/mesh (pilot/pkg/xds/debug.go@release-1.31 meshHandler, on the
// monitoring port 15014, open to localhost only), read inside istiod's own
// container with `pilot-discovery request GET /debug/mesh`
// (pilot/cmd/pilot-discovery/app/request.go). What the ConfigMap says and
// what istiod took from it are two things; this is the second.
func ActiveMeshConfig(ctx context.Context, k *kube.Kube, cp ControlPlane) ([]byte, error) {
	sel := "app=" + Istiod
	if cp.Revision != "" {
		sel += "," + RevisionLabel + "=" + cp.Revision
	}
	pods, err := k.Pods(ctx, cp.Namespace, sel)
	if err != nil {
		return nil, fmt.Errorf("listing istiod pods: %w", err)
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !kube.PodReady(p) {
			continue
		}
		out, err := k.Exec(ctx, cp.Namespace, p.Name, "discovery", []string{"pilot-discovery", "request", "GET", "/debug/mesh"})
		if err != nil {
			return nil, fmt.Errorf("istiod %s's active mesh config: %w", p.Name, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("no istiod: no ready pod with %s in %s", sel, cp.Namespace)
}
