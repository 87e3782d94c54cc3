package meshconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

// fakeAPI is just enough of an API server for ConfigMaps: discovery, GET,
// and PUT with resourceVersion checks. conflicts makes that many PUTs fail
// with 409 first, as if someone else had written in between.
type fakeAPI struct {
	mu        sync.Mutex
	cms       map[string]*corev1.ConfigMap // "ns/name"
	rv        int
	conflicts int
	puts      int
}

func (f *fakeAPI) set(ns, name string, data map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.cms[ns+"/"+name] = &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: strconv.Itoa(f.rv)},
		Data:       data,
	}
}

func (f *fakeAPI) data(ns, name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cms[ns+"/"+name].Data
}

func (f *fakeAPI) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(err *apierrors.StatusError) { reply(int(err.ErrStatus.Code), &err.ErrStatus) }
	gr := schema.GroupResource{Resource: "configmaps"}
	switch p := r.URL.Path; {
	case p == "/api":
		reply(http.StatusOK, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	case p == "/apis":
		reply(http.StatusOK, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}})
	case p == "/api/v1":
		reply(http.StatusOK, &metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: []string{"get", "update"}}},
		})
	case strings.HasPrefix(p, "/api/v1/namespaces/"):
		parts := strings.Split(strings.TrimPrefix(p, "/api/v1/namespaces/"), "/")
		if len(parts) != 3 || parts[1] != "configmaps" {
			http.NotFound(w, r)
			return
		}
		key := parts[0] + "/" + parts[2]
		cur, ok := f.cms[key]
		if !ok {
			fail(apierrors.NewNotFound(gr, parts[2]))
			return
		}
		switch r.Method {
		case http.MethodGet:
			reply(http.StatusOK, cur)
		case http.MethodPut:
			f.puts++
			// The client sends protobuf for built-in types.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				fail(apierrors.NewBadRequest(err.Error()))
				return
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			cm, ok := obj.(*corev1.ConfigMap)
			if err != nil || !ok {
				fail(apierrors.NewBadRequest(fmt.Sprintf("not a ConfigMap (%T): %v", obj, err)))
				return
			}
			if f.conflicts > 0 || cm.ResourceVersion != cur.ResourceVersion {
				if f.conflicts > 0 {
					f.conflicts--
					f.rv++
					cur.ResourceVersion = strconv.Itoa(f.rv)
				}
				fail(apierrors.NewConflict(gr, parts[2], nil))
				return
			}
			f.rv++
			cm.ResourceVersion = strconv.Itoa(f.rv)
			f.cms[key] = cm
			reply(http.StatusOK, cm)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T) (*fakeAPI, *kube.Kube) {
	t.Helper()
	f := &fakeAPI{cms: map[string]*corev1.ConfigMap{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	k, err := kube.New(&rest.Config{Host: srv.URL}, "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return f, k
}

func TestRegisterAndRestore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		data      map[string]string
		conflicts int
	}{
		{"default config", map[string]string{MeshKey: defaultMesh, "meshNetworks": "networks: {}"}, 0},
		{"conflicts are retried", map[string]string{MeshKey: defaultMesh}, 2},
		{"no mesh key", map[string]string{"meshNetworks": "networks: {}"}, 0},
		{"no data", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, k := newFake(t)
			f.set("istio-system", "istio", tt.data)
			f.conflicts = tt.conflicts
			restore, err := Register(ctx, k, "istio-system", "istio", sample)
			if err != nil {
				t.Fatal(err)
			}
			if f.writes() != tt.conflicts+1 {
				t.Errorf("%d writes for %d conflicts", f.writes(), tt.conflicts)
			}
			got := f.data("istio-system", "istio")
			if ok, err := HasProvider(got[MeshKey], sample.Name); err != nil || !ok {
				t.Fatalf("provider not registered: %v %v\n%s", ok, err, got[MeshKey])
			}
			if tt.data["meshNetworks"] != "" && got["meshNetworks"] != tt.data["meshNetworks"] {
				t.Errorf("meshNetworks changed to %q", got["meshNetworks"])
			}
			for i := range 2 {
				if err := restore(ctx); err != nil {
					t.Fatalf("restore #%d: %v", i+1, err)
				}
			}
			if f.writes() != tt.conflicts+2 {
				t.Errorf("%d writes in all; want one for the restore", f.writes()-tt.conflicts-1)
			}
			after := f.data("istio-system", "istio")
			if len(after) != len(tt.data) || after[MeshKey] != tt.data[MeshKey] {
				t.Errorf("not restored: got %q, want %q", after, tt.data)
			}
			if _, had := after[MeshKey]; had != (tt.data[MeshKey] != "") {
				t.Errorf("mesh key presence changed: %q", after)
			}
		})
	}
}

