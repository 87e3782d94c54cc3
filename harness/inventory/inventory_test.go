package inventory

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func TestDiff(t *testing.T) {
	before := Inventory{Namespaces: []string{"kept-abc"}}
	after := Inventory{
		Namespaces:    []string{"enroll-x1y2z3", "kept-abc"},
		ClusterScoped: []string{"ClusterRole/ambient-e2e-x"},
		Elsewhere:     []string{"Pod/default/sniffer-abcde"},
		MeshProviders: []string{"istio-system/istio: envoy-ext-authz-http (run 1a2b)"},
	}
	added, removed := Diff(before, after)
	want := []string{
		"cluster-scoped ClusterRole/ambient-e2e-x",
		"mesh-config provider istio-system/istio: envoy-ext-authz-http (run 1a2b)",
		"namespace enroll-x1y2z3",
		"object Pod/default/sniffer-abcde",
	}
	if strings.Join(added, "|") != strings.Join(want, "|") || len(removed) != 0 {
		t.Fatalf("added %q removed %q", added, removed)
	}
	added, removed = Diff(after, before)
	if len(added) != 0 || strings.Join(removed, "|") != strings.Join(want, "|") {
		t.Fatalf("reverse: added %q removed %q", added, removed)
	}
	if a, r := Diff(after, after); len(a)+len(r) != 0 {
		t.Fatalf("same inventory differs: %q %q", a, r)
	}
	// The same name in two sections is two items.
	x := Inventory{Namespaces: []string{"a"}}
	y := Inventory{ClusterScoped: []string{"a"}}
	if a, r := Diff(x, y); len(a) != 1 || len(r) != 1 {
		t.Fatalf("sections mixed up: %q %q", a, r)
	}
}

func TestEmptyAndString(t *testing.T) {
	if !(Inventory{}).Empty() || (Inventory{}).String() != "nothing of the suite's" {
		t.Fatal("empty inventory")
	}
	inv := Inventory{Namespaces: []string{"n1"}, Elsewhere: []string{"Pod/default/p"}}
	if inv.Empty() || inv.String() != "2 items: namespace n1; object Pod/default/p" {
		t.Fatalf("String = %q", inv.String())
	}
}

func TestDeleteOutsideDeletesClusterScopedAndElsewhereObjects(t *testing.T) {
	gvrCR := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	gvrPod := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	obj := func(apiVersion, kind, ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvrCR: "ClusterRoleList", gvrPod: "PodList"},
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "ambient-e2e-sniffer"),
		obj("v1", "Pod", "istio-system", "sniffer-1"),
		obj("v1", "Pod", "istio-system", "istiod-1"))
	objects := []Object{
		{Resource: gvrCR, Name: "ambient-e2e-sniffer", Item: "ClusterRole/ambient-e2e-sniffer"},
		{Resource: gvrPod, Namespace: "istio-system", Name: "sniffer-1", Item: "Pod/istio-system/sniffer-1"},
		{Resource: gvrPod, Namespace: "istio-system", Name: "gone-already", Item: "Pod/istio-system/gone-already"},
	}
	deleted, err := DeleteOutside(t.Context(), dyn, objects)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 3 {
		t.Errorf("deleted %v, want all three (one already gone)", deleted)
	}
	if _, err := dyn.Resource(gvrCR).Get(t.Context(), "ambient-e2e-sniffer", metav1.GetOptions{}); err == nil {
		t.Error("the ClusterRole is still there")
	}
	if _, err := dyn.Resource(gvrPod).Namespace("istio-system").Get(t.Context(), "sniffer-1", metav1.GetOptions{}); err == nil {
		t.Error("the sniffer pod is still there")
	}
	if _, err := dyn.Resource(gvrPod).Namespace("istio-system").Get(t.Context(), "istiod-1", metav1.GetOptions{}); err != nil {
		t.Errorf("a pod the suite does not own was touched: %v", err)
	}
}

func TestCleanedUpSaysWhatBecameOfEachItem(t *testing.T) {
	before := Inventory{Namespaces: []string{"ae-a", "ae-b", "ae-c"}, MeshProviders: []string{"istio-system/istio: authz (run r1)"}}
	after := Inventory{Namespaces: []string{"ae-b", "ae-c"}, Deleting: []string{"namespace ae-b"}}
	c := CleanedUp(before, after)
	if !slices.Equal(c.Removed, []string{"mesh-config provider istio-system/istio: authz (run r1)", "namespace ae-a"}) {
		t.Errorf("removed %q", c.Removed)
	}
	if !slices.Equal(c.Deleting, []string{"namespace ae-b"}) || !slices.Equal(c.Left, []string{"namespace ae-c"}) {
		t.Errorf("deleting %q, left %q", c.Deleting, c.Left)
	}
	if c := CleanedUp(before, Inventory{}); len(c.Removed) != 4 || c.Left != nil || c.Deleting != nil {
		t.Errorf("all gone: %+v", c)
	}
}
