package doctor

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

func TestHealthyMeshPassesEveryStep(t *testing.T) {
	r := Judge(healthy())
	want := []State{Pass, Pass, Pass, Pass, NotApplicable, Pass, Pass}
	for i, st := range r.Steps {
		if st.State != want[i] {
			t.Errorf("step %d: %s, want %s: %v", i, st.State, want[i], st.Evidence)
		}
	}
	if r.Failed() {
		t.Fatal("a healthy mesh failed")
	}
	expect(t, r.Steps[0], Pass, "API server https://10.0.0.1:6443 answered: Kubernetes v1.34.4", "namespace shop exists", "3 pods listed in shop")
	expect(t, r.Steps[1], Pass, "namespace shop has istio.io/dataplane-mode=ambient")
	expect(t, r.Steps[2], Pass, "3/3 pods have ambient.istio.io/redirection=enabled",
		"identity spiffe://cluster.local/ns/shop/sa/api: api-1, api-2", "identity spiffe://cluster.local/ns/shop/sa/frontend: frontend",
		"istiod issues the certificates: istiod 1/1 ready")
	expect(t, r.Steps[3], Pass, "DaemonSet ztunnel: 2/2 nodes with a ready pod",
		"worker2: ztunnel ztunnel-worker2 ready, workload_manager_active_proxy_count=3 covers the 2 pods of shop enrolled there: api-1, api-2",
		"worker2: 7 connections of shop in istio_tcp_connections_opened_total (reporter/connection_security_policy: destination/mutual_tls 5, destination/unknown 2)")
	expect(t, r.Steps[4], NotApplicable, "nothing in shop uses a waypoint")
	expect(t, r.Steps[5], Pass, "no AuthorizationPolicy or PeerAuthentication applies to shop")
	expect(t, r.Steps[6], Pass, "istio-cni-node ready on 2/2 nodes hosting pods of shop meant for the mesh: worker1, worker2")
	for _, st := range r.Steps {
		if len(st.Next) > 0 {
			t.Errorf("step %d passes but has next steps %v", st.Number, st.Next)
		}
	}
}

// The self-test's cluster: only the CRDs. The mesh steps fail with their
// reason; Kubernetes and the label pass; nothing uses a waypoint.
func TestNoMeshAtAll(t *testing.T) {
	r := Judge(noMesh())
	expect(t, r.Steps[0], Pass, "namespace shop exists")
	expect(t, r.Steps[1], Pass, "istio.io/dataplane-mode=ambient")
	expect(t, r.Steps[2], Fail, "0/3 pods have ambient.istio.io/redirection=enabled",
		"frontend on worker1 has no ambient.istio.io/redirection annotation (no istio-cni-node pods: is the mesh installed?)",
		"no istio-cni-node DaemonSet or pods in istio-system: istio-cni writes this annotation (is the mesh installed?)",
		"no istiod Deployment (app=istiod) in istio-system")
	expect(t, r.Steps[3], Fail, "no ztunnel pods: is the mesh installed? (no DaemonSet istio-system/ztunnel)")
	expect(t, r.Steps[4], NotApplicable)
	expect(t, r.Steps[5], Pass)
	expect(t, r.Steps[6], Fail, "no istio-cni-node pods: is the mesh installed? (no DaemonSet istio-system/istio-cni-node)")
	expectNext(t, r.Steps[3], "kubectl -n istio-system get pods -l app=ztunnel -o wide")
	if !r.Failed() {
		t.Fatal("no mesh, yet the report did not fail")
	}
}

