package doctor

import (
	"istio.io/api/annotation"
	"istio.io/api/label"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// Names this package reads that harness/ambient and harness/waypoint do not
// define.
var (
	// useWaypointNamespaceLabel points a use-waypoint at a waypoint in
	// another namespace (istio/istio:pilot/pkg/serviceregistry/ambient/waypoints.go@master GetUseWaypoint).
	useWaypointNamespaceLabel = label.IoIstioUseWaypointNamespace.Name
	// sidecarStatusAnnotation marks a sidecar-injected pod, which istio-cni
	// never captures (istio/istio:cni/pkg/util/enablement_selector.go@master Matches).
	sidecarStatusAnnotation = annotation.SidecarStatus.Name
	// serviceAccountAnnotation on a Gateway names its ServiceAccount; the
	// default is the Gateway's name
	// (istio/istio:pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go@master TemplateInput).
	serviceAccountAnnotation = annotation.GatewayServiceAccount.Name
	// dryRunAnnotation marks a dry-run AuthorizationPolicy, which ztunnel
	// ignores unless istiod enables it
	// (istio/istio:pilot/pkg/serviceregistry/ambient/authorization.go@master convertAuthorizationPolicy).
	dryRunAnnotation = annotation.IoIstioDryRun.Name
	// gatewayManagedLabel = istio.io-mesh-controller marks a waypoint's own
	// Service, which never uses a waypoint
	// (istio/istio:pilot/pkg/serviceregistry/ambient/waypoints.go@master fetchWaypointForService;
	// pkg/config/constants/constants.go@master ManagedGatewayMeshControllerLabel).
	gatewayManagedLabel = label.GatewayManaged.Name
)

const managedByMeshController = "istio.io-mesh-controller"

// waypointNone is the use-waypoint value that opts a resource out of its
// namespace's waypoint (istio/istio:pilot/pkg/serviceregistry/ambient/waypoints.go@master GetUseWaypoint).
const waypointNone = "none"

// ref names a waypoint Gateway.
type ref struct{ Namespace, Name string }

func (r ref) key() string { return r.Namespace + "/" + r.Name }

// useWaypoint reads istio.io/use-waypoint the way istiod does: the value
// names a Gateway in defaultNamespace unless istio.io/use-waypoint-namespace
// says otherwise; "none" opts out (none=true). set is false when the label is absent.
func useWaypoint(labels map[string]string, defaultNamespace string) (r ref, set, none bool) {
	v, ok := labels[waypoint.UseLabel]
	if !ok {
		return ref{}, false, false
	}
	if v == waypointNone {
		return ref{}, true, true
	}
	ns := defaultNamespace
	if o, ok := labels[useWaypointNamespaceLabel]; ok {
		ns = o
	}
	return ref{Namespace: ns, Name: v}, true, false
}

// binding is how one Service or pod reaches a waypoint.
type binding struct {
	Waypoint ref
	// Inherited is true when the label is on the namespace, not on the
	// resource itself.
	Inherited bool
}

// serviceBinding is the waypoint a Service uses, or nil: its own label, else
// its namespace's (istio/istio:pilot/pkg/serviceregistry/ambient/waypoints.go@master
// fetchWaypointForTarget, fetchWaypointForService). A waypoint's own Service
// never uses one.
func serviceBinding(svc *corev1.Service, ns *corev1.Namespace) *binding {
	if svc.Labels[gatewayManagedLabel] == managedByMeshController {
		return nil
	}
	return objectBinding(svc.Labels, svc.Namespace, ns)
}

// podBinding is the waypoint a pod's own traffic (workload-addressed)
// uses, or nil.
func podBinding(p *corev1.Pod, ns *corev1.Namespace) *binding {
	return objectBinding(p.Labels, p.Namespace, ns)
}

func objectBinding(labels map[string]string, namespace string, ns *corev1.Namespace) *binding {
	if r, set, none := useWaypoint(labels, namespace); set {
		if none {
			return nil
		}
		return &binding{Waypoint: r}
	}
	if ns == nil {
		return nil
	}
	if r, set, none := useWaypoint(ns.Labels, namespace); set && !none {
		return &binding{Waypoint: r, Inherited: true}
	}
	return nil
}

// Why a pod of the namespace is not meant to be in the mesh.
const (
	notMeantNotSelected = "not selected (no istio.io/dataplane-mode=ambient on it or its namespace)"
	notMeantOptedOut    = "opted out (istio.io/dataplane-mode=none)"
	notMeantWaypoint    = "waypoint proxies (their template opts them out)"
	notMeantHostNetwork = "hostNetwork (istio-cni never captures it)"
	notMeantSidecar     = "sidecar-injected (a sidecar wins over ambient)"
	notMeantFinished    = "finished"
	notMeantDeleting    = "being deleted"
	notMeantUnscheduled = "not scheduled yet"
)

// meantForMesh says whether istio-cni must capture the pod, with Istio's
// default enablement selectors (istio/istio:manifests/charts/istio-cni/values.yaml@master
// ambient.enablementSelectors: the pod labelled ambient, or the namespace
// labelled ambient and the pod not labelled none; never hostNetwork or
// sidecar pods, cni/pkg/util/enablement_selector.go@master Matches; never
// terminal pods, cni/pkg/nodeagent/informers.go@master). When it is not, why.
func meantForMesh(p *corev1.Pod, ns *corev1.Namespace) (bool, string) {
	nsAmbient := ns != nil && ns.Labels[ambient.DataplaneModeLabel] == ambient.DataplaneModeAmbient
	podMode, podLabelled := p.Labels[ambient.DataplaneModeLabel]
	podAmbient := podLabelled && podMode == ambient.DataplaneModeAmbient
	switch {
	case podLabelled && podMode == ambient.DataplaneModeNone && hasKey(p.Labels, waypoint.GatewayNameLabel):
		// istio/istio:manifests/charts/istio-control/istio-discovery/files/waypoint.yaml@master
		// labels waypoint pods istio.io/dataplane-mode: none.
		return false, notMeantWaypoint
	case podLabelled && podMode == ambient.DataplaneModeNone:
		return false, notMeantOptedOut
	case !podAmbient && !nsAmbient:
		return false, notMeantNotSelected
	case p.Spec.HostNetwork:
		return false, notMeantHostNetwork
	case hasKey(p.Annotations, sidecarStatusAnnotation):
		return false, notMeantSidecar
	case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		return false, notMeantFinished
	case p.DeletionTimestamp != nil:
		return false, notMeantDeleting
	case p.Spec.NodeName == "":
		return false, notMeantUnscheduled
	}
	return true, ""
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
