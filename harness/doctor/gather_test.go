package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// serve loads a canned snapshot into a fake API server: the objects it
// holds, and for each node's ztunnel a metrics page (OpenMetrics, as
// ztunnel writes it) with the same gauges and counters, plus a series of
// another namespace that must not be picked up.
func serve(t *testing.T, s Snapshot) (*fakeAPI, *kube.Kube) {
	t.Helper()
	f := newFakeAPI(t)
	if s.Namespace != nil {
		f.add("Namespace", s.Namespace)
	}
	pods := map[string]bool{}
	addPods := func(list []corev1.Pod) {
		for i := range list {
			if k := list[i].Namespace + "/" + list[i].Name; !pods[k] {
				pods[k] = true
				f.add("Pod", &list[i])
			}
		}
	}
	addPods(s.Pods)
	for i := range s.Services {
		f.add("Service", &s.Services[i])
	}
	for i := range s.Nodes {
		f.add("Node", &s.Nodes[i])
	}
	for i := range s.Istiod {
		f.add("Deployment", &s.Istiod[i])
	}
	for _, d := range []DaemonSet{s.Ztunnel, s.CNI} {
		if d.Object != nil {
			f.add("DaemonSet", d.Object)
		}
		addPods(d.Pods)
	}
	for i := range s.Waypoints {
		if s.Waypoints[i].Gateway != nil {
			f.add("Gateway", s.Waypoints[i].Gateway)
		}
		addPods(s.Waypoints[i].Pods)
	}
	if s.WaypointClass != nil {
		f.add("GatewayClass", s.WaypointClass)
	}
	for _, ap := range s.AuthorizationPolicies {
		f.add("AuthorizationPolicy", ap)
	}
	for _, pa := range s.PeerAuthentications {
		f.add("PeerAuthentication", pa)
	}
	for _, sc := range s.ZtunnelMetrics {
		if sc.Pod == "" || sc.Err != "" {
			continue
		}
		var b strings.Builder
		if sc.ActiveProxies != nil {
			fmt.Fprintf(&b, "# HELP %s The total number current workloads with active proxies (unstable).\n# TYPE %s gauge\n%s %g\n", MetricActiveProxies, MetricActiveProxies, MetricActiveProxies, *sc.ActiveProxies)
		}
		if sc.PendingProxies != nil {
			fmt.Fprintf(&b, "# TYPE %s gauge\n%s %g\n", MetricPendingProxies, MetricPendingProxies, *sc.PendingProxies)
		}
		fmt.Fprintf(&b, "# TYPE istio_tcp_connections_opened counter\n")
		for _, se := range sc.Opened {
			fmt.Fprintf(&b, "%s{%s=%q,%s=%q,%s=%q} %g\n", evidence.MetricTCPOpened,
				evidence.LabelReporter, se.Labels[evidence.LabelReporter],
				evidence.LabelConnectionSecurityPolicy, se.Labels[evidence.LabelConnectionSecurityPolicy],
				evidence.LabelDestinationWorkloadNamespace, se.Labels[evidence.LabelDestinationWorkloadNamespace], se.Value)
		}
		fmt.Fprintf(&b, "%s{reporter=\"destination\",connection_security_policy=\"mutual_tls\",source_workload_namespace=\"other\",destination_workload_namespace=\"other\"} 99\n# EOF\n", evidence.MetricTCPOpened)
		f.proxy[meshNS+"/"+sc.Pod+":15020/metrics"] = b.String()
	}
	_, k := f.start()
	return f, k
}

func gather(t *testing.T, k *kube.Kube, opts Options) Snapshot {
	t.Helper()
	s, err := Gather(context.Background(), k, opts)
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	return s
}

// judgedAlike compares two reports but for the API server's address.
func judgedAlike(t *testing.T, got, want Report) {
	t.Helper()
	for i := range want.Steps {
		g, w := got.Steps[i], want.Steps[i]
		if i == 0 {
			g.Evidence, w.Evidence = g.Evidence[1:], w.Evidence[1:]
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("step %d from the cluster:\n  %s %v\n  next %v\nfrom the canned snapshot:\n  %s %v\n  next %v",
				i, g.State, strings.Join(g.Evidence, "\n    "), g.Next, w.State, strings.Join(w.Evidence, "\n    "), w.Next)
		}
	}
}