func TestNamespaceLabel(t *testing.T) {
	t.Run("absent, no pod labelled", func(t *testing.T) {
		s := noMesh()
		delete(s.Namespace.Labels, ambient.DataplaneModeLabel)
		st := step(t, s, 1)
		expect(t, st, Fail, "namespace shop has no istio.io/dataplane-mode label", "no pod of shop carries istio.io/dataplane-mode=ambient either")
		expectNext(t, st, "kubectl label namespace shop istio.io/dataplane-mode=ambient")
		// Nothing is meant to be enrolled, so the enrollment steps do not apply.
		expect(t, step(t, s, 2), NotApplicable, "no pod of shop is meant to be in the mesh",
			"not judged, not selected (no istio.io/dataplane-mode=ambient on it or its namespace): api-1, api-2, frontend")
	})
	t.Run("wrong value", func(t *testing.T) {
		s := healthy()
		s.Namespace.Labels[ambient.DataplaneModeLabel] = "Ambient"
		expect(t, step(t, s, 1), Fail, `namespace shop has istio.io/dataplane-mode="Ambient", not "ambient"`)
	})
	t.Run("pods labelled individually", func(t *testing.T) {
		s := healthy()
		delete(s.Namespace.Labels, ambient.DataplaneModeLabel)
		s.Pods[1].Labels[ambient.DataplaneModeLabel] = ambient.DataplaneModeAmbient
		expect(t, step(t, s, 1), Pass, "namespace shop has no istio.io/dataplane-mode label",
			"1/3 pods carry istio.io/dataplane-mode=ambient themselves: api-1")
		// frontend and api-2 are not meant to be enrolled now, but still annotated: fine.
		expect(t, step(t, s, 2), Pass, "1/1 pods have ambient.istio.io/redirection=enabled")
	})
	t.Run("namespace unreadable", func(t *testing.T) {
		s := healthy()
		s.Namespace, s.NamespaceErr = nil, `reading namespace shop: namespaces "shop" is forbidden`
		st := step(t, s, 1)
		expect(t, st, Fail, "the labels of namespace shop could not be read: reading namespace shop: namespaces \"shop\" is forbidden")
		expect(t, step(t, s, 0), Pass, "is forbidden (its pods are read anyway)")
	})
	t.Run("kube-system is excluded by istio-cni", func(t *testing.T) {
		s := healthy()
		s.Options.Namespace, s.Namespace.Name = "kube-system", "kube-system"
		expect(t, step(t, s, 1), Fail, "istio-cni excludes kube-system by default")
	})
}

func TestIdentity(t *testing.T) {
	t.Run("pending is named", func(t *testing.T) {
		s := healthy()
		redirection(ambient.RedirectionPending)(&s.Pods[2])
		st := step(t, s, 2)
		expect(t, st, Fail, "2/3 pods have ambient.istio.io/redirection=enabled",
			"api-2 on worker2 is ambient.istio.io/redirection=pending: rules in place, no ztunnel accepted the pod (ztunnel pod ztunnel-worker2 on worker2 is ready)")
		expectNext(t, st, "kubectl -n istio-system logs ztunnel-worker2 --tail=50 (the ztunnel on worker2; step 3)")
		if len(st.Next) != 1 {
			t.Errorf("next: %v", st.Next)
		}
	})
	t.Run("hostNetwork pod ignored", func(t *testing.T) {
		s := healthy()
		s.Pods = append(s.Pods, appPod("node-exporter", worker1, "exporter", hostNetwork(), redirection("")))
		expect(t, step(t, s, 2), Pass, "3/3 pods have ambient.istio.io/redirection=enabled",
			"not judged, hostNetwork (istio-cni never captures it): node-exporter")
	})
	t.Run("opted-out, sidecar, finished and unscheduled pods ignored", func(t *testing.T) {
		s := healthy()
		s.Pods = append(s.Pods,
			appPod("legacy", worker1, "legacy", redirection(""), withLabel(ambient.DataplaneModeLabel, ambient.DataplaneModeNone)),
			appPod("injected", worker1, "injected", redirection(""), func(p *corev1.Pod) { p.Annotations[sidecarStatusAnnotation] = "{}" }),
			appPod("job-1", worker1, "job", redirection(""), func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
			appPod("waiting", "", "waiting", redirection(""), func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }),
		)
		expect(t, step(t, s, 2), Pass, "3/3 pods have",
			"not judged, opted out (istio.io/dataplane-mode=none): legacy",
			"not judged, sidecar-injected (a sidecar wins over ambient): injected",
			"not judged, finished: job-1", "not judged, not scheduled yet: waiting")
	})
	t.Run("no annotation points at the node's CNI", func(t *testing.T) {
		s := healthy()
		redirection("")(&s.Pods[0])
		s.CNI.Pods = s.CNI.Pods[1:] // none on worker1
		st := step(t, s, 2)
		expect(t, st, Fail, "frontend on worker1 has no ambient.istio.io/redirection annotation (no istio-cni-node pod on node worker1)")
		expectNext(t, st, "kubectl -n istio-system get pods -l k8s-app=istio-cni-node -o wide")
		s = healthy()
		redirection("")(&s.Pods[0])
		st = step(t, s, 2)
		expect(t, st, Fail, "frontend on worker1 has no ambient.istio.io/redirection annotation (istio-cni-node pod istio-cni-node-worker1 on worker1 is ready)")
		expectNext(t, st, "kubectl -n istio-system logs istio-cni-node-worker1 --tail=50 (istio-cni on worker1 enrolls its pods; step 6)")
	})
	t.Run("istiod not ready", func(t *testing.T) {
		s := healthy()
		s.Istiod = []appsv1.Deployment{istiodDeployment(0)}
		expect(t, step(t, s, 2), Fail, "istiod is not ready (istiod 0/1 ready): no certificates are issued")
	})
	t.Run("trust domain", func(t *testing.T) {
		s := healthy()
		s.Options.TrustDomain = "corp.example"
		expect(t, step(t, s, 2), Pass, "identity spiffe://corp.example/ns/shop/sa/frontend")
	})
	t.Run("no pods", func(t *testing.T) {
		s := healthy()
		s.Pods = nil
		expect(t, step(t, s, 2), NotApplicable, "no pods in shop")
	})
}