// A provider that is already there is left alone, and so is the
// ConfigMap on restore.
func TestRegisterAlreadyThere(t *testing.T) {
	ctx := context.Background()
	f, k := newFake(t)
	mesh, err := AddProvider(defaultMesh, sample)
	if err != nil {
		t.Fatal(err)
	}
	f.set("istio-system", "istio-canary", map[string]string{MeshKey: mesh})
	restore, err := Register(ctx, k, "istio-system", "istio-canary", sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore(ctx); err != nil {
		t.Fatal(err)
	}
	if f.writes() != 0 {
		t.Errorf("%d writes to a ConfigMap that needed none", f.writes())
	}
}

// When someone else edits the mesh config while the provider is
// registered, restore takes out only the provider and keeps their edit.
func TestRestoreKeepsOtherEdits(t *testing.T) {
	ctx := context.Background()
	f, k := newFake(t)
	f.set("istio-system", "istio", map[string]string{MeshKey: defaultMesh})
	restore, err := Register(ctx, k, "istio-system", "istio", sample)
	if err != nil {
		t.Fatal(err)
	}
	f.set("istio-system", "istio", map[string]string{MeshKey: f.data("istio-system", "istio")[MeshKey] + "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n"})
	if err := restore(ctx); err != nil {
		t.Fatal(err)
	}
	got := unmarshal(t, f.data("istio-system", "istio")[MeshKey])
	want := unmarshal(t, defaultMesh+"outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n")
	if mustYAML(t, got) != mustYAML(t, want) {
		t.Errorf("got\n%s\nwant\n%s", mustYAML(t, got), mustYAML(t, want))
	}
}

func TestRegisterErrors(t *testing.T) {
	ctx := context.Background()
	f, k := newFake(t)
	_, err := Register(ctx, k, "istio-system", "istio", sample)
	if err == nil || err.Error() != "no mesh config: ConfigMap istio-system/istio not found (is Istio installed?)" || !apierrors.IsNotFound(err) {
		t.Errorf("missing ConfigMap: %v", err)
	}

	conflicting := defaultMesh + "extensionProviders:\n- name: sample-ext-authz-http\n  envoyExtAuthzHttp: {service: other.svc, port: 1}\n"
	f.set("istio-system", "istio", map[string]string{MeshKey: conflicting})
	if _, err := Register(ctx, k, "istio-system", "istio", sample); err == nil || !strings.Contains(err.Error(), "will not overwrite") {
		t.Errorf("conflicting provider: %v", err)
	}
	if _, err := Register(ctx, k, "istio-system", "istio", Provider{Name: "x"}); err == nil {
		t.Error("invalid provider accepted")
	}
	if f.writes() != 0 || f.data("istio-system", "istio")[MeshKey] != conflicting {
		t.Errorf("ConfigMap written on error (%d writes)", f.writes())
	}
}

func (f *fakeAPI) annotations(ns, name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cms[ns+"/"+name].Annotations
}

// The suite records what it added, so an inventory sees it and a sweep
// can take it out after a run that never restored (killed mid-spec).
func TestOwnershipRecordAndSweep(t *testing.T) {
	ctx := context.Background()
	f, k := newFake(t)
	f.set("istio-system", "istio", map[string]string{MeshKey: defaultMesh})
	restore, err := Register(ctx, k, "istio-system", "istio", sample)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	cm.Annotations = f.annotations("istio-system", "istio")
	owned, runs := Owned(cm)
	if p, ok := owned[sample.Name]; !ok || p.Service != sample.Service || runs[sample.Name] != "test" {
		t.Fatalf("not recorded: %v %v (annotations %v)", owned, runs, cm.Annotations)
	}
	if err := restore(ctx); err != nil {
		t.Fatal(err)
	}
	cm.Annotations = f.annotations("istio-system", "istio")
	if owned, _ := Owned(cm); len(owned) != 0 {
		t.Fatalf("restore left the record: %v", cm.Annotations)
	}

	// A run killed before its restore: the sweep takes out exactly what
	// was recorded and keeps a provider of the user's.
	user := sample
	user.Name, user.Service = "users-authz", "authz.platform.svc.cluster.local"
	withUser, err := AddProvider(defaultMesh, user)
	if err != nil {
		t.Fatal(err)
	}
	f.set("istio-system", "istio", map[string]string{MeshKey: withUser})
	if _, err := Register(ctx, k, "istio-system", "istio", sample); err != nil {
		t.Fatal(err)
	}
	removed, err := Sweep(ctx, k, "istio-system", "istio")
	if err != nil || len(removed) != 1 || removed[0] != sample.Name {
		t.Fatalf("Sweep = %v, %v", removed, err)
	}
	got := f.data("istio-system", "istio")[MeshKey]
	if ok, _ := HasProvider(got, sample.Name); ok {
		t.Errorf("the suite's provider is still there:\n%s", got)
	}
	if ok, _ := HasProvider(got, user.Name); !ok {
		t.Errorf("the user's provider was swept:\n%s", got)
	}
	cm.Annotations = f.annotations("istio-system", "istio")
	if owned, _ := Owned(cm); len(owned) != 0 {
		t.Errorf("the record survived the sweep: %v", cm.Annotations)
	}
	if removed, err := Sweep(ctx, k, "istio-system", "istio"); err != nil || len(removed) != 0 {
		t.Errorf("a second sweep: %v, %v", removed, err)
	}
	if removed, err := Sweep(ctx, k, "istio-system", "absent"); err != nil || len(removed) != 0 {
		t.Errorf("a sweep without the ConfigMap: %v, %v", removed, err)
	}
}
