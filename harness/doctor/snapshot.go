package doctor

import (
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
)

// Gauges of ztunnel's in-pod workload manager: how many pods it proxies on
// its node, and how many it was handed but has not started yet
// (istio/ztunnel:src/inpod/metrics.rs@62d82653, registered under the prefix
// "workload_manager" in src/app.rs; the same in 1.24.0).
const (
	MetricActiveProxies  = "workload_manager_active_proxy_count"
	MetricPendingProxies = "workload_manager_pending_proxy_count"
)

// Pod selectors of the mesh DaemonSets, used when the DaemonSet itself is
// missing (istio/istio:manifests/charts/ztunnel/templates/daemonset.yaml@master,
// manifests/charts/istio-cni/templates/daemonset.yaml@master) and of istiod's
// Deployments, one per revision (manifests/charts/istio-control/istio-discovery/templates/deployment.yaml@master).
const (
	ztunnelPodSelector = "app=ztunnel"
	cniPodSelector     = "k8s-app=istio-cni-node"
	istiodSelector     = "app=istiod"
)

// Snapshot is what Gather read from the cluster, the only input of Judge.
// A piece that could not be read has its error in the matching Err field
// (empty when the read succeeded); an object that does not exist is nil.
type Snapshot struct {
	Options Options

	// Server is the API server's address, ServerVersion its gitVersion.
	Server, ServerVersion string

	// Namespace is the application namespace (nil when NamespaceErr says why
	// it could not be read).
	Namespace    *corev1.Namespace
	NamespaceErr string
	// Pods and Services of the namespace.
	Pods        []corev1.Pod
	PodsErr     string
	Services    []corev1.Service
	ServicesErr string
	// Nodes of the cluster (for DaemonSet coverage).
	Nodes    []corev1.Node
	NodesErr string

	// Istiod lists the Deployments labelled app=istiod in the mesh
	// namespace (one per revision).
	Istiod    []appsv1.Deployment
	IstiodErr string
	// Ztunnel and CNI are the ztunnel and istio-cni-node DaemonSets.
	Ztunnel, CNI DaemonSet

	// WaypointClass is the GatewayClass istio-waypoint (its
	// istio.io/waypoint-for label is the default of its Gateways).
	WaypointClass    *gatewayv1.GatewayClass
	WaypointClassErr string
	// Waypoints are the Gateways of class istio-waypoint in the namespace
	// and every Gateway an istio.io/use-waypoint label of the namespace, its
	// Services or its pods names (found or not).
	Waypoints   []Waypoint
	GatewaysErr string

	// AuthorizationPolicies and PeerAuthentications of the namespace and of
	// the mesh namespace (the root namespace of mesh-wide policies).
	AuthorizationPolicies []*securityv1.AuthorizationPolicy
	PeerAuthentications   []*securityv1.PeerAuthentication
	// PolicyErrs lists the policy lists that could not be read.
	PolicyErrs []string

	// ZtunnelMetrics is, per node hosting a pod of the namespace, what that
	// node's ztunnel reports.
	ZtunnelMetrics map[string]ZtunnelScrape
}

// DaemonSet is a mesh DaemonSet and its pods.
type DaemonSet struct {
	Name   string
	Object *appsv1.DaemonSet // nil: not found
	Err    string            // reading the DaemonSet failed
	Pods   []corev1.Pod
	// PodsErr is set when its pods could not be listed.
	PodsErr string
}

// Waypoint is a Gateway that is, or is named as, a waypoint.
type Waypoint struct {
	Namespace, Name string
	Gateway         *gatewayv1.Gateway // nil: no such Gateway
	Err             string             // reading it failed (not "not found")
	// Pods are selected by gateway.networking.k8s.io/gateway-name.
	Pods    []corev1.Pod
	PodsErr string
}

// Key is "namespace/name".
func (w Waypoint) Key() string { return w.Namespace + "/" + w.Name }

// ZtunnelScrape is what one node's ztunnel reports.
type ZtunnelScrape struct {
	Node, Pod string
	// ActiveProxies is workload_manager_active_proxy_count, nil when the
	// scrape has no such gauge; PendingProxies likewise.
	ActiveProxies, PendingProxies *float64
	// Opened are the istio_tcp_connections_opened_total series whose source
	// or destination workload namespace is the namespace.
	Opened []evidence.Series
	Err    string
}
