package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
	"github.com/ambient-e2e/ambient-e2e/harness/ztunnel"
)

// Kinds read as unstructured.
var (
	authorizationPolicyListGVK = schema.GroupVersionKind{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicyList"}
	peerAuthenticationListGVK  = schema.GroupVersionKind{Group: "security.istio.io", Version: "v1", Kind: "PeerAuthenticationList"}
	gatewayListGVK             = schema.GroupVersionKind{Group: gatewayv1.GroupVersion.Group, Version: gatewayv1.GroupVersion.Version, Kind: "GatewayList"}
	gatewayClassGVK            = schema.GroupVersionKind{Group: gatewayv1.GroupVersion.Group, Version: gatewayv1.GroupVersion.Version, Kind: "GatewayClass"}
)

// Gather reads what Judge needs from the cluster k talks to. Every request
// is bounded by opts.CallTimeout. A piece that cannot be read is recorded
// in the Snapshot for the step that needs it; Gather itself fails only on
// bad options, an API server that does not answer (or refuses the
// credentials), or a namespace that does not exist, each named in the error.
func Gather(ctx context.Context, k *kube.Kube, opts Options) (Snapshot, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return Snapshot{Options: opts}, err
	}
	if k == nil || k.Env == nil || k.Env.Client() == nil {
		return Snapshot{Options: opts}, errors.New("doctor: no cluster client: build one from the kubeconfig first")
	}
	g, err := newGatherer(k, opts)
	if err != nil {
		return Snapshot{Options: opts}, err
	}
	s := Snapshot{Options: opts, Server: g.host}
	if err := g.version(ctx, &s); err != nil {
		return s, err
	}
	if err := g.namespace(ctx, &s); err != nil {
		return s, err
	}
	g.workloads(ctx, &s)
	g.mesh(ctx, &s)
	g.waypoints(ctx, &s)
	g.policies(ctx, &s)
	g.metrics(ctx, &s)
	if err := ctx.Err(); err != nil {
		return s, fmt.Errorf("doctor: gathering %s stopped: %w", opts.Namespace, err)
	}
	return s, nil
}

type gatherer struct {
	k    *kube.Kube
	opts Options
	host string
}

// newGatherer copies k with a client whose every request (discovery
// included, which takes no context) is cut off after the call timeout.
func newGatherer(k *kube.Kube, opts Options) (*gatherer, error) {
	cfg := rest.CopyConfig(k.Env.Client().RESTConfig())
	cfg.Timeout = opts.CallTimeout
	bk, err := kube.New(cfg, k.Env.KubeconfigFile(), k.Env.KubeContext(), k.RunID)
	if err != nil {
		return nil, fmt.Errorf("doctor: client for %s: %w", cfg.Host, err)
	}
	return &gatherer{k: bk, opts: opts, host: cfg.Host}, nil
}

// call runs one request bounded by the call timeout.
func (g *gatherer) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, g.opts.CallTimeout)
	defer cancel()
	return f(ctx)
}

func (g *gatherer) version(ctx context.Context, s *Snapshot) error {
	cs, err := g.k.Clientset()
	if err != nil {
		return fmt.Errorf("doctor: client for %s: %w", g.host, err)
	}
	var body []byte
	err = g.call(ctx, func(ctx context.Context) error {
		var err error
		body, err = cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
		return err
	})
	if err != nil {
		return g.unreachable(err)
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil || v.GitVersion == "" {
		return fmt.Errorf("doctor: %s answered GET /version with %.100q, not a Kubernetes version: is it a Kubernetes API server?", g.host, body)
	}
	s.ServerVersion = v.GitVersion
	return nil
}

// unreachable names why the API server could not be used.
func (g *gatherer) unreachable(err error) error {
	const hint = "check that the cluster runs and that KUBECONFIG and the context point at it"
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("doctor: stopped before %s answered: %w", g.host, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("doctor: API server %s refused the kubeconfig's credentials: %w (renew them or pick another context)", g.host, err)
	case isTimeout(err):
		return fmt.Errorf("doctor: API server %s did not answer within %s: %w (%s)", g.host, g.opts.CallTimeout, err, hint)
	}
	return fmt.Errorf("doctor: API server %s is not reachable: %w (%s)", g.host, err, hint)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) ||
		apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}

