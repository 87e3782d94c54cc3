//go:build e2e

package ambient_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/doctor"
)

// Seed, "Debug Flows": the six checks a user runs by hand when traffic
// breaks, as `ambient-e2e doctor` runs them (harness/doctor): on a healthy
// mesh every step passes for an enrolled namespace. The Kubernetes steps are
// the control: they pass on any cluster, so a failing mesh step is the
// mesh's, not the doctor's.
var _ = Describe("Debug flow: the seed's six checks (ambient-e2e doctor) on an enrolled namespace", Ordered, ContinueOnFailure, func() {
	var report doctor.Report
	BeforeAll(func(ctx SpecContext) {
		s := newScenario(ctx, "doctor")
		Expect(s.Deploy(ctx, fixtures.Workload{Name: "server", Service: "server"}, fixtures.Workload{Name: "client"})).To(Succeed())
		if err := s.Enroll(ctx); err != nil {
			AddReportEntry("not enrolled", err.Error())
		}
		opts := doctor.Options{Namespace: s.Namespace, MeshNamespace: env.Shared.Mesh.Namespace, TrustDomain: env.Config.TrustDomain, CallTimeout: 10 * time.Second}
		snap, err := doctor.Gather(ctx, env.Kube, opts)
		Expect(err).NotTo(HaveOccurred(), "doctor could not read the cluster")
		report = doctor.Judge(snap)
		var b strings.Builder
		Expect(report.Render(&b)).To(Succeed())
		AddReportEntry("doctor", b.String())
	})

	spec("DEBUG-FLOW-KUBERNETES-STEPS", func() {
		for _, n := range []int{0, 1} {
			st := step(report, n)
			Expect(st.State).To(Equal(doctor.Pass), "step %d (%s): %s", n, st.Check, strings.Join(st.Evidence, "; "))
		}
	})

	// Which steps must pass here, not merely not fail: the namespace is
	// enrolled and has pods, so identity (2), interception (3), policies (5)
	// and the CNI (6) apply and must pass; it uses no waypoint, so the
	// waypoint step (4) is not applicable, and must say that is why.
	spec("DEBUG-FLOW-MESH-STEPS", func() {
		var failed []string
		for _, st := range report.Steps {
			evidence := strings.Join(st.Evidence, "; ")
			switch {
			case st.State == doctor.Fail:
				failed = append(failed, fmt.Sprintf("step %d (%s) fails: %s", st.Number, st.Check, evidence))
			case st.State == doctor.NotApplicable && st.Number != 4:
				failed = append(failed, fmt.Sprintf("step %d (%s) is not applicable where it must pass: %s", st.Number, st.Check, evidence))
			case st.State == doctor.NotApplicable && !strings.Contains(evidence, "uses a waypoint"):
				failed = append(failed, fmt.Sprintf("step 4 (%s) is not applicable for another reason than the namespace using no waypoint: %s", st.Check, evidence))
			}
		}
		Expect(report.Steps).To(HaveLen(7), "the doctor's steps 0 to 6")
		Expect(failed).To(BeEmpty())
	})
})

func step(r doctor.Report, n int) doctor.Step {
	GinkgoHelper()
	for _, s := range r.Steps {
		if s.Number == n {
			return s
		}
	}
	Fail(fmt.Sprintf("the doctor's report has no step %d", n))
	return doctor.Step{}
}
