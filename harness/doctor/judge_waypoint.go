package doctor

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// usage is who in the namespace names one waypoint with their own
// istio.io/use-waypoint label.
type usage struct {
	ref       ref
	namespace bool
	services  []string
	pods      []string
}

func (u *usage) String() string {
	var parts []string
	if u.namespace {
		parts = append(parts, "the namespace")
	}
	if len(u.services) > 0 {
		parts = append(parts, "Services "+names(u.services))
	}
	if len(u.pods) > 0 {
		parts = append(parts, "pods "+names(u.pods))
	}
	return strings.Join(parts, "; ")
}

// usages collects the use-waypoint labels of the namespace, its Services
// and its pods, by waypoint.
func (v *view) usages() (map[string]*usage, []string) {
	out := map[string]*usage{}
	get := func(r ref) *usage {
		u, ok := out[r.key()]
		if !ok {
			u = &usage{ref: r}
			out[r.key()] = u
		}
		return u
	}
	ns := v.o.Namespace
	if v.s.Namespace != nil {
		if r, set, none := useWaypoint(v.s.Namespace.Labels, ns); set && !none {
			get(r).namespace = true
		}
	}
	for i := range v.s.Services {
		if r, set, none := useWaypoint(v.s.Services[i].Labels, ns); set && !none {
			u := get(r)
			u.services = append(u.services, v.s.Services[i].Name)
		}
	}
	for i := range v.s.Pods {
		if r, set, none := useWaypoint(v.s.Pods[i].Labels, ns); set && !none {
			u := get(r)
			u.pods = append(u.pods, v.s.Pods[i].Name)
		}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return out, keys
}

// waypointFor finds a waypoint of the snapshot.
func (v *view) waypointFor(key string) *Waypoint {
	for i := range v.s.Waypoints {
		if v.s.Waypoints[i].Key() == key {
			return &v.s.Waypoints[i]
		}
	}
	return nil
}

// trafficType is the Gateway's istio.io/waypoint-for, else its class's,
// else service (istio/istio:pilot/pkg/serviceregistry/ambient/waypoints.go@master
// gatewayToWaypointTransform).
func (v *view) trafficType(w *Waypoint) string {
	if w.Gateway != nil {
		if t, ok := w.Gateway.Labels[waypoint.ForLabel]; ok {
			return t
		}
	}
	if c := v.s.WaypointClass; c != nil {
		if t, ok := c.Labels[waypoint.ForLabel]; ok {
			return t
		}
	}
	return waypoint.ForService
}

// takesService and takesWorkload read a traffic type
// (istio/istio:pkg/config/constants/constants.go@master ServiceTraffic,
// WorkloadTraffic, AllTraffic; "none" takes nothing).
func takesService(t string) bool  { return t == waypoint.ForService || t == waypoint.ForAll }
func takesWorkload(t string) bool { return t == waypoint.ForWorkload || t == waypoint.ForAll }

// --- step 4 ---------------------------------------------------------------

func (v *view) waypoint() Step {
	st := Step{Number: 4, Check: CheckWaypoint, State: Pass}
	ns := v.o.Namespace
	uses, keys := v.usages()
	if len(uses) == 0 {
		st.State = NotApplicable
		st.Evidence = append(st.Evidence, fmt.Sprintf("nothing in %s uses a waypoint: no %s on the namespace, its Services or its pods", ns, waypoint.UseLabel))
		for i := range v.s.Waypoints {
			w := &v.s.Waypoints[i]
			if w.Gateway != nil && w.Gateway.Spec.GatewayClassName == waypoint.ClassName {
				st.Evidence = append(st.Evidence, fmt.Sprintf("waypoint %s exists but nothing uses it (label the namespace or a Service %s=%s)", w.Key(), waypoint.UseLabel, w.Name))
			}
		}
		for _, e := range []string{v.s.ServicesErr, v.s.GatewaysErr, v.s.NamespaceErr} {
			if e != "" {
				st.Evidence = append(st.Evidence, "not seen: "+e)
			}
		}
		return st
	}
	if v.s.ServicesErr != "" {
		st.State = Fail
		st.Evidence = append(st.Evidence, v.s.ServicesErr+": the Services bound to a waypoint are not checked")
	}
	for _, key := range keys {
		u := uses[key]
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s=%s is on %s", waypoint.UseLabel, u.ref.Name, u))
		w := v.waypointFor(key)
		gatewayYAML := fmt.Sprintf("kubectl -n %s get gateway %s -o yaml", u.ref.Namespace, u.ref.Name)
		switch {
		case w == nil || (w.Gateway == nil && w.Err == ""):
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("no Gateway %s: %s=%s names a waypoint that does not exist, so that traffic stays L4 (no waypoint)",
				key, waypoint.UseLabel, u.ref.Name))
			if v.s.GatewaysErr != "" {
				st.Evidence = append(st.Evidence, "not seen: "+v.s.GatewaysErr)
			}
			st.Next = append(st.Next, fmt.Sprintf("istioctl waypoint apply -n %s --name %s, or correct the %s label", u.ref.Namespace, u.ref.Name, waypoint.UseLabel))
			continue
		case w.Err != "":
			st.State = Fail
			st.Evidence = append(st.Evidence, w.Err)
			st.Next = append(st.Next, gatewayYAML)
			continue
		case w.Gateway.Spec.GatewayClassName != waypoint.ClassName:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("Gateway %s has gatewayClassName %s, not %s: it is not a waypoint", key, w.Gateway.Spec.GatewayClassName, waypoint.ClassName))
			st.Next = append(st.Next, fmt.Sprintf("istioctl waypoint apply -n %s --name <another name>, and point %s at it", u.ref.Namespace, waypoint.UseLabel))
			continue
		}
		if ok, status := waypoint.Programmed(w.Gateway); ok {
			st.Evidence = append(st.Evidence, fmt.Sprintf("waypoint %s is Programmed for generation %d: %s", key, w.Gateway.Generation, status))
		} else {
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("waypoint %s is not Programmed: %s", key, status))
			st.Next = appendOnce(st.Next, gatewayYAML)
			st.Next = appendOnce(st.Next, "istioctl waypoint status --namespace "+u.ref.Namespace)
		}
		if line, ok := waypointPodsLine(w); ok {
			st.Evidence = append(st.Evidence, line)
		} else {
			st.State = Fail
			st.Evidence = append(st.Evidence, line)
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s describe pods -l %s=%s", u.ref.Namespace, waypoint.GatewayNameLabel, u.ref.Name))
		}
		t := v.trafficType(w)
		st.Evidence = append(st.Evidence, fmt.Sprintf("waypoint %s takes %s traffic (%s)", key, t, waypoint.ForLabel))
		if len(u.pods) > 0 && !takesWorkload(t) {
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("pods %s name waypoint %s, which takes %s traffic only: a pod's %s needs %s=%s or %s, so it has no effect",
				names(u.pods), key, t, waypoint.UseLabel, waypoint.ForLabel, waypoint.ForWorkload, waypoint.ForAll))
			st.Next = append(st.Next, fmt.Sprintf("kubectl -n %s label gateway %s %s=%s --overwrite, or label the Services instead", u.ref.Namespace, u.ref.Name, waypoint.ForLabel, waypoint.ForAll))
		}
		if v.s.ServicesErr == "" {
			v.boundServices(u, t, &st)
		}
	}
	return st
}

