//go:build e2e && controlplane

package ambient_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Only in the self-test's control-plane mesh (build tag controlplane): real
// istiod and istio-cni, and no ztunnel (its image does not exist here). What
// istio-cni does then decides whether an enrollment that cannot complete
// leaks plaintext: it writes the pod's redirection rules, cannot hand the
// pod to a ztunnel, and marks it ambient.istio.io/redirection=pending
// (cni/pkg/nodeagent/meshdataplane_linux.go@release-1.31 AddPodToMesh:
// "pod partially added, annotating with pending status"). The rules send the
// pod's traffic to ztunnel's ports, where nothing listens: traffic fails
// closed. Removing the label runs RemovePodFromMesh: rules deleted,
// annotation removed, traffic back, pods Ready again, no restart (the seed's rollback
// promise, on the CNI side).
var _ = Describe("istio-cni with no ztunnel: an enrollment that cannot complete fails closed and rolls back", Ordered, ContinueOnFailure, func() {
	var (
		s, out   *scenario.Scenario
		server   corev1.Pod
		outside  traffic.Client
		inMesh   traffic.Client
		before   map[string]ambient.PodState
		toServer traffic.Request
		toPeer   traffic.Request
	)
	BeforeAll(func(ctx SpecContext) {
		s, out = newScenario(ctx, "cninozt"), newScenario(ctx, "cninozt-out")
		Expect(s.Deploy(ctx, fixtures.Workload{Name: "server", Service: "server"}, fixtures.Workload{Name: "client"})).To(Succeed())
		Expect(out.Deploy(ctx, fixtures.Workload{Name: "outside"}, fixtures.Workload{Name: "peer", Service: "peer"})).To(Succeed())
		var err error
		server, err = s.Pod(ctx, "server")
		Expect(err).NotTo(HaveOccurred())
		zts, err := env.Kube.Pods(ctx, env.Shared.Mesh.Namespace, "app=ztunnel")
		Expect(err).NotTo(HaveOccurred())
		for _, z := range zts {
			Expect(z.Spec.NodeName == server.Spec.NodeName && kube.PodReady(z)).To(BeFalse(),
				"this check needs a node with istio-cni and no ready ztunnel; %s runs on %s", z.Name, z.Spec.NodeName)
		}
		outside, err = out.Client(ctx, "outside")
		Expect(err).NotTo(HaveOccurred())
		inMesh, err = s.Client(ctx, "client")
		Expect(err).NotTo(HaveOccurred())
		toServer = traffic.Request{URL: podURL(server, "/"), Timeout: 3 * time.Second}
		toPeer = traffic.Request{URL: out.HTTP("peer", "/"), Timeout: 3 * time.Second}
		before, err = s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
	})

	spec("ENROLL-NO-ZTUNNEL-CONTROL", func(ctx SpecContext) {
		expectTraffic(ctx, outside, toServer, traffic.And(traffic.OK(), traffic.ServedBy("server")))
		expectTraffic(ctx, inMesh, toPeer, traffic.And(traffic.OK(), traffic.ServedBy("peer")))
	})

	spec("ENROLL-NO-ZTUNNEL-PENDING", func(ctx SpecContext) {
		Expect(s.SetDataplaneMode(ctx, ambient.DataplaneModeAmbient)).To(Succeed())
		Expect(wait.For(ctx, "ambient.istio.io/redirection=pending on every pod in "+s.Namespace, env.Config.EnrollTimeout, func(ctx context.Context) (bool, string, error) {
			pods, err := s.Pods(ctx, "")
			if err != nil {
				return false, "", err
			}
			var states []string
			pending := 0
			for _, p := range ambient.Capturable(pods) {
				r := ambient.Redirection(&p)
				if r == ambient.RedirectionEnabled {
					return false, "", wait.Permanent(fmt.Errorf("pod %s is enabled with no ztunnel to accept it", p.Name))
				}
				if r == ambient.RedirectionPending {
					pending++
				}
				states = append(states, fmt.Sprintf("%s=%q", p.Name, r))
			}
			return pending == len(states) && pending > 0, strings.Join(states, ", "), nil
		})).To(Succeed())
	})

	// The kubelet's probes reach a pod through the host rule that SNATs them
	// to 169.254.7.127 for the IPs in the ipset istio-inpod-probes-v4, and
	// the pod's rules accept that source before they redirect to ztunnel.
	// istio-cni adds a pod's IP to that set as the last step of a complete
	// enrollment ("Add pod IP to ipset IF none of the above has failed",
	// cni/pkg/nodeagent/meshdataplane_linux.go@release-1.31 AddPodToMesh):
	// a pending pod's probes are redirected to 15006, where nothing listens.
	// So an enrollment without ztunnel takes the pods out of their Services.
	spec("ENROLL-NO-ZTUNNEL-NOT-READY", func(ctx SpecContext) {
		Expect(wait.For(ctx, "pod "+server.Name+" to fail its readiness probe and leave Service server's ready endpoints", env.Config.EnrollTimeout, func(ctx context.Context) (bool, string, error) {
			var p corev1.Pod
			if err := env.Kube.Res().Get(ctx, server.Name, s.Namespace, &p); err != nil {
				return false, "", err
			}
			ts, err := env.Kube.PodTroublesOf(ctx, s.Namespace, server.Name, kube.ReasonUnhealthy)
			if err != nil {
				return false, "", err
			}
			refused := slices.ContainsFunc(ts, func(t kube.PodTrouble) bool {
				return strings.Contains(t.Message, "Readiness probe failed") && strings.Contains(t.Message, "connection refused")
			})
			inService, err := env.Kube.ReadyEndpoint(ctx, s.Namespace, "server", server.Status.PodIP)
			if err != nil {
				return false, "", err
			}
			status := fmt.Sprintf("ready=%v, readiness probe refused=%v, ready endpoint of Service server=%v", kube.PodReady(p), refused, inService)
			return !kube.PodReady(p) && refused && !inService, status, nil
		})).To(Succeed())
	})

	spec("ENROLL-NO-ZTUNNEL-INBOUND-CLOSED", func(ctx SpecContext) {
		closed := traffic.Or(traffic.Class(wire.ClassRefused), traffic.Reset(), traffic.EOF(), traffic.Timeout())
		expectTraffic(ctx, outside, toServer, closed)
		expectEach(ctx, outside, toServer, 5, closed)
	})

	spec("ENROLL-NO-ZTUNNEL-OUTBOUND-CLOSED", func(ctx SpecContext) {
		closed := traffic.Or(traffic.Class(wire.ClassRefused), traffic.Reset(), traffic.EOF(), traffic.Timeout(), traffic.Class(wire.ClassDNS))
		expectTraffic(ctx, inMesh, toPeer, closed)
		expectEach(ctx, inMesh, toPeer, 5, closed)
	})

	spec("ENROLL-NO-ZTUNNEL-ROLLBACK", func(ctx SpecContext) {
		Expect(s.SetDataplaneMode(ctx, "")).To(Succeed())
		Expect(s.WaitUnenrolled(ctx, env.Config.EnrollTimeout)).To(Succeed())
		// The rules are gone, so the kubelet's probes reach the server again.
		Expect(env.Kube.DeploymentsReady(ctx, s.Namespace, env.Config.ReadyTimeout)).To(Succeed())
		expectTraffic(ctx, outside, toServer, traffic.And(traffic.OK(), traffic.ServedBy("server")))
		expectTraffic(ctx, inMesh, toPeer, traffic.And(traffic.OK(), traffic.ServedBy("peer")))
		after, err := s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(before, after)).To(BeEmpty())
	})
})