// Gather reads every piece Judge needs: a healthy mesh with a waypoint and
// policies read back from an API server judges exactly like the canned
// snapshot it was loaded from.
func TestGatherReadsWhatJudgeNeeds(t *testing.T) {
	canned := withWaypoint(healthy())
	canned.AuthorizationPolicies = append(canned.AuthorizationPolicies,
		policy(t, fixtures.AllowFrontendAndWaypointToAPI, cond(waypoint.ZtunnelAccepted, "True", "Accepted", "attached to ztunnel", 1)),
		policyYAML(t, "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: global, namespace: istio-system}\nspec: {action: DENY, rules: [{from: [{source: {namespaces: [evil]}}]}]}"))
	canned.PeerAuthentications = append(canned.PeerAuthentications, peerAuth(t, fixtures.PeerAuthStrict))
	_, k := serve(t, canned)
	got := gather(t, k, Options{Namespace: testNS})
	if got.ServerVersion != "v1.34.4" || got.Namespace == nil || len(got.Pods) != len(canned.Pods) || len(got.Services) != len(canned.Services) ||
		len(got.Nodes) != 2 || len(got.Istiod) != 1 || got.Ztunnel.Object == nil || len(got.Ztunnel.Pods) != 2 || len(got.CNI.Pods) != 2 ||
		len(got.Waypoints) != 1 || got.Waypoints[0].Gateway == nil || len(got.Waypoints[0].Pods) != 1 ||
		len(got.AuthorizationPolicies) != 2 || len(got.PeerAuthentications) != 1 || len(got.ZtunnelMetrics) != 2 {
		t.Fatalf("gathered:\n%+v", got)
	}
	for _, e := range []string{got.NamespaceErr, got.PodsErr, got.ServicesErr, got.NodesErr, got.IstiodErr, got.Ztunnel.Err, got.CNI.Err, got.GatewaysErr, got.WaypointClassErr} {
		if e != "" {
			t.Errorf("unexpected read error: %s", e)
		}
	}
	if len(got.PolicyErrs) > 0 {
		t.Errorf("policy errors: %v", got.PolicyErrs)
	}
	if sc := got.ZtunnelMetrics[worker2]; sc.Pod != "ztunnel-worker2" || len(sc.Opened) != 2 || sc.ActiveProxies == nil || *sc.ActiveProxies != 3 {
		t.Errorf("worker2 scrape: %+v (the other namespace's series must be left out)", sc)
	}
	if c := got.AuthorizationPolicies[0].Status.GetConditions(); len(c) != 1 || c[0].GetType() != waypoint.ZtunnelAccepted || c[0].GetObservedGeneration() != 1 {
		t.Errorf("policy status not read: %v", c)
	}
	judgedAlike(t, Judge(got), Judge(canned))
	if Judge(got).Failed() {
		t.Fatalf("healthy cluster failed: %+v", Judge(got))
	}
}

// The self-test's cluster, read through the API: only the mesh steps fail.
func TestGatherOnAClusterWithNoMesh(t *testing.T) {
	canned := noMesh()
	_, k := serve(t, canned)
	got := gather(t, k, Options{Namespace: testNS})
	r := Judge(got)
	judgedAlike(t, r, Judge(canned))
	want := []State{Pass, Pass, Fail, Fail, NotApplicable, Pass, Fail}
	for i, st := range r.Steps {
		if st.State != want[i] {
			t.Errorf("step %d: %s, want %s: %v", i, st.State, want[i], st.Evidence)
		}
	}
	expect(t, r.Steps[3], Fail, "no ztunnel pods: is the mesh installed?")
}

// A piece that cannot be read is recorded for its step, not fatal.
func TestGatherRecordsWhatItCannotRead(t *testing.T) {
	f := newFakeAPI(t)
	var res []fakeResource
	for _, r := range standardResources() {
		if r.group != "security.istio.io" { // no Istio CRDs
			res = append(res, r)
		}
	}
	f.resources = res
	s := healthy()
	f.add("Namespace", s.Namespace)
	for i := range s.Pods {
		f.add("Pod", &s.Pods[i])
	}
	f.add("DaemonSet", s.Ztunnel.Object)
	for i := range s.Ztunnel.Pods {
		f.add("Pod", &s.Ztunnel.Pods[i])
	}
	f.status["nodes"] = http.StatusForbidden
	_, k := f.start()
	got := gather(t, k, Options{Namespace: testNS})
	if !strings.Contains(got.NodesErr, "listing nodes") || !strings.Contains(got.NodesErr, "forbidden") {
		t.Errorf("NodesErr = %q", got.NodesErr)
	}
	if len(got.PolicyErrs) != 4 || !strings.Contains(got.PolicyErrs[0], "listing AuthorizationPolicies in shop") {
		t.Errorf("PolicyErrs = %q", got.PolicyErrs)
	}
	// The ztunnel pods answer no metrics here: recorded per node.
	if sc := got.ZtunnelMetrics[worker1]; !strings.Contains(sc.Err, "via the API server proxy") {
		t.Errorf("worker1 scrape: %+v", sc)
	}
	r := Judge(got)
	expect(t, r.Steps[5], Fail, "listing AuthorizationPolicies in shop")
	expect(t, r.Steps[3], Fail, "the metrics of ztunnel pod ztunnel-worker1 on worker1 could not be read")
	expect(t, r.Steps[3], Fail, "DaemonSet ztunnel: 2/2 scheduled pods ready")
}

