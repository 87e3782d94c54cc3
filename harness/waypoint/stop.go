package waypoint

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// A waypoint whose proxy cannot run, made on purpose: the Deployment
// istiod's gateway controller created for the Gateway is scaled to 0.
//
// istiod does not scale it back. Its waypoint template renders the
// Deployment with no spec.replicas (manifests/charts/istio-control/
// istio-discovery/files/waypoint.yaml@1.28.10, 1.29.6, 1.30.3 and
// release-1.31: L24-48, the Deployment's spec is selector and template
// only), and the controller server-side-applies what it renders
// (pilot/pkg/config/kube/gateway/deploymentcontroller.go@1.28.10 L249-252
// and L954, @1.29.6 L263-266 and L974; pilot/pkg/config/kube/gatewaycommon/
// deploymentcontroller.go@1.30.3 L142-145 and L856, @release-1.31 L141-144
// and L850; none of these files mentions replicas), so a field it never
// applies stays whatever another manager set. The template's
// HorizontalPodAutoscaler (waypoint.yaml@release-1.31 L359-383) is a
// "required overlay": it is rendered only when the Gateway's or the class's
// parameters give one (deploymentcontroller.go@release-1.31 L669-672 and
// L724-726; @1.30.3 L675, L730; @1.29.6 L793, L848; @1.28.10 L773, L828).
// A mesh configured with such an overlay brings the replicas back, which
// WaitStopped reports as the reason it cannot judge.

// Deployments lists the Deployments of the waypoint: istiod labels them
// gateway.networking.k8s.io/gateway-name=<name> (waypoint.yaml@release-1.31
// L31-37; the same at 1.28.10, 1.29.6, 1.30.3).
func Deployments(ctx context.Context, k *kube.Kube, namespace, name string) ([]appsv1.Deployment, error) {
	var l appsv1.DeploymentList
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithLabelSelector(GatewayNameLabel+"="+name)); err != nil {
		return nil, fmt.Errorf("Deployments of waypoint %s/%s: %w", namespace, name, err)
	}
	return l.Items, nil
}

// Services lists the waypoint's Services (the same label,
// waypoint.yaml@release-1.31 L329-335, @1.28.10 L326-332).
func Services(ctx context.Context, k *kube.Kube, namespace, name string) ([]corev1.Service, error) {
	var l corev1.ServiceList
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithLabelSelector(GatewayNameLabel+"="+name)); err != nil {
		return nil, fmt.Errorf("Services of waypoint %s/%s: %w", namespace, name, err)
	}
	return l.Items, nil
}

// Stop scales every Deployment of the waypoint to 0 replicas, so no proxy
// of it runs, and returns their names. A waypoint with no Deployment (istiod
// never created one) is an error.
func Stop(ctx context.Context, k *kube.Kube, namespace, name string) ([]string, error) {
	deps, err := Deployments(ctx, k, namespace, name)
	if err != nil {
		return nil, err
	}
	if len(deps) == 0 {
		return nil, fmt.Errorf("waypoint %s/%s has no Deployment labelled %s=%s: did istiod's gateway controller create one?", namespace, name, GatewayNameLabel, name)
	}
	var names []string
	for i := range deps {
		d := &deps[i]
		patch := k8s.Patch{PatchType: types.MergePatchType, Data: []byte(`{"spec":{"replicas":0}}`)}
		if err := k.Res().Patch(ctx, d, patch); err != nil {
			return names, fmt.Errorf("scaling Deployment %s/%s to 0: %w", namespace, d.Name, err)
		}
		names = append(names, d.Name)
	}
	return names, nil
}

