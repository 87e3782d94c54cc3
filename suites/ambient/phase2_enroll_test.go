//go:build e2e

package ambient_test

import (
	corev1 "k8s.io/api/core/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// Seed, Phase 2: "Enable Ambient for One Namespace" with
// `kubectl label namespace test-app istio.io/dataplane-mode=ambient`.
// The seed checks pod labels; what proves enrollment is istio-cni's
// ambient.istio.io/redirection=enabled annotation (docs/istio-facts.md §2.3), reached
// without restarting any pod.
var _ = Describe("Phase 2: enable ambient for one namespace", Ordered, ContinueOnFailure, func() {
	var (
		s      *scenario.Scenario
		before map[string]ambient.PodState
		client traffic.Client
	)
	notOptedOut := func(p *corev1.Pod) bool { return !ambient.OptedOut(p) }

	BeforeAll(func(ctx SpecContext) {
		var err error
		s = newScenario(ctx, "enroll")
		Expect(s.Deploy(ctx,
			fixtures.Workload{Name: "echo-server", Service: "echo-server"},
			fixtures.Workload{Name: "echo-client"},
			fixtures.Workload{Name: "echo-none", PodLabels: map[string]string{ambient.DataplaneModeLabel: ambient.DataplaneModeNone}},
		)).To(Succeed())
		client, err = s.Client(ctx, "echo-client")
		Expect(err).NotTo(HaveOccurred())
		before, err = s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
	})

	spec("ENROLL-TRAFFIC-BEFORE", func(ctx SpecContext) {
		expectTraffic(ctx, client, traffic.Request{URL: s.HTTP("echo-server", "/")}, traffic.And(traffic.OK(), traffic.ServedBy("echo-server")))
	})

	spec("ENROLL-NAMESPACE-LABEL", func(ctx SpecContext) {
		Expect(s.SetDataplaneMode(ctx, ambient.DataplaneModeAmbient)).To(Succeed())
		Expect(s.WaitEnrolled(ctx, notOptedOut, env.Config.EnrollTimeout)).To(Succeed())
	})

	spec("ENROLL-POD-OPT-OUT", func(ctx SpecContext) {
		pods, err := s.Pods(ctx, "")
		Expect(err).NotTo(HaveOccurred())
		var enrolledSiblings, optedOut []corev1.Pod
		for _, p := range pods {
			if ambient.OptedOut(&p) {
				optedOut = append(optedOut, p)
			} else if ambient.Enrolled(&p) {
				enrolledSiblings = append(enrolledSiblings, p)
			}
		}
		Expect(optedOut).NotTo(BeEmpty(), "the opted-out fixture is missing")
		// Control: the opt-out only means something where enrollment works.
		Expect(enrolledSiblings).NotTo(BeEmpty(),
			"precondition failed: no pod in %s is enrolled, so an opt-out cannot be told apart from a mesh that enrolls nothing", s.Namespace)
		for _, p := range optedOut {
			Expect(ambient.Redirection(&p)).To(BeEmpty(), "pod %s has %s=%s despite %s=%s",
				p.Name, ambient.RedirectionAnnotation, ambient.Redirection(&p), ambient.DataplaneModeLabel, ambient.DataplaneModeNone)
		}
	})

	spec("ENROLL-NO-RESTART", func(ctx SpecContext) {
		after, err := s.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(ambient.Restarted(before, after)).To(BeEmpty())
	})

	spec("ENROLL-TRAFFIC-AFTER", func(ctx SpecContext) {
		expectTraffic(ctx, client, traffic.Request{URL: s.HTTP("echo-server", "/")}, traffic.And(traffic.OK(), traffic.ServedBy("echo-server")))
	})
})
