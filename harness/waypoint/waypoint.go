// Package waypoint creates Istio waypoints the way `istioctl waypoint apply`
// does (a Gateway of class istio-waypoint with one HBONE listener on 15008)
// and reads what Istio reports about them: the Gateway's Programmed
// condition, the waypoint's pods and metrics, a Service's
// istio.io/WaypointBound condition and a policy's ZtunnelAccepted and
// WaypointAccepted conditions (docs/istio-facts.md §3, §6.2, §6.3).
package waypoint

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Names Istio gives waypoints (istio istioctl/pkg/waypoint/waypoint.go,
// pilot/pkg/serviceregistry/ambient/waypoints.go, pilot/pkg/model/service.go).
const (
	ClassName    = "istio-waypoint" // gatewayClassName of every waypoint
	ListenerName = "mesh"           // the one listener istioctl writes
	HBONEPort    = 15008
	HBONE        = "HBONE" // the listener's protocol

	// GatewayNameLabel is on the waypoint's pods: select them with it. The
	// seed's istio.io/gateway-name was removed in Istio 1.24.
	GatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	// ForLabel on the Gateway says which traffic it takes: service (the
	// default when absent), workload, all or none.
	ForLabel = "istio.io/waypoint-for"
	// UseLabel on a Namespace, Service or Pod binds it to the named waypoint;
	// "none" opts one resource out of a namespace's waypoint.
	UseLabel = "istio.io/use-waypoint"

	ForService  = "service"
	ForWorkload = "workload"
	ForAll      = "all"

	// BoundCondition is the Service condition istiod sets when a Service
	// uses a waypoint (reason WaypointAccepted).
	BoundCondition = "istio.io/WaypointBound"
	// ZtunnelAccepted and WaypointAccepted are AuthorizationPolicy
	// conditions: what ztunnel or a waypoint made of the policy.
	ZtunnelAccepted  = "ZtunnelAccepted"
	WaypointAccepted = "WaypointAccepted"

	// MetricsPort and MetricsPath serve the waypoint's merged Prometheus
	// metrics (istio_requests_total with reporter="waypoint").
	MetricsPort = 15020
	MetricsPath = "/stats/prometheus"
)

// Gateway returns the waypoint `istioctl waypoint apply -n namespace --name
// name [--for waypointFor]` creates; waypointFor "" writes no label.
func Gateway(namespace, name, waypointFor string) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: ClassName,
			Listeners: []gatewayv1.Listener{{
				Name:     ListenerName,
				Port:     HBONEPort,
				Protocol: HBONE,
			}},
		},
	}
	if waypointFor != "" {
		gw.Labels = map[string]string{ForLabel: waypointFor}
	}
	return gw
}

// Manifest renders a Gateway as YAML (for apply and the server-side dry run).
func Manifest(gw *gatewayv1.Gateway) ([]byte, error) {
	return yaml.Marshal(gw)
}

// Create server-side-applies the waypoint with the run's ownership labels.
func Create(ctx context.Context, k *kube.Kube, gw *gatewayv1.Gateway) error {
	m, err := Manifest(gw)
	if err != nil {
		return err
	}
	return k.Apply(ctx, m, gw.Namespace)
}

var gatewayGVK = schema.GroupVersionKind{Group: gatewayv1.GroupVersion.Group, Version: gatewayv1.GroupVersion.Version, Kind: "Gateway"}

// Get reads a Gateway.
func Get(ctx context.Context, k *kube.Kube, namespace, name string) (*gatewayv1.Gateway, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gatewayGVK)
	if err := k.Res().Get(ctx, name, namespace, u); err != nil {
		return nil, err
	}
	gw := &gatewayv1.Gateway{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, gw); err != nil {
		return nil, fmt.Errorf("gateway %s/%s: %w", namespace, name, err)
	}
	return gw, nil
}

// Programmed says whether the Gateway is Programmed=True for its current
// generation, and describes its conditions for a report.
func Programmed(gw *gatewayv1.Gateway) (bool, string) {
	c := meta.FindStatusCondition(gw.Status.Conditions, string(gatewayv1.GatewayConditionProgrammed))
	switch {
	case len(gw.Status.Conditions) == 0:
		return false, fmt.Sprintf("no status conditions: nothing has picked up gatewayClassName %s (is istiod running?)", gw.Spec.GatewayClassName)
	case c == nil:
		return false, "no Programmed condition; " + Conditions(gw.Status.Conditions)
	case c.Status != metav1.ConditionTrue:
		return false, Conditions(gw.Status.Conditions)
	case c.ObservedGeneration != 0 && c.ObservedGeneration < gw.Generation:
		return false, fmt.Sprintf("Programmed=True is for generation %d, the Gateway is at %d", c.ObservedGeneration, gw.Generation)
	}
	return true, Conditions(gw.Status.Conditions)
}