func TestGatherFailsFastOnANamespaceThatDoesNotExist(t *testing.T) {
	f := newFakeAPI(t)
	_, k := f.start()
	start := time.Now()
	_, err := Gather(context.Background(), k, Options{Namespace: "nope", CallTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), `namespace "nope" does not exist on http://127.0.0.1:`) || !strings.Contains(err.Error(), "kubectl get namespaces") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestGatherFailsFastOnAnUnreachableAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	k, err := kube.New(&rest.Config{Host: "https://" + addr}, "", "", "t")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Gather(context.Background(), k, Options{Namespace: testNS, CallTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "API server https://"+addr+" is not reachable") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestGatherIsBoundedOnAStalledAPIServer(t *testing.T) {
	for _, prefix := range []string{"/version", "/api", "/api/v1/namespaces/shop"} {
		t.Run(prefix, func(t *testing.T) {
			s := healthy()
			f := newFakeAPI(t)
			f.add("Namespace", s.Namespace)
			f.stallPrefix = prefix
			_, k := f.start()
			start := time.Now()
			_, err := Gather(context.Background(), k, Options{Namespace: testNS, CallTimeout: 500 * time.Millisecond})
			if err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

// A stalled metrics endpoint costs one call bound and is recorded.
func TestGatherBoundsEachCall(t *testing.T) {
	s := healthy()
	f, k := serve(t, s)
	f.stallPrefix = "/api/v1/namespaces/istio-system/pods/http:ztunnel-worker1"
	start := time.Now()
	got := gather(t, k, Options{Namespace: testNS, CallTimeout: 500 * time.Millisecond})
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
	if sc := got.ZtunnelMetrics[worker1]; sc.Err == "" {
		t.Fatalf("a stalled scrape was not recorded: %+v", sc)
	}
	if sc := got.ZtunnelMetrics[worker2]; sc.Err != "" || sc.ActiveProxies == nil {
		t.Fatalf("the other node's scrape: %+v", sc)
	}
}

func TestGatherNamesRefusedCredentials(t *testing.T) {
	f := newFakeAPI(t)
	f.status["/version"] = http.StatusUnauthorized
	_, k := f.start()
	_, err := Gather(context.Background(), k, Options{Namespace: testNS})
	if err == nil || !strings.Contains(err.Error(), "refused the kubeconfig's credentials") {
		t.Fatalf("err = %v", err)
	}
}

func TestGatherRejectsAServerThatIsNotKubernetes(t *testing.T) {
	f := newFakeAPI(t)
	f.versionBody = "<html>hello</html>"
	_, k := f.start()
	_, err := Gather(context.Background(), k, Options{Namespace: testNS})
	if err == nil || !strings.Contains(err.Error(), "not a Kubernetes version") {
		t.Fatalf("err = %v", err)
	}
}

func TestGatherRejectsBadInput(t *testing.T) {
	if _, err := Gather(context.Background(), nil, Options{Namespace: testNS}); err == nil || !strings.Contains(err.Error(), "no cluster client") {
		t.Fatalf("nil client: %v", err)
	}
	f := newFakeAPI(t)
	_, k := f.start()
	if _, err := Gather(context.Background(), k, Options{}); err == nil || !strings.Contains(err.Error(), "no namespace given") {
		t.Fatalf("no namespace: %v", err)
	}
	if len(f.paths) != 0 {
		t.Fatalf("bad options still reached the API server: %v", f.paths)
	}
}

// A use-waypoint naming a Gateway in another namespace is looked up there;
// a missing one is recorded as missing.
func TestGatherFollowsUseWaypointNamespace(t *testing.T) {
	s := withWaypoint(healthy())
	s.Namespace.Labels[useWaypointNamespaceLabel] = "shared"
	s.Waypoints[0].Namespace, s.Waypoints[0].Gateway.Namespace = "shared", "shared"
	s.Waypoints[0].Pods[0].Namespace = "shared"
	s.Services[0].Labels[waypoint.UseLabel] = "bogus"
	_, k := serve(t, s)
	got := gather(t, k, Options{Namespace: testNS})
	keys := map[string]bool{}
	for _, w := range got.Waypoints {
		keys[w.Key()] = w.Gateway != nil
	}
	if !reflect.DeepEqual(keys, map[string]bool{"shared/waypoint": true, "shop/bogus": false}) {
		t.Fatalf("waypoints gathered: %v", keys)
	}
	expect(t, Judge(got).Steps[4], Fail, "no Gateway shop/bogus", "waypoint shared/waypoint is Programmed")
}

func TestGatherStopsWithItsContext(t *testing.T) {
	_, k := serve(t, healthy())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Gather(ctx, k, Options{Namespace: testNS}); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