// isAPIStatus reports an error the API server answered with (as opposed to
// one of reaching it).
func isAPIStatus(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st)
}

func (g *gatherer) namespace(ctx context.Context, s *Snapshot) error {
	var ns corev1.Namespace
	err := g.call(ctx, func(ctx context.Context) error { return g.k.Res().Get(ctx, g.opts.Namespace, "", &ns) })
	switch {
	case err == nil:
		ns.ManagedFields = nil
		s.Namespace = &ns
	case apierrors.IsNotFound(err):
		return fmt.Errorf("doctor: namespace %q does not exist on %s: check the name (kubectl get namespaces)", g.opts.Namespace, g.host)
	case isAPIStatus(err):
		// e.g. Forbidden: a user may list pods without reading namespaces.
		s.NamespaceErr = fmt.Sprintf("reading namespace %s: %v", g.opts.Namespace, err)
	default:
		return g.unreachable(err)
	}
	return nil
}

func (g *gatherer) workloads(ctx context.Context, s *Snapshot) {
	ns := g.opts.Namespace
	var pods corev1.PodList
	s.PodsErr = g.list(ctx, &pods, ns, "", "pods in "+ns)
	s.Pods = trimPods(pods.Items)
	var svcs corev1.ServiceList
	s.ServicesErr = g.list(ctx, &svcs, ns, "", "Services in "+ns)
	s.Services = svcs.Items
	for i := range s.Services {
		s.Services[i].ManagedFields = nil
	}
	var nodes corev1.NodeList
	s.NodesErr = g.list(ctx, &nodes, "", "", "nodes")
	s.Nodes = nodes.Items
	for i := range s.Nodes {
		s.Nodes[i].ManagedFields = nil
	}
}

// list lists into obj and returns "" or what failed.
func (g *gatherer) list(ctx context.Context, obj k8s.ObjectList, namespace, selector, what string) string {
	var opts []resources.ListOption
	if selector != "" {
		opts = append(opts, resources.WithLabelSelector(selector))
	}
	err := g.call(ctx, func(ctx context.Context) error { return g.k.Res().WithNamespace(namespace).List(ctx, obj, opts...) })
	if err != nil {
		return fmt.Sprintf("listing %s: %v", what, err)
	}
	return ""
}

func trimPods(pods []corev1.Pod) []corev1.Pod {
	for i := range pods {
		pods[i].ManagedFields = nil
	}
	return pods
}

func (g *gatherer) mesh(ctx context.Context, s *Snapshot) {
	mns := g.opts.MeshNamespace
	var deps appsv1.DeploymentList
	s.IstiodErr = g.list(ctx, &deps, mns, istiodSelector, "istiod Deployments ("+istiodSelector+") in "+mns)
	s.Istiod = deps.Items
	for i := range s.Istiod {
		s.Istiod[i].ManagedFields = nil
	}
	s.Ztunnel = g.daemonSet(ctx, mesh.Ztunnel, ztunnelPodSelector)
	s.CNI = g.daemonSet(ctx, mesh.CNI, cniPodSelector)
}

func (g *gatherer) daemonSet(ctx context.Context, name, fallbackSelector string) DaemonSet {
	mns := g.opts.MeshNamespace
	d := DaemonSet{Name: name}
	var ds appsv1.DaemonSet
	err := g.call(ctx, func(ctx context.Context) error { return g.k.Res().Get(ctx, name, mns, &ds) })
	selector := fallbackSelector
	switch {
	case err == nil:
		ds.ManagedFields = nil
		d.Object = &ds
		if sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !sel.Empty() {
			selector = sel.String()
		}
	case !apierrors.IsNotFound(err):
		d.Err = fmt.Sprintf("reading DaemonSet %s/%s: %v", mns, name, err)
	}
	var pods corev1.PodList
	d.PodsErr = g.list(ctx, &pods, mns, selector, name+" pods ("+selector+") in "+mns)
	d.Pods = trimPods(pods.Items)
	return d
}