func TestZtunnelIntercepts(t *testing.T) {
	t.Run("missing on one node", func(t *testing.T) {
		s := healthy()
		s.Ztunnel.Pods = s.Ztunnel.Pods[:1] // only worker1
		st := step(t, s, 3)
		expect(t, st, Fail, "no ztunnel pod on node worker2 (ztunnel pods: ztunnel-worker1 on worker1)",
			"DaemonSet ztunnel: 1/2 nodes with a ready pod; missing on worker2",
			"worker1: ztunnel ztunnel-worker1 ready")
	})
	t.Run("not ready", func(t *testing.T) {
		s := healthy()
		notReady()(&s.Ztunnel.Pods[1])
		expect(t, step(t, s, 3), Fail, "ztunnel pod ztunnel-worker2 on worker2 is not ready")
	})
	t.Run("proxies fewer pods than are enrolled", func(t *testing.T) {
		s := healthy()
		sc := s.ZtunnelMetrics[worker2]
		sc.ActiveProxies = f64(1)
		s.ZtunnelMetrics[worker2] = sc
		st := step(t, s, 3)
		expect(t, st, Fail, "worker2: ztunnel ztunnel-worker2 proxies 1 pods (workload_manager_active_proxy_count), fewer than the 2 pods of shop enrolled there: api-1, api-2")
		expectNext(t, st, "istioctl ztunnel-config workload ztunnel-worker2.istio-system --workload-namespace shop")
	})
	t.Run("metrics unreadable", func(t *testing.T) {
		s := healthy()
		s.ZtunnelMetrics[worker1] = ZtunnelScrape{Node: worker1, Pod: "ztunnel-worker1", Err: "GET istio-system/ztunnel-worker1:15020/metrics via the API server proxy: forbidden"}
		st := step(t, s, 3)
		expect(t, st, Fail, "the metrics of ztunnel pod ztunnel-worker1 on worker1 could not be read: GET istio-system/ztunnel-worker1:15020/metrics")
		expectNext(t, st, "kubectl get --raw /api/v1/namespaces/istio-system/pods/ztunnel-worker1:15020/proxy/metrics")
	})
	t.Run("no gauge", func(t *testing.T) {
		s := healthy()
		sc := s.ZtunnelMetrics[worker1]
		sc.ActiveProxies = nil
		s.ZtunnelMetrics[worker1] = sc
		expect(t, step(t, s, 3), Fail, "reports no workload_manager_active_proxy_count")
	})
	t.Run("no traffic is evidence, not a failure", func(t *testing.T) {
		s := healthy()
		for n, sc := range s.ZtunnelMetrics {
			sc.Opened = nil
			s.ZtunnelMetrics[n] = sc
		}
		expect(t, step(t, s, 3), Pass, "worker1: no connection of shop counted in istio_tcp_connections_opened_total yet (not a failure: no traffic?)")
	})
	t.Run("pending proxies are shown", func(t *testing.T) {
		s := healthy()
		sc := s.ZtunnelMetrics[worker2]
		sc.PendingProxies = f64(2)
		s.ZtunnelMetrics[worker2] = sc
		expect(t, step(t, s, 3), Pass, "worker2: ztunnel ztunnel-worker2 has 2 pods waiting to be proxied (workload_manager_pending_proxy_count)")
	})
	t.Run("nothing meant for the mesh", func(t *testing.T) {
		s := healthy()
		delete(s.Namespace.Labels, ambient.DataplaneModeLabel)
		expect(t, step(t, s, 3), NotApplicable, "nothing for ztunnel to intercept", "DaemonSet ztunnel: 2/2 nodes")
	})
	t.Run("no nodes readable: DaemonSet status", func(t *testing.T) {
		s := healthy()
		s.Nodes, s.NodesErr = nil, "listing nodes: forbidden"
		expect(t, step(t, s, 3), Pass, "DaemonSet ztunnel: 2/2 scheduled pods ready")
	})
}

