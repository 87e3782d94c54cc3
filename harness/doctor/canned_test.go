package doctor

import (
	"strings"
	"testing"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// Canned objects: a namespace "shop" with frontend on worker1 and api-1,
// api-2 on worker2, in a healthy ambient mesh.

const (
	testNS   = "shop"
	meshNS   = "istio-system"
	worker1  = "worker1"
	worker2  = "worker2"
	wpName   = "waypoint"
	wpPodSA  = "waypoint"
	testHost = "https://10.0.0.1:6443"
)

type podOpt func(*corev1.Pod)

func withLabel(k, v string) podOpt { return func(p *corev1.Pod) { p.Labels[k] = v } }
func redirection(v string) podOpt {
	return func(p *corev1.Pod) {
		if v == "" {
			delete(p.Annotations, ambient.RedirectionAnnotation)
			return
		}
		p.Annotations[ambient.RedirectionAnnotation] = v
	}
}
func hostNetwork() podOpt { return func(p *corev1.Pod) { p.Spec.HostNetwork = true } }
func notReady() podOpt {
	return func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
}
func serviceAccount(sa string) podOpt { return func(p *corev1.Pod) { p.Spec.ServiceAccountName = sa } }
func podIP(ip string) podOpt {
	return func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}} }
}

// appPod is a ready, enrolled pod of the namespace.
func appPod(name, node, app string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS,
			Labels:      map[string]string{"app": app},
			Annotations: map[string]string{ambient.RedirectionAnnotation: ambient.RedirectionEnabled}},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: app},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// meshPod is a ready pod of a mesh DaemonSet on node.
func meshPod(name, node string, lbl map[string]string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: meshNS, Labels: lbl, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func ztunnelPod(node string, opts ...podOpt) corev1.Pod {
	return meshPod("ztunnel-"+node, node, map[string]string{"app": "ztunnel"}, opts...)
}

func cniPod(node string, opts ...podOpt) corev1.Pod {
	return meshPod("istio-cni-node-"+node, node, map[string]string{"k8s-app": "istio-cni-node"}, opts...)
}

func daemonSet(name string, selector map[string]string, n int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: meshNS},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: selector}},
		Status:     appsv1.DaemonSetStatus{DesiredNumberScheduled: n, NumberReady: n},
	}
}

func node(name string) corev1.Node { return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }

func istiodDeployment(ready int32) appsv1.Deployment {
	one := int32(1)
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: meshNS, Labels: map[string]string{"app": "istiod"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "discovery"}}}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: ready},
	}
}

func service(name, app string, lbl map[string]string) corev1.Service {
	if lbl == nil {
		lbl = map[string]string{}
	}
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: lbl},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}},
	}
}

func f64(v float64) *float64 { return &v }

// opened is one istio_tcp_connections_opened_total series.
func opened(reporter, security string, v float64) evidence.Series {
	return evidence.Series{Value: v, Labels: map[string]string{
		evidence.LabelReporter: reporter, evidence.LabelConnectionSecurityPolicy: security,
		evidence.LabelDestinationWorkloadNamespace: testNS,
	}}
}

// healthy is a snapshot of a working ambient mesh and an enrolled namespace.
func healthy() Snapshot {
	return Snapshot{
		Options:       Options{Namespace: testNS, MeshNamespace: meshNS, TrustDomain: "cluster.local"},
		Server:        testHost,
		ServerVersion: "v1.34.4",
		Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS,
			Labels: map[string]string{ambient.DataplaneModeLabel: ambient.DataplaneModeAmbient}}},
		Pods: []corev1.Pod{
			appPod("frontend", worker1, "frontend"),
			appPod("api-1", worker2, "api"),
			appPod("api-2", worker2, "api"),
		},
		Services: []corev1.Service{service("api", "api", nil), service("frontend", "frontend", nil)},
		Nodes:    []corev1.Node{node(worker1), node(worker2)},
		Istiod:   []appsv1.Deployment{istiodDeployment(1)},
		Ztunnel: DaemonSet{Name: mesh.Ztunnel, Object: daemonSet(mesh.Ztunnel, map[string]string{"app": "ztunnel"}, 2),
			Pods: []corev1.Pod{ztunnelPod(worker1), ztunnelPod(worker2)}},
		CNI: DaemonSet{Name: mesh.CNI, Object: daemonSet(mesh.CNI, map[string]string{"k8s-app": "istio-cni-node"}, 2),
			Pods: []corev1.Pod{cniPod(worker1), cniPod(worker2)}},
		ZtunnelMetrics: map[string]ZtunnelScrape{
			worker1: {Node: worker1, Pod: "ztunnel-" + worker1, ActiveProxies: f64(1), PendingProxies: f64(0),
				Opened: []evidence.Series{opened("source", "mutual_tls", 5)}},
			worker2: {Node: worker2, Pod: "ztunnel-" + worker2, ActiveProxies: f64(3), PendingProxies: f64(0),
				Opened: []evidence.Series{opened("destination", "mutual_tls", 5), opened("destination", "unknown", 2)}},
		},
	}
}

