// Package meshconfig registers an Envoy HTTP ext_authz extension provider in
// Istio's mesh config (the "mesh" key of the istio ConfigMap that istiod
// watches and reloads without a restart) for the length of a test, and puts
// the mesh config back afterwards.
//
// AddProvider and HasProvider work on the mesh config text alone; Register
// applies AddProvider to the ConfigMap in a cluster and returns the restore.
package meshconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Mesh config field names used here (istio.io/api meshconfig.MeshConfig).
const (
	extensionProvidersKey = "extensionProviders"
	extAuthzHTTPKey       = "envoyExtAuthzHttp"
)

// Provider is an Envoy HTTP ext_authz extension provider
// (MeshConfig.extensionProviders[].envoyExtAuthzHttp), which an
// AuthorizationPolicy with action CUSTOM names.
type Provider struct {
	// Name is the provider name that AuthorizationPolicies refer to.
	Name string
	// Service is the ext-authz service, as a fully qualified host name
	// (e.g. ext-authz.foo.svc.cluster.local).
	Service string
	// Port is the service port of the ext-authz HTTP server.
	Port int
	// IncludeRequestHeadersInCheck lists the request headers sent on to
	// the ext-authz server (optional).
	IncludeRequestHeadersInCheck []string
}

// Validate reports what is wrong with p, if anything.
func (p Provider) Validate() error {
	var errs []error
	if strings.TrimSpace(p.Name) == "" {
		errs = append(errs, errors.New("provider name is empty"))
	}
	if strings.TrimSpace(p.Service) == "" {
		errs = append(errs, fmt.Errorf("provider %q: service is empty", p.Name))
	}
	if p.Port < 1 || p.Port > 65535 {
		errs = append(errs, fmt.Errorf("provider %q: port %d is not in 1..65535", p.Name, p.Port))
	}
	for i, h := range p.IncludeRequestHeadersInCheck {
		if strings.TrimSpace(h) == "" {
			errs = append(errs, fmt.Errorf("provider %q: includeRequestHeadersInCheck[%d] is empty", p.Name, i))
		}
	}
	return errors.Join(errs...)
}

// entry is p as an element of extensionProviders.
func (p Provider) entry() map[string]any {
	http := map[string]any{"service": p.Service, "port": p.Port}
	if len(p.IncludeRequestHeadersInCheck) > 0 {
		http["includeRequestHeadersInCheck"] = slices.Clone(p.IncludeRequestHeadersInCheck)
	}
	return map[string]any{"name": p.Name, extAuthzHTTPKey: http}
}

// AddProvider returns mesh (mesh config YAML) with p under
// extensionProviders. Every other field is kept, though the text is
// rewritten (keys sorted, comments dropped). If a provider of that name with
// the same settings is already there, mesh is returned unchanged; if one of
// that name has other settings, it is an error: the suite does not
// overwrite a provider it did not write.
func AddProvider(mesh string, p Provider) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	m, list, err := parse(mesh)
	if err != nil {
		return "", err
	}
	if i := find(list, p.Name); i >= 0 {
		existing := list[i].(map[string]any)
		if same(existing, p) {
			return mesh, nil
		}
		return "", fmt.Errorf("mesh config already has an extension provider %q (%s) with other settings than %s:%d; the suite will not overwrite a provider it did not write",
			p.Name, describe(existing), p.Service, p.Port)
	}
	m[extensionProvidersKey] = append(list, p.entry())
	return render(m)
}

// HasProvider reports whether mesh (mesh config YAML) has an extension
// provider called name, of any kind.
func HasProvider(mesh, name string) (bool, error) {
	_, list, err := parse(mesh)
	if err != nil {
		return false, err
	}
	return find(list, name) >= 0, nil
}

// removeProvider takes p out of mesh if it is there with exactly p's
// settings (that is, as AddProvider wrote it), dropping extensionProviders
// when it becomes empty. It reports whether it removed anything.
func removeProvider(mesh string, p Provider) (string, bool, error) {
	m, list, err := parse(mesh)
	if err != nil {
		return "", false, err
	}
	i := find(list, p.Name)
	if i < 0 || !same(list[i].(map[string]any), p) {
		return mesh, false, nil
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		delete(m, extensionProvidersKey)
	} else {
		m[extensionProvidersKey] = list
	}
	out, err := render(m)
	return out, err == nil, err
}

// parse reads mesh config YAML; numbers stay json.Number so that they are
// written back exactly as they were.
func parse(mesh string) (map[string]any, []any, error) {
	var m map[string]any
	useNumber := func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }
	if err := yaml.Unmarshal([]byte(mesh), &m, useNumber); err != nil {
		return nil, nil, fmt.Errorf("parsing mesh config: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	raw, ok := m[extensionProvidersKey]
	if !ok || raw == nil {
		return m, nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("parsing mesh config: %s is a %T, not a list", extensionProvidersKey, raw)
	}
	return m, list, nil
}

func render(m map[string]any) (string, error) {
	out, err := yaml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("writing mesh config: %w", err)
	}
	return string(out), nil
}

// find is the index of the provider called name in list, or -1.
func find(list []any, name string) int {
	return slices.IndexFunc(list, func(e any) bool {
		m, ok := e.(map[string]any)
		return ok && m["name"] == name
	})
}

// same reports whether a parsed provider entry is exactly p: an
// envoyExtAuthzHttp provider with p's service, port and headers and no
// other settings.
func same(e map[string]any, p Provider) bool {
	http, ok := e[extAuthzHTTPKey].(map[string]any)
	if !ok || len(e) != 2 || http["service"] != p.Service {
		return false
	}
	for k := range http {
		if k != "service" && k != "port" && k != "includeRequestHeadersInCheck" {
			return false
		}
	}
	if port, ok := portOf(http["port"]); !ok || port != p.Port {
		return false
	}
	var headers []any
	if raw := http["includeRequestHeadersInCheck"]; raw != nil {
		if headers, ok = raw.([]any); !ok {
			return false
		}
	}
	return slices.EqualFunc(headers, p.IncludeRequestHeadersInCheck, func(a any, b string) bool { return a == b })
}

// portOf reads a port written as a number or as a string ("8000").
func portOf(v any) (int, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// describe names the kind, service and port of a parsed provider entry.
func describe(e map[string]any) string {
	for kind, v := range e {
		if settings, ok := v.(map[string]any); ok {
			return fmt.Sprintf("%s, service %v, port %v", kind, settings["service"], settings["port"])
		}
	}
	return "no provider settings"
}

// ActiveProviders lists the extension providers' names in istiod's active
// mesh config, the JSON of MeshConfig its /debug/mesh writes
// (extensionProviders[].name).
func ActiveProviders(meshJSON []byte) ([]string, error) {
	var m struct {
		ExtensionProviders []struct {
			Name string `json:"name"`
		} `json:"extensionProviders"`
	}
	if err := json.Unmarshal(meshJSON, &m); err != nil {
		return nil, fmt.Errorf("istiod's active mesh config is not JSON: %w", err)
	}
	names := make([]string, 0, len(m.ExtensionProviders))
	for _, p := range m.ExtensionProviders {
		names = append(names, p.Name)
	}
	return names, nil
}
