// Package bundle collects what a failed spec leaves to look at, before its
// namespaces are cleaned up: the logs of the ztunnels on its nodes, of
// istiod, of istio-cni on those nodes and of every pod of its namespaces
// (its waypoints included) since it started; pod YAML and events; its
// policies, Gateways, HTTPRoutes and Services with their status; the
// probe's outputs; istioctl's view of the ztunnels when an istioctl is at
// hand; and the doctor's six checks. A bundle is bounded in size and time;
// a piece that cannot be collected is noted in its README, never fatal.
package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
)

// Scope is what a spec touched.
type Scope struct {
	Spec          string    // the spec's full text
	Namespaces    []string  // the spec's namespaces
	Since         time.Time // logs from here on (the spec's start)
	MeshNamespace string    // ISTIO_NAMESPACE
	Istioctl      string    // an istioctl of the installed release, or ""
	Probe         []probelog.Entry
	// Extra adds files computed by the caller (e.g. the doctor's report),
	// name → content; an error is noted like any other.
	Extra map[string]func(ctx context.Context) ([]byte, error)
}

// Dir is the directory of a spec's bundle under root: a readable slug of
// the spec text and a short hash that keeps two similar texts apart.
func Dir(root, spec string) string {
	slug := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(spec), "-"), "-")
	if len(slug) > 80 {
		slug = strings.TrimRight(slug[:80], "-")
	}
	sum := sha256.Sum256([]byte(spec))
	return filepath.Join(root, slug+"-"+hex.EncodeToString(sum[:3]))
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Summary is what a collection wrote.
type Summary struct {
	Dir   string
	Files int
	Bytes int64
	Notes []string // pieces not collected or cut, and why
}

// Collect writes the bundle of s into dir, at most maxBytes, within timeout.
func Collect(ctx context.Context, k *kube.Kube, dir string, s Scope, maxBytes int64, timeout time.Duration) Summary {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := &writer{dir: dir, left: maxBytes}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{Dir: dir, Notes: []string{"cannot create the bundle: " + err.Error()}}
	}
	nodes := map[string]bool{}
	for _, ns := range s.Namespaces {
		pods, err := k.Pods(ctx, ns, "")
		if err != nil {
			b.note("pods of %s: %v", ns, err)
			continue
		}
		for _, p := range pods {
			if p.Spec.NodeName != "" {
				nodes[p.Spec.NodeName] = true
			}
		}
		b.yaml(ns+"/pods.yaml", podList(pods))
		b.events(ctx, k, ns)
		b.objects(ctx, k, ns)
		for _, p := range pods {
			for _, c := range p.Spec.Containers {
				b.log(ctx, k, fmt.Sprintf("%s/logs/%s-%s.log", ns, p.Name, c.Name), ns, p.Name, c.Name, s.Since)
			}
		}
	}
	b.mesh(ctx, k, s, nodes)
	if len(s.Probe) > 0 {
		out, _ := json.MarshalIndent(s.Probe, "", "  ")
		b.file("probe-outputs.json", out, false)
	}
	for _, name := range sortedKeys(s.Extra) {
		out, err := s.Extra[name](ctx)
		if err != nil {
			b.note("%s: %v", name, err)
		}
		if len(out) > 0 {
			b.file(name, out, false)
		}
	}
	if ctx.Err() != nil {
		b.note("collection cut short after %s: %v", timeout, ctx.Err())
	}
	b.readme(s, nodes)
	return Summary{Dir: dir, Files: b.files, Bytes: b.written, Notes: b.notes}
}

// mesh collects the mesh's side: ztunnel and istio-cni on the spec's
// nodes, istiod, and istioctl's ztunnel config.
func (b *writer) mesh(ctx context.Context, k *kube.Kube, s Scope, nodes map[string]bool) {
	pods, err := k.Pods(ctx, s.MeshNamespace, "")
	if err != nil {
		b.note("pods of %s: %v", s.MeshNamespace, err)
		return
	}
	if len(pods) == 0 {
		b.note("no pods in %s: is the mesh installed?", s.MeshNamespace)
		return
	}
	for _, p := range pods {
		app := p.Labels["app"]
		if app == "" {
			app = p.Labels["k8s-app"]
		}
		onNode := nodes[p.Spec.NodeName]
		switch {
		case app == "istiod":
		case (app == "ztunnel" || app == "istio-cni-node") && onNode:
		default:
			continue
		}
		for _, c := range p.Spec.Containers {
			b.log(ctx, k, fmt.Sprintf("%s/logs/%s-%s.log", s.MeshNamespace, p.Name, c.Name), s.MeshNamespace, p.Name, c.Name, s.Since)
		}
		if app == "ztunnel" && s.Istioctl != "" {
			b.istioctl(ctx, k, s, p.Name)
		}
	}
}