// waypointPodsLine describes a waypoint's pods; ok is false when none is ready.
func waypointPodsLine(w *Waypoint) (string, bool) {
	sel := waypoint.GatewayNameLabel + "=" + w.Name
	if w.PodsErr != "" {
		return w.PodsErr, false
	}
	var ready, other []string
	for i := range w.Pods {
		p := &w.Pods[i]
		if p.DeletionTimestamp == nil && kube.PodReady(*p) {
			ready = append(ready, p.Name+" on "+p.Spec.NodeName)
		} else {
			other = append(other, fmt.Sprintf("%s (%s, not ready)", p.Name, p.Status.Phase))
		}
	}
	if len(ready) == 0 {
		s := fmt.Sprintf("no ready waypoint pod (%s) in %s", sel, w.Namespace)
		if len(other) > 0 {
			s += ": " + names(other)
		}
		return s, false
	}
	return fmt.Sprintf("waypoint %s: %d/%d pods ready (%s): %s", w.Key(), len(ready), len(w.Pods), sel, names(ready)), true
}

// boundServices checks istio.io/WaypointBound on every Service that uses
// the waypoint, by its own label or its namespace's.
func (v *view) boundServices(u *usage, trafficType string, st *Step) {
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		b := serviceBinding(svc, v.s.Namespace)
		if b == nil || b.Waypoint != u.ref {
			continue
		}
		if !takesService(trafficType) {
			if b.Inherited {
				st.Evidence = append(st.Evidence, fmt.Sprintf("Service %s: not bound, the namespace's waypoint %s takes %s traffic only", svc.Name, u.ref.key(), trafficType))
				continue
			}
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("Service %s names waypoint %s, which takes %s traffic only: the label has no effect", svc.Name, u.ref.key(), trafficType))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s label gateway %s %s=%s --overwrite", u.ref.Namespace, u.ref.Name, waypoint.ForLabel, waypoint.ForService))
			continue
		}
		c := meta.FindStatusCondition(svc.Status.Conditions, waypoint.BoundCondition)
		switch {
		case c == nil:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("Service %s has no %s condition: istiod has not bound it to %s (%s)", svc.Name, waypoint.BoundCondition, u.ref.key(), waypoint.Conditions(svc.Status.Conditions)))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s get service %s -o jsonpath='{.status.conditions}'", svc.Namespace, svc.Name))
		case c.Status != metav1.ConditionTrue:
			st.State = Fail
			st.Evidence = append(st.Evidence, fmt.Sprintf("Service %s: %s=%s (%s: %s)", svc.Name, waypoint.BoundCondition, c.Status, c.Reason, c.Message))
			st.Next = appendOnce(st.Next, fmt.Sprintf("kubectl -n %s get service %s -o jsonpath='{.status.conditions}'", svc.Namespace, svc.Name))
		default:
			st.Evidence = append(st.Evidence, fmt.Sprintf("Service %s: %s=True (%s)", svc.Name, waypoint.BoundCondition, c.Reason))
		}
	}
}