// waypoints reads the waypoint GatewayClass, the namespace's waypoint
// Gateways and every Gateway a use-waypoint label names, with their pods.
func (g *gatherer) waypoints(ctx context.Context, s *Snapshot) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gatewayClassGVK)
	err := g.call(ctx, func(ctx context.Context) error { return g.k.Res().Get(ctx, waypoint.ClassName, "", u) })
	switch {
	case err == nil:
		gc := &gatewayv1.GatewayClass{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, gc); err != nil {
			s.WaypointClassErr = fmt.Sprintf("GatewayClass %s: %v", waypoint.ClassName, err)
		} else {
			gc.ManagedFields = nil
			s.WaypointClass = gc
		}
	case !apierrors.IsNotFound(err):
		s.WaypointClassErr = fmt.Sprintf("reading GatewayClass %s: %v", waypoint.ClassName, err)
	}

	found := map[string]*Waypoint{}
	ul := &unstructured.UnstructuredList{}
	ul.SetGroupVersionKind(gatewayListGVK)
	if e := g.list(ctx, ul, g.opts.Namespace, "", "Gateways in "+g.opts.Namespace); e != "" {
		s.GatewaysErr = e
	}
	for _, item := range ul.Items {
		gw := &gatewayv1.Gateway{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, gw); err != nil {
			s.GatewaysErr = fmt.Sprintf("Gateway %s/%s: %v", item.GetNamespace(), item.GetName(), err)
			continue
		}
		gw.ManagedFields = nil
		found[gw.Namespace+"/"+gw.Name] = &Waypoint{Namespace: gw.Namespace, Name: gw.Name, Gateway: gw}
	}
	wanted := map[string]ref{}
	for _, gw := range found {
		if gw.Gateway.Spec.GatewayClassName == waypoint.ClassName {
			wanted[gw.Key()] = ref{gw.Namespace, gw.Name}
		}
	}
	for _, r := range referencedWaypoints(s) {
		wanted[r.key()] = r
	}
	keys := make([]string, 0, len(wanted))
	for key := range wanted {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		r := wanted[key]
		w, ok := found[key]
		if !ok {
			w = &Waypoint{Namespace: r.Namespace, Name: r.Name}
			if r.Namespace != g.opts.Namespace || s.GatewaysErr != "" {
				var gw *gatewayv1.Gateway
				err := g.call(ctx, func(ctx context.Context) error {
					var err error
					gw, err = waypoint.Get(ctx, g.k, r.Namespace, r.Name)
					return err
				})
				switch {
				case err == nil:
					gw.ManagedFields = nil
					w.Gateway = gw
				case !apierrors.IsNotFound(err):
					w.Err = fmt.Sprintf("reading Gateway %s: %v", key, err)
				}
			}
		}
		if w.Gateway != nil {
			err := g.call(ctx, func(ctx context.Context) error {
				var err error
				w.Pods, err = waypoint.Pods(ctx, g.k, r.Namespace, r.Name)
				return err
			})
			if err != nil {
				w.PodsErr = fmt.Sprintf("listing pods with %s=%s in %s: %v", waypoint.GatewayNameLabel, r.Name, r.Namespace, err)
			}
			w.Pods = trimPods(w.Pods)
		}
		s.Waypoints = append(s.Waypoints, *w)
	}
}

// referencedWaypoints are the Gateways the namespace, its Services and its
// pods name in istio.io/use-waypoint, sorted.
func referencedWaypoints(s *Snapshot) []ref {
	seen := map[string]ref{}
	add := func(labels map[string]string) {
		if r, set, none := useWaypoint(labels, s.Options.Namespace); set && !none {
			seen[r.key()] = r
		}
	}
	if s.Namespace != nil {
		add(s.Namespace.Labels)
	}
	for i := range s.Services {
		add(s.Services[i].Labels)
	}
	for i := range s.Pods {
		add(s.Pods[i].Labels)
	}
	out := make([]ref, 0, len(seen))
	for _, r := range seen {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ref) int {
		if a.key() < b.key() {
			return -1
		}
		if a.key() > b.key() {
			return 1
		}
		return 0
	})
	return out
}

