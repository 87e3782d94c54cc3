//go:build e2e

package ambient_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// l7World is the seed's Phase 4 setting: the app api (one version, or
// several behind the Service api) and a frontend in an ambient namespace,
// plus the waypoints the spec adds.
type l7World struct {
	s        *scenario.Scenario
	frontend traffic.Client
	enrolled error // why the namespace is not enrolled, if it is not
	// programmed holds, per waypoint name, nil or why it never became
	// Programmed with a ready pod. Specs go on without it and fail on their
	// own evidence ("no waypoint in path").
	programmed map[string]error
}

// l7Setting says what a world holds besides frontend and api.
type l7Setting struct {
	// Versions: each version v is a Deployment api-v (app api, version v)
	// with its own Service api-v, and the Service api selects them all;
	// without, api is one Deployment and Service.
	Versions []string
	// Extra workloads, deployed with the others before the namespace is
	// enrolled: a pod created in an enrolled namespace cannot start until
	// istio-cni hands it to a ztunnel, so a fixture deployed after
	// enrollment would make a mesh without ztunnel fail on a readiness wait
	// instead of on the spec's own evidence.
	Extra []fixtures.Workload
}

// newL7World creates the namespace (removed by DeferCleanup), deploys
// frontend, api and the setting's extra workloads, waits for them, and
// enrolls the namespace.
func newL7World(ctx context.Context, prefix string, set ...l7Setting) *l7World {
	GinkgoHelper()
	w := &l7World{programmed: map[string]error{}}
	var err error
	var st l7Setting
	if len(set) > 0 {
		st = set[0]
	}
	versions := st.Versions
	w.s = newScenario(ctx, prefix)
	ws := []fixtures.Workload{{Name: "frontend"}}
	if len(versions) == 0 {
		ws = append(ws, fixtures.Workload{Name: "api", Service: "api"})
	}
	ws = append(ws, st.Extra...)
	for _, v := range versions {
		ws = append(ws, fixtures.Workload{Name: "api-" + v, App: "api", Version: v, ServiceAccount: "api",
			Service: "api-" + v, ServiceSelectsVersion: true})
	}
	Expect(w.s.Deploy(ctx, ws...)).To(Succeed())
	if len(versions) > 0 {
		Expect(w.s.Apply(ctx, fixtures.ServiceAPI)).To(Succeed())
	}
	w.frontend, err = w.s.Client(ctx, "frontend")
	Expect(err).NotTo(HaveOccurred())
	if w.enrolled = w.s.Enroll(ctx); w.enrolled != nil {
		AddReportEntry("not enrolled", w.enrolled.Error())
		GinkgoWriter.Printf("namespace %s is not enrolled (%v); the specs below judge traffic anyway\n", w.s.Namespace, w.enrolled)
	}
	return w
}

// addWaypoints creates waypoints (name → istio.io/waypoint-for, "" for
// none) as Gateways through the API, then waits for all of them within one
// WAYPOINT_TIMEOUT. It returns the first failure and records each.
func (w *l7World) addWaypoints(ctx context.Context, waypoints map[string]string) error {
	for name, wpFor := range waypoints {
		if err := waypoint.Create(ctx, env.Kube, waypoint.Gateway(w.s.Namespace, name, wpFor)); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(env.Config.WaypointTimeout)
	var first error
	for name := range waypoints {
		bound := max(time.Until(deadline), time.Second)
		pod, rd, err := waypoint.WaitProgrammed(ctx, env.Kube, w.s.Namespace, name, bound, env.Config.PullTimeout)
		w.programmed[name] = err
		if err != nil {
			AddReportEntry("waypoint "+name, err.Error())
			if first == nil {
				first = err
			}
			continue
		}
		recordWaypoint(pod, rd)
	}
	return first
}

// recordWaypoint reports how a waypoint came up (image pull apart from
// readiness) and the image it runs, with the digest from the pod status.
func recordWaypoint(pod corev1.Pod, rd waypoint.Readiness) {
	name := pod.Labels[waypoint.GatewayNameLabel]
	AddReportEntry("waypoint "+name+" readiness", rd.String())
	for _, cs := range pod.Status.ContainerStatuses {
		AddReportEntry(runinfo.EntryWaypointImage, runinfo.Component{
			Name: "waypoint " + pod.Namespace + "/" + name, Image: cs.Image, ImageID: cs.ImageID, Pods: 1, Ready: 1})
	}
}

// addWaypoint creates one waypoint for services (istioctl's default).
func (w *l7World) addWaypoint(ctx context.Context, name string) error {
	return w.addWaypoints(ctx, map[string]string{name: ""})
}

// useWaypoint labels the namespace istio.io/use-waypoint=name ("" removes it).
func (w *l7World) useWaypoint(ctx context.Context, name string) error {
	var v *string
	if name != "" {
		v = &name
	}
	return env.Kube.SetNamespaceLabel(ctx, w.s.Namespace, waypoint.UseLabel, v)
}

// withWaypoint is addWaypoint + useWaypoint on the namespace; a waypoint
// that never becomes Programmed is recorded, not fatal.
func (w *l7World) withWaypoint(ctx context.Context, name string) {
	GinkgoHelper()
	if err := w.addWaypoint(ctx, name); err != nil {
		GinkgoWriter.Printf("%v; the specs below judge traffic anyway\n", err)
	}
	Expect(w.useWaypoint(ctx, name)).To(Succeed())
}

// api is a request to the Service api.
func (w *l7World) api(method, path string, headers ...string) traffic.Request {
	return traffic.Request{URL: w.s.HTTP("api", path), Method: method, Headers: headers}
}

// principal is the SPIFFE id of a ServiceAccount of this namespace.
func (w *l7World) principal(sa string) string {
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", env.Config.TrustDomain, w.s.Namespace, sa)
}

// viaWaypoint is Istio's check.And(check.OK(), IsL7()) with the server named.
func viaWaypoint(app string) traffic.Check {
	return traffic.And(traffic.ViaWaypoint(), traffic.OK(), traffic.ServedBy(app))
}

// podURL is the URL of app's pod by IP (workload-addressed traffic).
func podURL(p corev1.Pod, path string) string {
	return fmt.Sprintf("http://%s:%d%s", p.Status.PodIP, fixtures.HTTPPort, path)
}

// workloadBoundTo is a server (with its Service) bound to waypoint wp by the
// istio.io/use-waypoint label on its Service or on its pods.
func workloadBoundTo(app, bindOn, wp string) fixtures.Workload {
	wl := fixtures.Workload{Name: app, Service: app}
	label := map[string]string{waypoint.UseLabel: wp}
	if bindOn == "pod" {
		wl.PodLabels = label
	} else {
		wl.ServiceLabels = label
	}
	return wl
}
