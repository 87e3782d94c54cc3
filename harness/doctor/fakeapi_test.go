package doctor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

// fakeAPI is a minimal Kubernetes API server over canned objects: legacy
// discovery, GET and LIST (with label selectors) and the pod proxy. It is
// enough for the controller-runtime and client-go clients kube.Kube uses.
type fakeAPI struct {
	t         *testing.T
	mu        sync.Mutex
	resources []fakeResource
	objects   []map[string]any
	// proxy maps "namespace/pod:port/path" to the body the pod serves.
	proxy map[string]string
	// status maps a resource name ("nodes") or a path ("/version") to an
	// HTTP status to answer with instead.
	status map[string]int
	// versionBody replaces /version's answer.
	versionBody string
	// stallPrefix makes requests under this path hang until the test ends.
	stallPrefix string
	done        chan struct{}
	paths       []string
}

type fakeResource struct {
	group, version, name, kind string
	namespaced                 bool
}

func (r fakeResource) apiVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

// standardResources are the kinds Gather reads, with the Istio and Gateway
// API CRDs installed.
func standardResources() []fakeResource {
	return []fakeResource{
		{"", "v1", "namespaces", "Namespace", false},
		{"", "v1", "pods", "Pod", true},
		{"", "v1", "services", "Service", true},
		{"", "v1", "nodes", "Node", false},
		{"apps", "v1", "deployments", "Deployment", true},
		{"apps", "v1", "daemonsets", "DaemonSet", true},
		{"gateway.networking.k8s.io", "v1", "gateways", "Gateway", true},
		{"gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", false},
		{"security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy", true},
		{"security.istio.io", "v1", "peerauthentications", "PeerAuthentication", true},
	}
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, resources: standardResources(), proxy: map[string]string{}, status: map[string]int{}, done: make(chan struct{})}
	t.Cleanup(func() { close(f.done) })
	return f
}

// add stores typed objects; kind is the object's Kind.
func (f *fakeAPI) add(kind string, objs ...any) {
	var res *fakeResource
	for i := range f.resources {
		if f.resources[i].kind == kind {
			res = &f.resources[i]
		}
	}
	if res == nil {
		f.t.Fatalf("fake API: unknown kind %s", kind)
	}
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			f.t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			f.t.Fatal(err)
		}
		m["apiVersion"], m["kind"] = res.apiVersion(), kind
		f.objects = append(f.objects, m)
	}
}