func TestCNI(t *testing.T) {
	t.Run("missing on a node", func(t *testing.T) {
		s := healthy()
		s.CNI.Pods = s.CNI.Pods[:1]
		st := step(t, s, 6)
		expect(t, st, Fail, "no istio-cni-node pod on node worker2, which hosts pods of shop",
			"istio-cni-node ready on 1/2 nodes hosting pods of shop meant for the mesh: worker1")
		expectNext(t, st, "kubectl -n istio-system get pods -l k8s-app=istio-cni-node -o wide")
	})
	t.Run("not ready", func(t *testing.T) {
		s := healthy()
		notReady()(&s.CNI.Pods[0])
		s.CNI.Pods[0].Status.Phase = corev1.PodPending
		expect(t, step(t, s, 6), Fail, "istio-cni-node pod istio-cni-node-worker1 on worker1 is not ready (Pending)")
	})
	t.Run("nothing meant for the mesh: the DaemonSet as a whole", func(t *testing.T) {
		s := healthy()
		delete(s.Namespace.Labels, ambient.DataplaneModeLabel)
		expect(t, step(t, s, 6), Pass, "DaemonSet istio-cni-node: 2/2 nodes with a ready pod")
		s.CNI.Object.Status.NumberReady = 1
		s.Nodes, s.NodesErr = nil, "listing nodes: forbidden"
		expect(t, step(t, s, 6), Fail, "DaemonSet istio-cni-node: 1/2 scheduled pods ready")
	})
	t.Run("DaemonSet unreadable", func(t *testing.T) {
		s := healthy()
		s.CNI.Err = "reading DaemonSet istio-system/istio-cni-node: forbidden"
		expect(t, step(t, s, 6), Fail, "reading DaemonSet istio-system/istio-cni-node: forbidden")
	})
}