// behindWaypoint maps each pod of the namespace in the mesh whose inbound
// traffic arrives from a waypoint to those waypoints: pods selected by a
// Service bound to a service waypoint, and pods bound to a workload
// waypoint. Only waypoints whose Gateway exists count (a missing one leaves
// traffic L4), and only pods meant for the mesh (ztunnel enforces nothing
// on the others, the waypoint's own pods among them).
func (v *view) behindWaypoint() map[string][]*Waypoint {
	out := map[string][]*Waypoint{}
	inMesh := map[string]bool{}
	for _, p := range v.meant {
		inMesh[p.Name] = true
	}
	add := func(pod string, w *Waypoint) {
		if !inMesh[pod] {
			return
		}
		for _, have := range out[pod] {
			if have == w {
				return
			}
		}
		out[pod] = append(out[pod], w)
	}
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		b := serviceBinding(svc, v.s.Namespace)
		if b == nil || len(svc.Spec.Selector) == 0 {
			continue
		}
		w := v.waypointFor(b.Waypoint.key())
		if w == nil || w.Gateway == nil || !takesService(v.trafficType(w)) {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for j := range v.s.Pods {
			if sel.Matches(labels.Set(v.s.Pods[j].Labels)) {
				add(v.s.Pods[j].Name, w)
			}
		}
	}
	for j := range v.s.Pods {
		p := &v.s.Pods[j]
		b := podBinding(p, v.s.Namespace)
		if b == nil {
			continue
		}
		w := v.waypointFor(b.Waypoint.key())
		if w == nil || w.Gateway == nil || !takesWorkload(v.trafficType(w)) {
			continue
		}
		add(p.Name, w)
	}
	return out
}

// waypointPeer is the identity a waypoint's connections carry: its pods'
// ServiceAccount, else the Gateway's gateway.istio.io/service-account, else
// the Gateway's name (istio/istio:pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go@master).
func (v *view) waypointPeers(w *Waypoint) []peer {
	sas := map[string]bool{}
	var ips []string
	for i := range w.Pods {
		p := &w.Pods[i]
		if p.Spec.ServiceAccountName != "" {
			sas[p.Spec.ServiceAccountName] = true
		}
		for _, ip := range p.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
	}
	if len(sas) == 0 {
		sa := w.Name
		if w.Gateway != nil && w.Gateway.Annotations[serviceAccountAnnotation] != "" {
			sa = w.Gateway.Annotations[serviceAccountAnnotation]
		}
		sas[sa] = true
	}
	var out []peer
	for sa := range sas {
		out = append(out, peer{TrustDomain: v.o.TrustDomain, Namespace: w.Namespace, ServiceAccount: sa, IPs: parseIPs(ips)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServiceAccount < out[j].ServiceAccount })
	return out
}

// podByName finds a pod of the namespace.
func (v *view) podByName(name string) *corev1.Pod {
	for i := range v.s.Pods {
		if v.s.Pods[i].Name == name {
			return &v.s.Pods[i]
		}
	}
	return nil
}