// Conditions renders conditions as "Type=Status (Reason: message)", sorted.
func Conditions(cs []metav1.Condition) string {
	if len(cs) == 0 {
		return "no conditions"
	}
	var out []string
	for _, c := range cs {
		s := fmt.Sprintf("%s=%s", c.Type, c.Status)
		if c.Reason != "" || c.Message != "" {
			s += fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// Readiness is how a waypoint came up: how long until it was Programmed,
// how long until a pod of it was ready, and how much of that the pod spent
// pulling images, which does not count against the bound (the first
// waypoint of a run on a cluster that pulls pulls proxyv2 then).
type Readiness struct {
	Programmed, Ready, Pulling time.Duration
	Pulls                      []string // kube.FormatPulls of the pod's images
}

func (r Readiness) String() string {
	s := fmt.Sprintf("Programmed after %s, pod ready %s later", r.Programmed.Round(time.Second), r.Ready.Round(time.Second))
	if r.Pulling > 0 {
		s += fmt.Sprintf(" (of which %s pulling images, not counted against the bound)", r.Pulling.Round(100*time.Millisecond))
	}
	if len(r.Pulls) > 0 {
		s += ": " + strings.Join(r.Pulls, "; ")
	}
	return s
}

// WaitProgrammed waits until the waypoint is Programmed=True (within
// timeout), then until one of its pods is ready: within timeout not
// counting the time the pod spends pulling images, which is bounded by
// pullTimeout and reported apart. Without a mesh the error reads "waypoint
// <ns>/<name> never Programmed: … no status conditions …".
func WaitProgrammed(ctx context.Context, k *kube.Kube, namespace, name string, timeout, pullTimeout time.Duration) (corev1.Pod, Readiness, error) {
	var rd Readiness
	var err error
	if rd.Programmed, err = WaitGatewayProgrammed(ctx, k, namespace, name, timeout); err != nil {
		return corev1.Pod{}, rd, err
	}
	return WaitPodReady(ctx, k, namespace, name, timeout, pullTimeout, rd)
}

// WaitGatewayProgrammed waits until the waypoint Gateway is Programmed=True
// (istiod's gateway controller: it has created the Deployment and Service
// and assigned the address) and returns how long that took.
func WaitGatewayProgrammed(ctx context.Context, k *kube.Kube, namespace, name string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	what := fmt.Sprintf("Gateway %s/%s (class %s) to be Programmed", namespace, name, ClassName)
	err := wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		gw, err := Get(ctx, k, namespace, name)
		if apierrors.IsNotFound(err) {
			return false, "the Gateway does not exist", nil
		}
		if err != nil {
			return false, "", err
		}
		ok, status := Programmed(gw)
		return ok, status, nil
	})
	if err != nil {
		return 0, fmt.Errorf("waypoint %s/%s never Programmed: %w", namespace, name, err)
	}
	return time.Since(start), nil
}

// WaitPodReady waits until a pod of the waypoint is ready: within timeout
// not counting the time the pod spends pulling images, which is bounded by
// pullTimeout and reported apart. rd carries what is known so far (the time
// to Programmed).
func WaitPodReady(ctx context.Context, k *kube.Kube, namespace, name string, timeout, pullTimeout time.Duration, rd Readiness) (corev1.Pod, Readiness, error) {
	podStart := time.Now()
	var pod corev1.Pod
	what := fmt.Sprintf("a ready waypoint pod with %s=%s in %s", GatewayNameLabel, name, namespace)
	err := wait.For(ctx, what, timeout+pullTimeout, func(ctx context.Context) (bool, string, error) {
		pods, err := Pods(ctx, k, namespace, name)
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			if podReady(p) {
				pod = p
				if pulls, err := k.PodImagePulls(ctx, namespace, p.Name); err == nil {
					rd.Pulling, rd.Pulls = kube.PullTime(pulls, time.Now()), kube.FormatPulls(pulls)
				}
				return true, "", nil
			}
		}
		status := fmt.Sprintf("%d pods, none ready", len(pods))
		if len(pods) == 0 {
			if time.Since(podStart) > timeout {
				return false, "", wait.Permanent(fmt.Errorf("no pod with %s=%s appeared within %s: did istiod create the waypoint's Deployment?", GatewayNameLabel, name, timeout))
			}
			return false, status, nil
		}
		pulls, err := k.PodImagePulls(ctx, namespace, newest(pods).Name)
		if err != nil {
			return false, status, nil
		}
		pulling := kube.PullTime(pulls, time.Now())
		switch {
		case pulling > pullTimeout:
			return false, "", wait.Permanent(fmt.Errorf("pulling %v took longer than PULL_TIMEOUT (%s)", kube.Pulling(pulls), pullTimeout))
		case time.Since(podStart)-pulling > timeout:
			return false, "", wait.Permanent(fmt.Errorf("%s within %s (not counting %s pulling images); last status: %s",
				"no ready pod", timeout, pulling.Round(time.Second), status+kube.PodHint(pods)))
		}
		if p := kube.Pulling(pulls); len(p) > 0 {
			status += fmt.Sprintf("; pulling %s for %s (not counted against the bound)", strings.Join(p, ", "), pulling.Round(time.Second))
		}
		return false, status + kube.PodHint(pods), nil
	})
	rd.Ready = time.Since(podStart)
	return pod, rd, err
}

