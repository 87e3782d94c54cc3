package waypoint

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func ptrTo[T any](v T) *T { return &v }

func deployment(name string, replicas *int32) appsv1.Deployment {
	return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{Replicas: replicas}}
}

func slice(eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{Endpoints: eps}
}

func endpoint(addr string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestReadyEndpoints(t *testing.T) {
	got := ReadyEndpoints([]discoveryv1.EndpointSlice{
		slice(endpoint("10.0.0.2", ptrTo(true)), endpoint("10.0.0.3", ptrTo(false))),
		// nil ready is "unknown", which discovery.k8s.io/v1 says to read as ready.
		slice(endpoint("10.0.0.1", nil), endpoint("10.0.0.2", nil)),
	})
	if want := []string{"10.0.0.1", "10.0.0.2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ReadyEndpoints = %v, want %v", got, want)
	}
	if got := ReadyEndpoints(nil); got != nil {
		t.Errorf("no slices: %v", got)
	}
}

func TestStopped(t *testing.T) {
	zero := ptrTo(int32(0))
	terminating := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "waypoint-abc", DeletionTimestamp: &metav1.Time{}}}
	running := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "waypoint-def"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	cases := []struct {
		name              string
		deps              []appsv1.Deployment
		pods              []corev1.Pod
		eps               []discoveryv1.EndpointSlice
		stopped, restored bool
		status            string
	}{
		{name: "stopped", deps: []appsv1.Deployment{deployment("waypoint", zero)},
			eps:     []discoveryv1.EndpointSlice{slice(endpoint("10.0.0.9", ptrTo(false)))},
			stopped: true, status: "1 Deployment(s) at 0 replicas; pods left: none; ready endpoints: none"},
		{name: "a pod still terminating", deps: []appsv1.Deployment{deployment("waypoint", zero)}, pods: []corev1.Pod{terminating},
			status: "pods left: waypoint-abc terminating"},
		{name: "a pod still running", deps: []appsv1.Deployment{deployment("waypoint", zero)}, pods: []corev1.Pod{running},
			status: "pods left: waypoint-def Running"},
		{name: "a ready endpoint left", deps: []appsv1.Deployment{deployment("waypoint", zero)},
			eps: []discoveryv1.EndpointSlice{slice(endpoint("10.0.0.9", nil))}, status: "ready endpoints: 10.0.0.9"},
		{name: "scaled back", deps: []appsv1.Deployment{deployment("waypoint", ptrTo(int32(2)))}, pods: []corev1.Pod{running},
			restored: true, status: "Deployment waypoint asks for 2 replicas"},
		{name: "replicas removed", deps: []appsv1.Deployment{deployment("waypoint", nil)},
			restored: true, status: "Deployment waypoint asks for the default 1 replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stopped, restored, status := Stopped(tc.deps, tc.pods, tc.eps)
			if stopped != tc.stopped || restored != tc.restored || !strings.Contains(status, tc.status) {
				t.Errorf("Stopped = %v, %v, %q; want %v, %v, …%q…", stopped, restored, status, tc.stopped, tc.restored, tc.status)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	gw := Gateway("ns", "waypoint", "")
	if got := Addresses(gw); got != nil {
		t.Errorf("a new Gateway has addresses %v", got)
	}
	// What istiod reports for a waypoint: its Service's hostname and IP
	// (pilot/pkg/config/kube/gateway/conversion.go@release-1.31 L1907-1941).
	gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{
		{Type: ptrTo(gatewayv1.HostnameAddressType), Value: "waypoint.ns.svc.cluster.local"},
		{Type: ptrTo(gatewayv1.IPAddressType), Value: "10.96.0.20"},
	}
	if got, want := Addresses(gw), []string{"waypoint.ns.svc.cluster.local", "10.96.0.20"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Addresses = %v, want %v", got, want)
	}
}
