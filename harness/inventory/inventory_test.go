package inventory

import (
	"strings"
	"testing"
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
