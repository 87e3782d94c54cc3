package meshconfig

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// defaultMesh is the mesh config of a plain istioctl install.
const defaultMesh = `accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  proxyMetadata:
    ISTIO_META_ENABLE_HBONE: "true"
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
`

var sample = Provider{
	Name:                         "sample-ext-authz-http",
	Service:                      "ext-authz.foo.svc.cluster.local",
	Port:                         8000,
	IncludeRequestHeadersInCheck: []string{"x-ext-authz"},
}

// sampleEntry is sample as istiod reads it.
var sampleEntry = map[string]any{
	"name": "sample-ext-authz-http",
	"envoyExtAuthzHttp": map[string]any{
		"service":                      "ext-authz.foo.svc.cluster.local",
		"port":                         float64(8000),
		"includeRequestHeadersInCheck": []any{"x-ext-authz"},
	},
}

func unmarshal(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("unmarshal %q: %v", s, err)
	}
	return m
}

// AddProvider adds the provider and leaves every other field as it was.
func TestAddProvider(t *testing.T) {
	other := map[string]any{"name": "otel", "opentelemetry": map[string]any{"service": "otel.obs.svc.cluster.local", "port": float64(4317)}}
	tests := []struct {
		name      string
		mesh      string
		p         Provider
		providers []any // want extensionProviders
	}{
		{"default install config", defaultMesh, sample, []any{sampleEntry}},
		{"empty mesh text", "", sample, []any{sampleEntry}},
		{"whitespace and comment only", "  \n# nothing\n", sample, []any{sampleEntry}},
		{
			"keeps other providers",
			defaultMesh + `extensionProviders:
- name: otel
  opentelemetry:
    service: otel.obs.svc.cluster.local
    port: 4317
`,
			sample, []any{other, sampleEntry},
		},
		{
			"no headers",
			defaultMesh,
			Provider{Name: "plain", Service: "authz.x.svc.cluster.local", Port: 9000},
			[]any{map[string]any{"name": "plain", "envoyExtAuthzHttp": map[string]any{"service": "authz.x.svc.cluster.local", "port": float64(9000)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := AddProvider(tt.mesh, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			got, want := unmarshal(t, out), unmarshal(t, tt.mesh)
			want["extensionProviders"] = tt.providers
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%s\nwant (as YAML)\n%s", out, mustYAML(t, want))
			}
			if ok, err := HasProvider(out, tt.p.Name); err != nil || !ok {
				t.Errorf("HasProvider after AddProvider = %v, %v", ok, err)
			}
		})
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Adding a provider that is already there with the same settings returns
// the text unchanged, however the port was written.
func TestAddProviderIdempotent(t *testing.T) {
	once, err := AddProvider(defaultMesh, sample)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mesh string
		p    Provider
	}{
		{"re-add own output", once, sample},
		{"port as string", `extensionProviders:
- name: "sample-ext-authz-http"
  envoyExtAuthzHttp:
    service: "ext-authz.foo.svc.cluster.local"
    port: "8000"
    includeRequestHeadersInCheck: ["x-ext-authz"]
`, sample},
		{"empty header list", `extensionProviders:
- name: plain
  envoyExtAuthzHttp: {service: a.b.svc.cluster.local, port: 80, includeRequestHeadersInCheck: []}
`, Provider{Name: "plain", Service: "a.b.svc.cluster.local", Port: 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := AddProvider(tt.mesh, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.mesh {
				t.Errorf("text changed:\n%s\nwas\n%s", out, tt.mesh)
			}
		})
	}
}

// A provider of the same name with other settings is not overwritten.
func TestAddProviderConflict(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		want     []string // in the error
	}{
		{"other port", `{service: ext-authz.foo.svc.cluster.local, port: 9000, includeRequestHeadersInCheck: [x-ext-authz]}`, []string{"port 9000"}},
		{"other service", `{service: authz.bar.svc.cluster.local, port: "8000", includeRequestHeadersInCheck: [x-ext-authz]}`, []string{"service authz.bar.svc.cluster.local", "port 8000"}},
		{"other headers", `{service: ext-authz.foo.svc.cluster.local, port: 8000, includeRequestHeadersInCheck: [x-other]}`, []string{"port 8000"}},
		{"extra setting", `{service: ext-authz.foo.svc.cluster.local, port: 8000, includeRequestHeadersInCheck: [x-ext-authz], failOpen: true}`, []string{"port 8000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mesh := defaultMesh + "extensionProviders:\n- name: sample-ext-authz-http\n  envoyExtAuthzHttp: " + tt.existing + "\n"
			_, err := AddProvider(mesh, sample)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.want, `"sample-ext-authz-http"`, "will not overwrite a provider it did not write") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	t.Run("other kind", func(t *testing.T) {
		mesh := "extensionProviders:\n- name: sample-ext-authz-http\n  envoyExtAuthzGrpc: {service: grpc-authz.foo.svc.cluster.local, port: 9000}\n"
		_, err := AddProvider(mesh, sample)
		if err == nil || !strings.Contains(err.Error(), "envoyExtAuthzGrpc, service grpc-authz.foo.svc.cluster.local, port 9000") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestAddProviderInvalid(t *testing.T) {
	tests := []struct {
		name string
		mesh string
		p    Provider
		want string
	}{
		{"no name", defaultMesh, Provider{Service: "a.b.svc", Port: 80}, "provider name is empty"},
		{"no service", defaultMesh, Provider{Name: "x", Port: 80}, `provider "x": service is empty`},
		{"port 0", defaultMesh, Provider{Name: "x", Service: "a.b.svc"}, "port 0 is not in 1..65535"},
		{"port too big", defaultMesh, Provider{Name: "x", Service: "a.b.svc", Port: 65536}, "port 65536 is not in 1..65535"},
		{"empty header", defaultMesh, Provider{Name: "x", Service: "a.b.svc", Port: 80, IncludeRequestHeadersInCheck: []string{""}}, "includeRequestHeadersInCheck[0] is empty"},
		{"mesh not a map", "- a\n- b\n", sample, "parsing mesh config"},
		{"providers not a list", "extensionProviders: {a: b}\n", sample, "extensionProviders is a map[string]interface {}, not a list"},
		{"bad yaml", "a: [\n", sample, "parsing mesh config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AddProvider(tt.mesh, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestHasProvider(t *testing.T) {
	withOther := "extensionProviders:\n- name: otel\n  opentelemetry: {service: o.svc, port: 4317}\n"
	tests := []struct {
		name, mesh, provider string
		want                 bool
	}{
		{"empty", "", "otel", false},
		{"default", defaultMesh, "otel", false},
		{"present", withOther, "otel", true},
		{"other name", withOther, "sample-ext-authz-http", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HasProvider(tt.mesh, tt.provider)
			if err != nil || got != tt.want {
				t.Fatalf("HasProvider = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := HasProvider("extensionProviders: 3\n", "x"); err == nil {
		t.Error("no error for a malformed extensionProviders")
	}
}

// removeProvider undoes AddProvider and leaves providers it did not add.
func TestRemoveProvider(t *testing.T) {
	withOther := defaultMesh + "extensionProviders:\n- name: otel\n  opentelemetry: {service: o.svc, port: 4317}\n"
	for _, base := range []string{defaultMesh, withOther} {
		added, err := AddProvider(base, sample)
		if err != nil {
			t.Fatal(err)
		}
		out, removed, err := removeProvider(added, sample)
		if err != nil || !removed {
			t.Fatalf("removeProvider = %v, %v", removed, err)
		}
		if got, want := unmarshal(t, out), unmarshal(t, base); !reflect.DeepEqual(got, want) {
			t.Errorf("after remove\n%s\nwant\n%s", out, base)
		}
	}
	other := sample
	other.Port = 9000
	added, err := AddProvider(defaultMesh, other)
	if err != nil {
		t.Fatal(err)
	}
	if out, removed, err := removeProvider(added, sample); err != nil || removed || out != added {
		t.Errorf("removed a provider with other settings: %v, %v", removed, err)
	}
}

// What istiod's /debug/mesh writes: protojson of MeshConfig, camelCase
// fields (istio.io/api mesh/v1alpha1, pilot/pkg/xds/debug.go meshHandler).
const activeMeshJSON = `{
  "proxyListenPort": 15001,
  "accessLogFile": "/dev/stdout",
  "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
  "rootNamespace": "istio-system",
  "extensionProviders": [
    {"name": "prometheus", "prometheus": {}},
    {"name": "envoy-ext-authz-http", "envoyExtAuthzHttp": {"service": "ext-authz.extauthz-abc.svc.cluster.local", "port": 8000, "includeRequestHeadersInCheck": ["x-ext-authz"]}}
  ],
  "trustDomain": "cluster.local"
}`

func TestActiveProviders(t *testing.T) {
	got, err := ActiveProviders([]byte(activeMeshJSON))
	if err != nil || len(got) != 2 || got[1] != "envoy-ext-authz-http" {
		t.Fatalf("ActiveProviders = %v, %v", got, err)
	}
	if got, err := ActiveProviders([]byte(`{"rootNamespace":"istio-system"}`)); err != nil || len(got) != 0 {
		t.Fatalf("no providers: %v, %v", got, err)
	}
	if _, err := ActiveProviders([]byte("received unsuccessful status code 401")); err == nil {
		t.Fatal("not JSON accepted")
	}
}