// Stopped judges whether a waypoint stopped by Stop has no proxy left:
// every Deployment still asks for 0 replicas, no pod of it is left (not even
// a terminating one, which may still drain connections), and no EndpointSlice
// of its Services lists a ready endpoint (kube.EndpointReady). restored is
// true when a Deployment asks for replicas again: something scales it back,
// and waiting will not help.
func Stopped(deps []appsv1.Deployment, pods []corev1.Pod, endpoints []discoveryv1.EndpointSlice) (stopped, restored bool, status string) {
	var back []string
	for _, d := range deps {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			want := "the default 1"
			if d.Spec.Replicas != nil {
				want = fmt.Sprint(*d.Spec.Replicas)
			}
			back = append(back, fmt.Sprintf("Deployment %s asks for %s replicas", d.Name, want))
		}
	}
	if len(back) > 0 {
		sort.Strings(back)
		return false, true, strings.Join(back, "; ")
	}
	var left []string
	for _, p := range pods {
		s := p.Name + " " + string(p.Status.Phase)
		if p.DeletionTimestamp != nil {
			s = p.Name + " terminating"
		}
		left = append(left, s)
	}
	ready := ReadyEndpoints(endpoints)
	status = fmt.Sprintf("%d Deployment(s) at 0 replicas; pods left: %s; ready endpoints: %s",
		len(deps), orNone(left), orNone(ready))
	return len(left) == 0 && len(ready) == 0, false, status
}

// ReadyEndpoints lists the addresses EndpointSlices give as ready (sorted,
// each once).
func ReadyEndpoints(endpoints []discoveryv1.EndpointSlice) []string {
	var out []string
	for _, sl := range endpoints {
		for _, ep := range sl.Endpoints {
			if !kube.EndpointReady(ep) {
				continue
			}
			for _, a := range ep.Addresses {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// WaitStopped waits until Stopped holds for the waypoint. A Deployment that
// asks for replicas again ends the wait at once, naming what to look at.
func WaitStopped(ctx context.Context, k *kube.Kube, namespace, name string, timeout time.Duration) error {
	what := fmt.Sprintf("waypoint %s/%s to have no pod and no ready endpoint after scaling it to 0", namespace, name)
	return wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		deps, err := Deployments(ctx, k, namespace, name)
		if err != nil {
			return false, "", err
		}
		pods, err := Pods(ctx, k, namespace, name)
		if err != nil {
			return false, "", err
		}
		svcs, err := Services(ctx, k, namespace, name)
		if err != nil {
			return false, "", err
		}
		var eps []discoveryv1.EndpointSlice
		for _, s := range svcs {
			sls, err := k.EndpointSlices(ctx, namespace, s.Name)
			if err != nil {
				return false, "", err
			}
			eps = append(eps, sls...)
		}
		stopped, restored, status := Stopped(deps, pods, eps)
		if restored {
			return false, status, wait.Permanent(fmt.Errorf("%s after the suite scaled it to 0: something scales the waypoint back "+
				"(a HorizontalPodAutoscaler, or a deployment overlay in the Gateway's or its class's parameters)", status))
		}
		return stopped, status, nil
	})
}

// Addresses are the addresses istiod's gateway controller reported in the
// Gateway's status. istiod takes a Gateway of class istio-waypoint as a
// waypoint only once it has one (pilot/pkg/serviceregistry/ambient/
// waypoints.go@release-1.31 L348, @1.30.3 L230; pilot/pkg/serviceregistry/
// kube/controller/ambient/waypoints.go@1.29.6 L225, @1.28.10 L226), and
// never removes it once reported (pilot/pkg/config/kube/gateway/
// conversion.go@release-1.31 L1927, @1.30.3 L1835, @1.29.6 L1852, @1.28.10
// L1851), so a waypoint scaled to 0 afterwards stays the Service's waypoint.
func Addresses(gw *gatewayv1.Gateway) []string {
	var out []string
	for _, a := range gw.Status.Addresses {
		out = append(out, a.Value)
	}
	return out
}

// Delete deletes the waypoint Gateway (istiod's Deployment and Service go
// with it: they carry an ownerReference to it, waypoint.yaml@release-1.31
// L39-43 and L338-342) and waits until the Gateway is gone.
func Delete(ctx context.Context, k *kube.Kube, namespace, name string, timeout time.Duration) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gatewayGVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	if err := k.Res().Delete(ctx, u); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Gateway %s/%s: %w", namespace, name, err)
	}
	what := fmt.Sprintf("Gateway %s/%s to be gone", namespace, name)
	return wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		_, err := Get(ctx, k, namespace, name)
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, "the Gateway still exists", nil
	})
}