// newest is the most recently created pod.
func newest(pods []corev1.Pod) corev1.Pod {
	n := pods[0]
	for _, p := range pods[1:] {
		if p.CreationTimestamp.After(n.CreationTimestamp.Time) {
			n = p
		}
	}
	return n
}

func podReady(p corev1.Pod) bool {
	return p.DeletionTimestamp == nil && kube.PodReady(p)
}

// Pods lists the waypoint's pods, selected as Istio's tests select them.
func Pods(ctx context.Context, k *kube.Kube, namespace, name string) ([]corev1.Pod, error) {
	return k.Pods(ctx, namespace, GatewayNameLabel+"="+name)
}

// Pod returns a ready pod of the waypoint, or an error that says there is none.
func Pod(ctx context.Context, k *kube.Kube, namespace, name string) (corev1.Pod, error) {
	pods, err := Pods(ctx, k, namespace, name)
	if err != nil {
		return corev1.Pod{}, err
	}
	for _, p := range pods {
		if podReady(p) {
			return p, nil
		}
	}
	return corev1.Pod{}, fmt.Errorf("no waypoint pod: no ready pod with %s=%s in %s (%d pods)", GatewayNameLabel, name, namespace, len(pods))
}

// Metrics scrapes a waypoint pod's merged Prometheus endpoint through the
// API server's pod proxy.
func Metrics(ctx context.Context, k *kube.Kube, pod corev1.Pod) (evidence.Metrics, error) {
	b, err := k.ProxyGet(ctx, pod.Namespace, pod.Name, MetricsPort, MetricsPath)
	if err != nil {
		return evidence.Metrics{}, err
	}
	return evidence.ParseMetrics(bytes.NewReader(b))
}

// ServiceCondition returns a Service's condition of type t (nil if absent)
// and all its conditions, rendered, for the message.
func ServiceCondition(ctx context.Context, k *kube.Kube, namespace, name, t string) (*metav1.Condition, string, error) {
	var svc corev1.Service
	if err := k.Res().Get(ctx, name, namespace, &svc); err != nil {
		return nil, "", err
	}
	return meta.FindStatusCondition(svc.Status.Conditions, t), Conditions(svc.Status.Conditions), nil
}

// WaitBound waits for the Service's istio.io/WaypointBound=True.
func WaitBound(ctx context.Context, k *kube.Kube, namespace, service string, timeout time.Duration) (metav1.Condition, error) {
	var got metav1.Condition
	what := fmt.Sprintf("%s=True on Service %s/%s", BoundCondition, namespace, service)
	err := wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		c, all, err := ServiceCondition(ctx, k, namespace, service, BoundCondition)
		if err != nil || c == nil {
			return false, "no " + BoundCondition + " condition; " + all, err
		}
		got = *c
		return c.Status == metav1.ConditionTrue, all, nil
	})
	return got, err
}

// PolicyGVK is the AuthorizationPolicy kind whose status the suite reads.
var PolicyGVK = schema.GroupVersionKind{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicy"}

// PolicyConditions reads the status conditions istiod wrote on a policy
// (Istio writes them as {type, status, reason, message, observedGeneration}).
func PolicyConditions(ctx context.Context, k *kube.Kube, gvk schema.GroupVersionKind, namespace, name string) ([]metav1.Condition, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := k.Res().Get(ctx, name, namespace, u); err != nil {
		return nil, err
	}
	return ParseConditions(u.Object)
}

// ParseConditions reads status.conditions of an unstructured Istio object.
func ParseConditions(obj map[string]any) ([]metav1.Condition, error) {
	raw, found, err := unstructured.NestedSlice(obj, "status", "conditions")
	if err != nil || !found {
		return nil, err
	}
	var out []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := metav1.Condition{}
		c.Type, _, _ = unstructured.NestedString(m, "type")
		status, _, _ := unstructured.NestedString(m, "status")
		c.Status = metav1.ConditionStatus(status)
		c.Reason, _, _ = unstructured.NestedString(m, "reason")
		c.Message, _, _ = unstructured.NestedString(m, "message")
		out = append(out, c)
	}
	return out, nil
}