// policies reads the AuthorizationPolicies and PeerAuthentications of the
// namespace and of the mesh (root) namespace.
func (g *gatherer) policies(ctx context.Context, s *Snapshot) {
	namespaces := []string{g.opts.Namespace}
	if g.opts.MeshNamespace != g.opts.Namespace {
		namespaces = append(namespaces, g.opts.MeshNamespace)
	}
	for _, ns := range namespaces {
		ul := &unstructured.UnstructuredList{}
		ul.SetGroupVersionKind(authorizationPolicyListGVK)
		if e := g.list(ctx, ul, ns, "", "AuthorizationPolicies in "+ns); e != "" {
			s.PolicyErrs = append(s.PolicyErrs, e)
		}
		for _, item := range ul.Items {
			ap := &securityv1.AuthorizationPolicy{}
			if err := fromUnstructured(item.Object, ap); err != nil {
				s.PolicyErrs = append(s.PolicyErrs, fmt.Sprintf("AuthorizationPolicy %s/%s: %v", item.GetNamespace(), item.GetName(), err))
				continue
			}
			s.AuthorizationPolicies = append(s.AuthorizationPolicies, ap)
		}
		ul = &unstructured.UnstructuredList{}
		ul.SetGroupVersionKind(peerAuthenticationListGVK)
		if e := g.list(ctx, ul, ns, "", "PeerAuthentications in "+ns); e != "" {
			s.PolicyErrs = append(s.PolicyErrs, e)
		}
		for _, item := range ul.Items {
			pa := &securityv1.PeerAuthentication{}
			if err := fromUnstructured(item.Object, pa); err != nil {
				s.PolicyErrs = append(s.PolicyErrs, fmt.Sprintf("PeerAuthentication %s/%s: %v", item.GetNamespace(), item.GetName(), err))
				continue
			}
			s.PeerAuthentications = append(s.PeerAuthentications, pa)
		}
	}
}

// fromUnstructured decodes an Istio object through JSON: its spec and status
// are protobuf messages with their own JSON decoding.
func fromUnstructured(obj map[string]any, into any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return err
	}
	if m, ok := into.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return nil
}

// metrics scrapes the ztunnel of every node hosting a pod of the namespace.
func (g *gatherer) metrics(ctx context.Context, s *Snapshot) {
	nodes := map[string]bool{}
	for i := range s.Pods {
		if n := s.Pods[i].Spec.NodeName; n != "" {
			nodes[n] = true
		}
	}
	if len(nodes) == 0 {
		return
	}
	s.ZtunnelMetrics = map[string]ZtunnelScrape{}
	for node := range nodes {
		sc := ZtunnelScrape{Node: node}
		pod, err := evidence.ZtunnelFor(s.Ztunnel.Pods, node)
		if err != nil {
			sc.Err = err.Error()
			s.ZtunnelMetrics[node] = sc
			continue
		}
		sc.Pod = pod.Name
		var body []byte
		err = g.call(ctx, func(ctx context.Context) error {
			var err error
			body, err = g.k.ProxyGet(ctx, g.opts.MeshNamespace, pod.Name, ztunnel.MetricsPort, ztunnel.MetricsPath)
			return err
		})
		if err != nil {
			sc.Err = err.Error()
			s.ZtunnelMetrics[node] = sc
			continue
		}
		m, err := evidence.ParseMetrics(bytes.NewReader(body))
		if err != nil {
			sc.Err = fmt.Sprintf("metrics of %s/%s: %v", g.opts.MeshNamespace, pod.Name, err)
			s.ZtunnelMetrics[node] = sc
			continue
		}
		sc.ActiveProxies = gauge(m, MetricActiveProxies)
		sc.PendingProxies = gauge(m, MetricPendingProxies)
		for _, se := range m.Series(evidence.MetricTCPOpened) {
			if se.Labels[evidence.LabelSourceWorkloadNamespace] == g.opts.Namespace || se.Labels[evidence.LabelDestinationWorkloadNamespace] == g.opts.Namespace {
				sc.Opened = append(sc.Opened, se)
			}
		}
		s.ZtunnelMetrics[node] = sc
	}
}

// gauge is the sum of a gauge's series, nil when the scrape has none.
func gauge(m evidence.Metrics, name string) *float64 {
	if len(m.Series(name)) == 0 {
		return nil
	}
	v := m.Sum(name, nil)
	return &v
}
