// Package inventory lists everything of the suite's in a cluster: every
// object that carries its ownership label (namespaces, cluster-scoped
// objects, objects in other namespaces such as a sniffer pod) and the
// extension providers its records say it added to the mesh config. Taken
// before and after a run (or an interrupted one), the difference is what a
// run left behind.
package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/meshconfig"
)

// Inventory is what the suite owns in a cluster, as sorted item names.
type Inventory struct {
	// Namespaces carrying the ownership label.
	Namespaces []string `json:"namespaces"`
	// ClusterScoped objects carrying it: "<kind>/<name>".
	ClusterScoped []string `json:"clusterScoped"`
	// Elsewhere are namespaced objects carrying it outside the namespaces
	// above: "<kind>/<namespace>/<name>".
	Elsewhere []string `json:"elsewhere"`
	// MeshProviders are extension providers the suite recorded adding to
	// the mesh config: "<namespace>/<configmap>: <provider> (run <id>)".
	MeshProviders []string `json:"meshProviders"`
}

// Items lists every item, each prefixed with its section, sorted.
func (inv Inventory) Items() []string {
	var out []string
	add := func(section string, items []string) {
		for _, it := range items {
			out = append(out, section+" "+it)
		}
	}
	add("namespace", inv.Namespaces)
	add("cluster-scoped", inv.ClusterScoped)
	add("object", inv.Elsewhere)
	add("mesh-config provider", inv.MeshProviders)
	sort.Strings(out)
	return out
}

// Empty says whether nothing of the suite's is there.
func (inv Inventory) Empty() bool { return len(inv.Items()) == 0 }

// Diff compares a later inventory with an earlier one: what appeared (left
// behind, when before was taken before a run) and what went.
func Diff(before, after Inventory) (added, removed []string) {
	b, a := before.Items(), after.Items()
	for _, it := range a {
		if !slices.Contains(b, it) {
			added = append(added, it)
		}
	}
	for _, it := range b {
		if !slices.Contains(a, it) {
			removed = append(removed, it)
		}
	}
	return added, removed
}

func (inv Inventory) String() string {
	items := inv.Items()
	if len(items) == 0 {
		return "nothing of the suite's"
	}
	return fmt.Sprintf("%d items: %s", len(items), strings.Join(items, "; "))
}

// Options say what to look for.
type Options struct {
	// Selector picks the objects: kube.OwnedLabel+"=true" for every run's,
	// kube.RunLabel+"=<id>" for one run's.
	Selector string
	// MeshNamespace and MeshConfigMap locate the mesh config (ISTIO_NAMESPACE
	// and the revision's ConfigMap); an absent ConfigMap has no providers.
	MeshNamespace, MeshConfigMap string
}

// Take lists what the suite owns, through discovery: every listable
// resource type is asked for objects matching the selector.
func Take(ctx context.Context, k *kube.Kube, o Options) (Inventory, error) {
	rc := k.Env.Client().RESTConfig()
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return Inventory{}, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return Inventory{}, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return Inventory{}, fmt.Errorf("discovering the cluster's resource types: %w", err)
	}
	var inv Inventory
	var namespaced []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || r.Name == "events" {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{LabelSelector: o.Selector})
			if err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsForbidden(err) {
					continue
				}
				return Inventory{}, fmt.Errorf("listing %s: %w", r.Name, err)
			}
			for _, it := range items.Items {
				switch {
				case r.Kind == "Namespace":
					inv.Namespaces = append(inv.Namespaces, it.GetName())
				case !r.Namespaced:
					inv.ClusterScoped = append(inv.ClusterScoped, r.Kind+"/"+it.GetName())
				default:
					namespaced = append(namespaced, r.Kind+"/"+it.GetNamespace()+"/"+it.GetName())
				}
			}
		}
	}
	for _, n := range namespaced {
		ns := strings.Split(n, "/")[1]
		if !slices.Contains(inv.Namespaces, ns) {
			inv.Elsewhere = append(inv.Elsewhere, n)
		}
	}
	if o.MeshConfigMap != "" {
		var cm corev1.ConfigMap
		err := k.Res().Get(ctx, o.MeshConfigMap, o.MeshNamespace, &cm)
		switch {
		case err == nil:
			owned, runs := meshconfig.Owned(cm)
			for name := range owned {
				inv.MeshProviders = append(inv.MeshProviders, fmt.Sprintf("%s/%s: %s (run %s)", o.MeshNamespace, o.MeshConfigMap, name, runs[name]))
			}
		case !apierrors.IsNotFound(err):
			return Inventory{}, fmt.Errorf("reading the mesh config: %w", err)
		}
	}
	for _, s := range []*[]string{&inv.Namespaces, &inv.ClusterScoped, &inv.Elsewhere, &inv.MeshProviders} {
		sort.Strings(*s)
	}
	return inv, nil
}