func (b *writer) istioctl(ctx context.Context, k *kube.Kube, s Scope, ztunnel string) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	args := []string{"--kubeconfig", k.Env.KubeconfigFile(), "-i", s.MeshNamespace, "ztunnel-config", "all", ztunnel + "." + s.MeshNamespace, "-o", "json"}
	if c := k.Env.KubeContext(); c != "" {
		args = append([]string{"--context", c}, args...)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.Istioctl, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.note("istioctl ztunnel-config all %s: %v %s", ztunnel, err, strings.TrimSpace(stderr.String()))
	}
	if len(out) > 0 {
		b.file(fmt.Sprintf("%s/ztunnel-config-%s.json", s.MeshNamespace, ztunnel), out, false)
	}
}

// objectKinds are the kinds whose spec and status a bundle keeps.
var objectKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Service"},
	{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicy"},
	{Group: "security.istio.io", Version: "v1", Kind: "PeerAuthentication"},
	{Group: "security.istio.io", Version: "v1", Kind: "RequestAuthentication"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
}

func (b *writer) objects(ctx context.Context, k *kube.Kube, ns string) {
	var docs []any
	for _, gvk := range objectKinds {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := k.Res().WithNamespace(ns).List(ctx, l); err != nil {
			if !strings.Contains(err.Error(), "no matches for kind") {
				b.note("%s in %s: %v", gvk.Kind, ns, err)
			}
			continue
		}
		for _, it := range l.Items {
			unstructured.RemoveNestedField(it.Object, "metadata", "managedFields")
			docs = append(docs, it.Object)
		}
	}
	var out bytes.Buffer
	for _, d := range docs {
		y, err := yaml.Marshal(d)
		if err != nil {
			continue
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	b.file(ns+"/objects.yaml", out.Bytes(), false)
}

func (b *writer) events(ctx context.Context, k *kube.Kube, ns string) {
	var l corev1.EventList
	if err := k.Res().WithNamespace(ns).List(ctx, &l, resources.WithLabelSelector("")); err != nil {
		b.note("events of %s: %v", ns, err)
		return
	}
	sort.Slice(l.Items, func(i, j int) bool { return eventTime(l.Items[i]).Before(eventTime(l.Items[j])) })
	var out bytes.Buffer
	for _, e := range l.Items {
		fmt.Fprintf(&out, "%s\t%s\t%s/%s\t%s\t%s (x%d)\n", eventTime(e).UTC().Format(time.RFC3339), e.Type,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message), max(e.Count, 1))
	}
	b.file(ns+"/events.txt", out.Bytes(), true)
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

func (b *writer) log(ctx context.Context, k *kube.Kube, name, ns, pod, container string, since time.Time) {
	out, err := k.Logs(ctx, ns, pod, container, since)
	if err != nil {
		b.note("log of %s/%s (%s): %v", ns, pod, container, err)
		return
	}
	b.file(name, out, true)
}

// podList renders pods without their managed fields.
func podList(pods []corev1.Pod) any {
	items := make([]corev1.Pod, len(pods))
	for i, p := range pods {
		p.ManagedFields = nil
		items[i] = p
	}
	return corev1.PodList{Items: items}
}

func (b *writer) yaml(name string, v any) {
	out, err := yaml.Marshal(v)
	if err != nil {
		b.note("%s: %v", name, err)
		return
	}
	b.file(name, out, false)
}

func (b *writer) readme(s Scope, nodes map[string]bool) {
	var out bytes.Buffer
	fmt.Fprintf(&out, "Failure bundle of:\n  %s\n\nnamespaces: %s\nnodes: %s\nlogs since: %s\n\n",
		s.Spec, strings.Join(s.Namespaces, ", "), strings.Join(sortedKeys(nodes), ", "), s.Since.UTC().Format(time.RFC3339))
	out.WriteString("Files: <namespace>/pods.yaml, events.txt, objects.yaml (policies, Gateways, HTTPRoutes, Services with\n" +
		"status), logs/; " + s.MeshNamespace + "/logs/ (ztunnel and istio-cni on the spec's nodes, istiod);\n" +
		"probe-outputs.json (what the probe printed); doctor-<namespace>.txt (the seed's debug flow, checked).\n")
	if len(b.notes) > 0 {
		out.WriteString("\nNot collected or cut:\n")
		for _, n := range b.notes {
			out.WriteString("  - " + n + "\n")
		}
	}
	// The README is written last and always fits: it is what says what is missing.
	b.left += int64(out.Len())
	b.file("README.txt", out.Bytes(), false)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