func TestWaypoint(t *testing.T) {
	t.Run("healthy", func(t *testing.T) {
		s := withWaypoint(healthy())
		st := step(t, s, 4)
		expect(t, st, Pass, "istio.io/use-waypoint=waypoint is on the namespace",
			"waypoint shop/waypoint is Programmed for generation 1",
			"waypoint shop/waypoint: 1/1 pods ready (gateway.networking.k8s.io/gateway-name=waypoint): waypoint-7d9 on worker1",
			"waypoint shop/waypoint takes service traffic",
			"Service api: istio.io/WaypointBound=True (WaypointAccepted)", "Service frontend: istio.io/WaypointBound=True")
		if strings.Contains(strings.Join(st.Evidence, "\n"), "Service waypoint:") {
			t.Errorf("the waypoint's own Service was judged as a user: %v", st.Evidence)
		}
		if r := Judge(s); r.Failed() {
			t.Fatalf("a healthy waypoint failed: %+v", r.Steps)
		}
		// The waypoint's own pod opts out of the mesh: not an application pod.
		expect(t, step(t, s, 2), Pass, "3/3 pods have", "not judged, waypoint proxies (their template opts them out): waypoint-7d9")
		if st := step(t, s, 1); strings.Contains(strings.Join(st.Evidence, "\n"), "opted out") {
			t.Errorf("the waypoint pod is reported as an opted-out application pod: %v", st.Evidence)
		}
	})
	t.Run("not Programmed", func(t *testing.T) {
		s := withWaypoint(healthy())
		gw := s.Waypoints[0].Gateway
		gw.Status.Conditions[1] = metav1.Condition{Type: "Programmed", Status: metav1.ConditionFalse, Reason: "Pending", Message: "Waiting for controller"}
		st := step(t, s, 4)
		expect(t, st, Fail, "waypoint shop/waypoint is not Programmed: Accepted=True (Accepted: ); Programmed=False (Pending: Waiting for controller)")
		expectNext(t, st, "kubectl -n shop get gateway waypoint -o yaml", "istioctl waypoint status --namespace shop")
	})
	t.Run("Programmed for an older generation", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Gateway.Generation = 2
		expect(t, step(t, s, 4), Fail, "Programmed=True is for generation 1, the Gateway is at 2")
	})
	t.Run("no conditions: no controller", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Gateway.Status.Conditions = nil
		expect(t, step(t, s, 4), Fail, "no status conditions: nothing has picked up gatewayClassName istio-waypoint (is istiod running?)")
	})
	t.Run("bogus use-waypoint", func(t *testing.T) {
		s := healthy()
		s.Services[0].Labels[waypoint.UseLabel] = "bogus"
		st := step(t, s, 4)
		expect(t, st, Fail, "istio.io/use-waypoint=bogus is on Services api",
			"no Gateway shop/bogus: istio.io/use-waypoint=bogus names a waypoint that does not exist, so that traffic stays L4")
		expectNext(t, st, "istioctl waypoint apply -n shop --name bogus")
	})
	t.Run("waypoint in another namespace", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Namespace.Labels[useWaypointNamespaceLabel] = "shared"
		st := step(t, s, 4)
		expect(t, st, Fail, "no Gateway shared/waypoint")
		s.Waypoints[0].Namespace = "shared"
		s.Waypoints[0].Gateway.Namespace = "shared"
		expect(t, step(t, s, 4), Pass, "waypoint shared/waypoint is Programmed")
	})
	t.Run("no ready pod", func(t *testing.T) {
		s := withWaypoint(healthy())
		notReady()(&s.Waypoints[0].Pods[0])
		expect(t, step(t, s, 4), Fail, "no ready waypoint pod (gateway.networking.k8s.io/gateway-name=waypoint) in shop: waypoint-7d9 (Running, not ready)")
	})
	t.Run("not a waypoint class", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Gateway.Spec.GatewayClassName = "istio"
		expect(t, step(t, s, 4), Fail, "Gateway shop/waypoint has gatewayClassName istio, not istio-waypoint")
	})
	t.Run("Service not bound", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Services[0].Status.Conditions = nil
		s.Services[1].Status.Conditions[0].Status = metav1.ConditionFalse
		s.Services[1].Status.Conditions[0].Reason = "WaypointIsNotReady"
		s.Services[1].Status.Conditions[0].Message = `waypoint "shop/waypoint" is not ready`
		st := step(t, s, 4)
		expect(t, st, Fail, "Service api has no istio.io/WaypointBound condition: istiod has not bound it to shop/waypoint",
			`Service frontend: istio.io/WaypointBound=False (WaypointIsNotReady: waypoint "shop/waypoint" is not ready)`)
	})
	t.Run("pod label needs a workload waypoint", func(t *testing.T) {
		s := withWaypoint(healthy())
		delete(s.Namespace.Labels, waypoint.UseLabel)
		s.Pods[1].Labels[waypoint.UseLabel] = wpName
		st := step(t, s, 4)
		expect(t, st, Fail, "pods api-1 name waypoint shop/waypoint, which takes service traffic only")
		s.Waypoints[0].Gateway.Labels = map[string]string{waypoint.ForLabel: waypoint.ForWorkload}
		expect(t, step(t, s, 4), Pass, "waypoint shop/waypoint takes workload traffic")
	})
	t.Run("class default traffic type", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.WaypointClass = &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: waypoint.ClassName, Labels: map[string]string{waypoint.ForLabel: waypoint.ForAll}}}
		expect(t, step(t, s, 4), Pass, "waypoint shop/waypoint takes all traffic")
	})
	t.Run("namespace workload waypoint leaves Services unbound", func(t *testing.T) {
		s := withWaypoint(healthy())
		s.Waypoints[0].Gateway.Labels = map[string]string{waypoint.ForLabel: waypoint.ForWorkload}
		for i := range s.Services {
			s.Services[i].Status.Conditions = nil
		}
		expect(t, step(t, s, 4), Pass, "Service api: not bound, the namespace's waypoint shop/waypoint takes workload traffic only")
		s.Services[0].Labels[waypoint.UseLabel] = wpName
		expect(t, step(t, s, 4), Fail, "Service api names waypoint shop/waypoint, which takes workload traffic only")
	})
	t.Run("unused waypoint", func(t *testing.T) {
		s := withWaypoint(healthy())
		delete(s.Namespace.Labels, waypoint.UseLabel)
		expect(t, step(t, s, 4), NotApplicable, "waypoint shop/waypoint exists but nothing uses it")
	})
	t.Run("opt-out with none", func(t *testing.T) {
		s := healthy()
		s.Services[0].Labels[waypoint.UseLabel] = waypointNone
		expect(t, step(t, s, 4), NotApplicable)
	})
}