// noMesh is the self-test's cluster: the CRDs only, a labelled namespace
// whose pods run, nothing of Istio running.
func noMesh() Snapshot {
	s := healthy()
	for i := range s.Pods {
		delete(s.Pods[i].Annotations, ambient.RedirectionAnnotation)
	}
	s.Istiod = nil
	s.Ztunnel = DaemonSet{Name: mesh.Ztunnel}
	s.CNI = DaemonSet{Name: mesh.CNI}
	_, err := evidence.ZtunnelFor(nil, worker1)
	s.ZtunnelMetrics = map[string]ZtunnelScrape{
		worker1: {Node: worker1, Err: err.Error()},
		worker2: {Node: worker2, Err: err.Error()},
	}
	return s
}

// withWaypoint binds the namespace to a Programmed waypoint whose pod runs
// as the ServiceAccount "waypoint", and marks the Services bound.
func withWaypoint(s Snapshot) Snapshot {
	s.Namespace.Labels[waypoint.UseLabel] = wpName
	gw := waypoint.Gateway(testNS, wpName, "")
	gw.Generation = 1
	gw.Status.Conditions = []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: 1},
		{Type: string(gatewayv1.GatewayConditionProgrammed), Status: metav1.ConditionTrue, Reason: "Programmed", ObservedGeneration: 1},
	}
	wpPod := appPod("waypoint-7d9", worker1, wpName, serviceAccount(wpPodSA), podIP("10.244.1.9"),
		withLabel(waypoint.GatewayNameLabel, wpName), withLabel(ambient.DataplaneModeLabel, ambient.DataplaneModeNone))
	delete(wpPod.Annotations, ambient.RedirectionAnnotation)
	s.Pods = append(s.Pods, wpPod)
	s.Waypoints = []Waypoint{{Namespace: testNS, Name: wpName, Gateway: gw, Pods: []corev1.Pod{wpPod}}}
	wpSvc := service(wpName, wpName, map[string]string{gatewayManagedLabel: managedByMeshController})
	s.Services = append(s.Services, wpSvc)
	for i := range s.Services {
		if s.Services[i].Name == wpName {
			continue
		}
		s.Services[i].Status.Conditions = []metav1.Condition{{Type: waypoint.BoundCondition, Status: metav1.ConditionTrue,
			Reason: waypoint.WaypointAccepted, Message: "Successfully attached to waypoint " + testNS + "/" + wpName}}
	}
	return s
}

// policy decodes one of the suite's policy fixtures (the seed's manifests).
func policy(t *testing.T, name string, conds ...*metav1alpha1.IstioCondition) *securityv1.AuthorizationPolicy {
	t.Helper()
	b, err := fixtures.Policy(name, fixtures.PolicyData{Namespace: testNS, Waypoint: wpName, RequestPrincipal: "issuer/subject"})
	if err != nil {
		t.Fatal(err)
	}
	ap := &securityv1.AuthorizationPolicy{}
	if err := yaml.UnmarshalStrict(b, ap); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ap.Generation = 1
	ap.Status.Conditions = conds
	return ap
}

// policyYAML decodes an AuthorizationPolicy written in the test.
func policyYAML(t *testing.T, doc string) *securityv1.AuthorizationPolicy {
	t.Helper()
	ap := &securityv1.AuthorizationPolicy{}
	if err := yaml.UnmarshalStrict([]byte(doc), ap); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return ap
}

func cond(typ, status, reason, msg string, gen int64) *metav1alpha1.IstioCondition {
	return &metav1alpha1.IstioCondition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen}
}

// step returns step n of a judged snapshot.
func step(t *testing.T, s Snapshot, n int) Step {
	t.Helper()
	r := Judge(s)
	if len(r.Steps) != 7 {
		t.Fatalf("%d steps, want 7", len(r.Steps))
	}
	if r.Steps[n].Number != n {
		t.Fatalf("step %d is numbered %d", n, r.Steps[n].Number)
	}
	return r.Steps[n]
}

// expect checks a step's state and that its evidence (and next, if given)
// contain each substring.
func expect(t *testing.T, st Step, state State, evidence ...string) {
	t.Helper()
	if st.State != state {
		t.Errorf("step %d (%s): state %q, want %q\nevidence:\n  %s\nnext:\n  %s", st.Number, st.Check, st.State, state,
			strings.Join(st.Evidence, "\n  "), strings.Join(st.Next, "\n  "))
	}
	all := strings.Join(st.Evidence, "\n")
	for _, e := range evidence {
		if !strings.Contains(all, e) {
			t.Errorf("step %d evidence lacks %q:\n  %s", st.Number, e, strings.Join(st.Evidence, "\n  "))
		}
	}
}

func expectNext(t *testing.T, st Step, next ...string) {
	t.Helper()
	all := strings.Join(st.Next, "\n")
	for _, n := range next {
		if !strings.Contains(all, n) {
			t.Errorf("step %d next lacks %q:\n  %s", st.Number, n, strings.Join(st.Next, "\n  "))
		}
	}
}