func (f *fakeAPI) start() (*httptest.Server, *kube.Kube) {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	k, err := kube.New(&rest.Config{Host: srv.URL}, "", "", "doctor-test")
	if err != nil {
		f.t.Fatal(err)
	}
	return srv, k
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	if f.stallPrefix != "" && strings.HasPrefix(r.URL.Path, f.stallPrefix) {
		select {
		case <-f.done:
		case <-r.Context().Done():
		}
		return
	}
	if code, ok := f.status[r.URL.Path]; ok {
		f.fail(w, code, strings.ReplaceAll(http.StatusText(code), " ", ""), r.URL.Path)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/version":
		body := f.versionBody
		if body == "" {
			body = `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	case p == "/api":
		f.json(w, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []any{map[string]any{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
	case p == "/apis":
		f.json(w, f.groupList())
	case p == "/api/v1":
		f.json(w, f.resourceList("", "v1"))
	case strings.HasPrefix(p, "/api/v1/"):
		f.serveObjects(w, r, "", "v1", strings.TrimPrefix(p, "/api/v1/"))
	case strings.HasPrefix(p, "/apis/"):
		parts := strings.SplitN(strings.TrimPrefix(p, "/apis/"), "/", 3)
		if len(parts) == 2 {
			if !f.served(parts[0], parts[1]) {
				f.fail(w, http.StatusNotFound, "NotFound", p)
				return
			}
			f.json(w, f.resourceList(parts[0], parts[1]))
			return
		}
		if len(parts) < 3 {
			f.fail(w, http.StatusNotFound, "NotFound", p)
			return
		}
		f.serveObjects(w, r, parts[0], parts[1], parts[2])
	default:
		f.fail(w, http.StatusNotFound, "NotFound", p)
	}
}

func (f *fakeAPI) served(group, version string) bool {
	for _, r := range f.resources {
		if r.group == group && r.version == version {
			return true
		}
	}
	return false
}

func (f *fakeAPI) groupList() map[string]any {
	seen := map[string]bool{}
	var groups []any
	for _, r := range f.resources {
		if r.group == "" || seen[r.group] {
			continue
		}
		seen[r.group] = true
		gv := map[string]any{"groupVersion": r.apiVersion(), "version": r.version}
		groups = append(groups, map[string]any{"name": r.group, "versions": []any{gv}, "preferredVersion": gv})
	}
	return map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
}

func (f *fakeAPI) resourceList(group, version string) map[string]any {
	var list []any
	for _, r := range f.resources {
		if r.group == group && r.version == version {
			list = append(list, map[string]any{"name": r.name, "singularName": strings.ToLower(r.kind), "namespaced": r.namespaced,
				"kind": r.kind, "verbs": []string{"get", "list"}})
		}
	}
	gv := version
	if group != "" {
		gv = group + "/" + version
	}
	return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}
}

// serveObjects answers namespaces/<ns>/<resource>[/<name>[/proxy/...]] and
// <resource>[/<name>].
func (f *fakeAPI) serveObjects(w http.ResponseWriter, r *http.Request, group, version, rest string) {
	seg := strings.Split(rest, "/")
	ns, res, name := "", "", ""
	switch {
	case seg[0] == "namespaces" && len(seg) >= 3:
		ns, res = seg[1], seg[2]
		if len(seg) >= 4 {
			name = seg[3]
		}
		if res == "pods" && len(seg) >= 5 && seg[4] == "proxy" {
			f.serveProxy(w, ns, name, "/"+strings.Join(seg[5:], "/"))
			return
		}
	default:
		res = seg[0]
		if len(seg) >= 2 {
			name = seg[1]
		}
	}
	var rr *fakeResource
	for i := range f.resources {
		if f.resources[i].group == group && f.resources[i].version == version && f.resources[i].name == res {
			rr = &f.resources[i]
		}
	}
	if rr == nil {
		f.fail(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	if code, ok := f.status[res]; ok {
		f.fail(w, code, strings.ReplaceAll(http.StatusText(code), " ", ""), fmt.Sprintf("%s is %s", res, strings.ToLower(http.StatusText(code))))
		return
	}
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		f.fail(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	var items []any
	for _, o := range f.objects {
		meta, _ := o["metadata"].(map[string]any)
		if o["kind"] != rr.kind || o["apiVersion"] != rr.apiVersion() {
			continue
		}
		if ns != "" && meta["namespace"] != ns {
			continue
		}
		if name != "" {
			if meta["name"] == name {
				f.json(w, o)
				return
			}
			continue
		}
		lbls := labels.Set{}
		if l, ok := meta["labels"].(map[string]any); ok {
			for k, v := range l {
				lbls[k], _ = v.(string)
			}
		}
		if sel.Matches(lbls) {
			items = append(items, o)
		}
	}
	if name != "" {
		f.fail(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", res, name))
		return
	}
	if items == nil {
		items = []any{}
	}
	f.json(w, map[string]any{"apiVersion": rr.apiVersion(), "kind": rr.kind + "List", "metadata": map[string]any{"resourceVersion": "1"}, "items": items})
}

func (f *fakeAPI) serveProxy(w http.ResponseWriter, ns, target, path string) {
	// client-go writes the target as [scheme:]name[:port].
	target = strings.TrimPrefix(target, "http:")
	body, ok := f.proxy[ns+"/"+target+path]
	if !ok {
		f.fail(w, http.StatusServiceUnavailable, "ServiceUnavailable", "no endpoints available for "+target)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(body))
}

func (f *fakeAPI) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Error(err)
	}
}

func (f *fakeAPI) fail(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"reason": reason, "code": code, "message": msg})
}