func TestGatherFailedReport(t *testing.T) {
	r := GatherFailed(Options{Namespace: "shop"}, errors.New(`doctor: namespace "shop" does not exist on https://x: check the name`))
	if !r.Failed() || len(r.Steps) != 7 || r.MeshNamespace != DefaultMeshNamespace {
		t.Fatalf("%+v", r)
	}
	expect(t, r.Steps[0], Fail, `namespace "shop" does not exist`)
	for _, st := range r.Steps[1:] {
		expect(t, st, NotApplicable, "not checked: the cluster could not be read (step 0)")
	}
}

func TestEmptySnapshotFails(t *testing.T) {
	r := Judge(Snapshot{Options: Options{Namespace: "shop"}})
	expect(t, r.Steps[0], Fail, "no answer of the API server recorded")
}

func TestPodsUnlistedFailsStepZeroOnly(t *testing.T) {
	s := healthy()
	s.Pods, s.PodsErr = nil, `listing pods in shop: pods is forbidden`
	r := Judge(s)
	expect(t, r.Steps[0], Fail, "listing pods in shop: pods is forbidden")
	expectNext(t, r.Steps[0], "kubectl auth can-i list pods -n shop")
	expect(t, r.Steps[2], NotApplicable, "not checked: the pods of shop could not be listed (step 0)")
	expect(t, r.Steps[3], NotApplicable, "could not be listed")
}

func TestLongListsAreCapped(t *testing.T) {
	s := healthy()
	for i := range 20 {
		s.Pods = append(s.Pods, appPod(strings.Repeat("x", i+1), worker1, "x", redirection(ambient.RedirectionPending)))
	}
	st := step(t, s, 2)
	if len(st.Evidence) > 20 {
		t.Fatalf("%d evidence lines", len(st.Evidence))
	}
	expect(t, st, Fail, "… and 12 more like these")
}
