// Package inventory lists everything of the suite's in a cluster: every
// object that carries its ownership label (namespaces, cluster-scoped
// objects, objects in other namespaces such as a sniffer pod) and the
// extension providers its records say it added to the mesh config. Taken
// before and after a run (or an interrupted one), the difference is what a
// run left behind.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	// Deleting are the items above (as Items names them) that Kubernetes
	// is deleting already (a deletion timestamp): a namespace terminating.
	Deleting []string `json:"deleting,omitempty"`

	// outside are the objects of ClusterScoped and Elsewhere, to delete.
	outside []Object
}

// Object is one object the suite owns outside its namespaces.
type Object struct {
	Resource        schema.GroupVersionResource
	Namespace, Name string // Namespace "" = cluster-scoped
	Item            string // its entry in ClusterScoped or Elsewhere
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
	// Every resource type is listed at once (a few at a time): one after
	// the other takes seconds on a busy cluster, and an interrupted run
	// lists twice while it cleans up.
	type listed struct {
		r     metav1.APIResource
		gvr   schema.GroupVersionResource
		items []unstructured.Unstructured
	}
	var (
		mu      sync.Mutex
		results []listed
		g, gctx = errgroup.WithContext(ctx)
	)
	g.SetLimit(8)
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || r.Name == "events" {
				continue
			}
			gvr := gv.WithResource(r.Name)
			g.Go(func() error {
				items, err := dyn.Resource(gvr).List(gctx, metav1.ListOptions{LabelSelector: o.Selector})
				if err != nil {
					if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsForbidden(err) {
						return nil
					}
					return fmt.Errorf("listing %s: %w", r.Name, err)
				}
				mu.Lock()
				results = append(results, listed{r, gvr, items.Items})
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Inventory{}, err
	}
	var inv Inventory
	var namespaced []Object
	for _, res := range results {
		r := res.r
		for _, it := range res.items {
			var item string
			switch {
			case r.Kind == "Namespace":
				item = "namespace " + it.GetName()
				inv.Namespaces = append(inv.Namespaces, it.GetName())
			case !r.Namespaced:
				item = r.Kind + "/" + it.GetName()
				inv.ClusterScoped = append(inv.ClusterScoped, item)
				inv.outside = append(inv.outside, Object{Resource: res.gvr, Name: it.GetName(), Item: item})
				item = "cluster-scoped " + item
			default:
				namespaced = append(namespaced, Object{Resource: res.gvr, Namespace: it.GetNamespace(), Name: it.GetName(),
					Item: r.Kind + "/" + it.GetNamespace() + "/" + it.GetName()})
			}
			if item != "" && it.GetDeletionTimestamp() != nil {
				inv.Deleting = append(inv.Deleting, item)
			}
		}
	}
	for _, o := range namespaced {
		if !slices.Contains(inv.Namespaces, o.Namespace) {
			inv.Elsewhere = append(inv.Elsewhere, o.Item)
			inv.outside = append(inv.outside, o)
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
	for _, s := range []*[]string{&inv.Namespaces, &inv.ClusterScoped, &inv.Elsewhere, &inv.MeshProviders, &inv.Deleting} {
		sort.Strings(*s)
	}
	sort.Slice(inv.outside, func(i, j int) bool { return inv.outside[i].Item < inv.outside[j].Item })
	return inv, nil
}

// Outside returns the objects the suite owns outside its namespaces (the
// cluster-scoped ones and those elsewhere), which deleting the namespaces
// does not remove.
func (inv Inventory) Outside() []Object { return slices.Clone(inv.outside) }

// DeleteOutside deletes objects (Outside) with background propagation and
// returns the items it deleted; one already gone counts as deleted.
func DeleteOutside(ctx context.Context, dyn dynamic.Interface, objects []Object) ([]string, error) {
	var deleted []string
	var errs []error
	policy := metav1.DeletePropagationBackground
	for _, o := range objects {
		var ri dynamic.ResourceInterface = dyn.Resource(o.Resource)
		if o.Namespace != "" {
			ri = dyn.Resource(o.Resource).Namespace(o.Namespace)
		}
		err := ri.Delete(ctx, o.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s: %w", o.Item, err))
			continue
		}
		deleted = append(deleted, o.Item)
	}
	return deleted, errors.Join(errs...)
}

// Dynamic is the dynamic client of k's cluster.
func Dynamic(k *kube.Kube) (dynamic.Interface, error) {
	return dynamic.NewForConfig(k.Env.Client().RESTConfig())
}

// CleanUp is what became of the items of an inventory taken when a run
// began to clean up, judged by one taken after.
type CleanUp struct {
	Removed  []string // gone
	Deleting []string // still there, with a deletion timestamp (Kubernetes finishes it)
	Left     []string // still there and not being deleted: left behind
}

// CleanedUp compares the inventory taken when clean-up began with the one
// taken after it.
func CleanedUp(before, after Inventory) CleanUp {
	var c CleanUp
	now := after.Items()
	for _, it := range before.Items() {
		switch {
		case !slices.Contains(now, it):
			c.Removed = append(c.Removed, it)
		case slices.Contains(after.Deleting, it):
			c.Deleting = append(c.Deleting, it)
		default:
			c.Left = append(c.Left, it)
		}
	}
	return c
}
