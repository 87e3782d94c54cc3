//go:build e2e

// Package ambient_test is the Istio ambient conformance suite. Its specs
// follow the rollout phases of the seed article: install, enroll one
// namespace, verify L4 security, add waypoints, expand and roll back.
package ambient_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Every spec is registered from the catalogue (suites/catalogue) by spec():
// its profile (install, enroll, l4, l7, perf), claim, evidence kind and the
// disruptive label, which LABEL_FILTER selects by, are derived from there.

var (
	env         *setup.Env    // this process's view of the run
	provisioned *setup.Shared // set on process 1 only, for teardown
)

func TestAmbient(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Istio ambient conformance")
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	started := time.Now()
	cfg, err := config.FromEnv()
	Expect(err).NotTo(HaveOccurred(), "invalid configuration")
	sh, err := setup.Provision(ctx, cfg, GinkgoWriter)
	provisioned = &sh
	// What the run ran on, for the reports, also when provisioning failed.
	var e *setup.Env
	if sh.Kubeconfig != "" {
		e, _ = setup.Attach(cfg, sh)
	}
	if werr := setup.WriteEnvironment(cfg, setup.Environment(ctx, cfg, e, sh, started)); werr != nil {
		GinkgoWriter.Printf("cannot record the environment: %v\n", werr)
	}
	Expect(err).NotTo(HaveOccurred(), "provisioning the run")
	AddReportEntry("run", sh.RunID)
	AddReportEntry("kubernetes", sh.ServerVersion)
	AddReportEntry("istio", sh.IstioVersion)
	for _, w := range sh.Warnings {
		AddReportEntry("warning", w)
	}
	return sh.Encode()
}, func(ctx SpecContext, data []byte) {
	cfg, err := config.FromEnv()
	Expect(err).NotTo(HaveOccurred())
	wait.SetDefault(wait.Waiter{Out: GinkgoWriter, Every: cfg.ProgressEvery})
	sh, err := setup.Decode(data)
	Expect(err).NotTo(HaveOccurred())
	env, err = setup.Attach(cfg, sh)
	Expect(err).NotTo(HaveOccurred(), "attaching to the cluster")
})

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if provisioned == nil {
		return
	}
	cfg, err := config.FromEnv()
	Expect(err).NotTo(HaveOccurred())
	e := env
	if e == nil { // provisioning failed half-way: tear down what it made
		if provisioned.Kubeconfig == "" {
			if provisioned.ClusterCreated && !cfg.KeepCluster {
				Expect(cluster.Attach(provisioned.KindCluster, "", "").Delete()).To(Succeed())
			}
			return
		}
		if e, err = setup.Attach(cfg, *provisioned); err != nil {
			return
		}
	}
	Expect(setup.Teardown(ctx, e, GinkgoWriter)).To(Succeed(), "teardown")
})

// newScenario creates a labelled namespace for a spec and registers its
// removal (DeferCleanup runs on success, failure and interrupt).
func newScenario(ctx context.Context, prefix string) *scenario.Scenario {
	GinkgoHelper()
	s, err := scenario.New(ctx, env, prefix, nil)
	Expect(err).NotTo(HaveOccurred())
	track(s)
	DeferCleanup(func(ctx SpecContext) {
		defer untrack(s)
		Expect(s.Cleanup(ctx)).To(Succeed())
	})
	return s
}

// expectEach sends q n times from client, each on a new connection, and
// expects every result to pass check; it returns the results.
func expectEach(ctx context.Context, client traffic.Client, q traffic.Request, n int, check traffic.Check, description ...any) []wire.Result {
	GinkgoHelper()
	q.Count = n
	rs, err := client.Send(ctx, q)
	Expect(err).NotTo(HaveOccurred(), fmt.Sprintf("%s → %s", client.Pod, q.URL))
	Expect(traffic.Each(check, rs)).To(Succeed(), description...)
	return rs
}

// expectTraffic sends requests from client until check passes, bounded by
// POLICY_TIMEOUT: a Service just created or a policy just applied takes a
// moment to be programmed everywhere. The failure carries the last result
// ("expected reset, got 200 from backend-…"); a pass that took several
// tries is reported as "passed after N tries".
//
// Where the client's or the destination's namespace never enrolled (its
// Enroll ran to ENROLL_TIMEOUT), no mesh path can still converge: the check
// is bounded by SETTLE_TIMEOUT instead (at least one whole request), which
// covers a Service's endpoints settling, and the failure says why.
func expectTraffic(ctx context.Context, client traffic.Client, q traffic.Request, check traffic.Check) wire.Result {
	GinkgoHelper()
	start := time.Now()
	bound, why := env.Config.PolicyTimeout, ""
	if ns, err := unenrolled(client, q); err != nil {
		// At least one whole request (and the exec around it) must fit,
		// or a timeout could never be observed.
		bound = min(bound, max(env.Config.SettleTimeout, q.PerRequest()+3*time.Second))
		why = fmt.Sprintf(" (bounded by %s (SETTLE_TIMEOUT, at least one request), not POLICY_TIMEOUT: namespace %s never enrolled)", bound, ns)
	}
	r, tries, err := client.UntilTries(ctx, q, check, bound)
	Expect(err).NotTo(HaveOccurred(), fmt.Sprintf("%s → %s%s", client.Pod, q.URL, why))
	if tries > 1 {
		AddReportEntry(runinfo.EntryRetries, runinfo.Retries{What: client.Pod + " → " + q.URL, Tries: tries, Seconds: time.Since(start).Seconds()})
	}
	return r
}

// unenrolled returns the namespace, of this process's live scenarios, that
// the client runs in or q is addressed to (by Service name) and whose
// enrollment failed, with why.
func unenrolled(client traffic.Client, q traffic.Request) (string, error) {
	live.Lock()
	defer live.Unlock()
	for _, s := range live.scenarios {
		if s.Namespace != client.Namespace && !strings.Contains(q.URL, "."+s.Namespace+".svc") {
			continue
		}
		if err := s.NotEnrolled(); err != nil {
			return s.Namespace, err
		}
	}
	return "", nil
}

// expectRefusedByPolicy proves that the connections from the client pod to
// the server pod since `since` were refused by authorization policy, not
// merely reset: the server node's ztunnel (the one that enforces) logs at
// least n of them with "connection closed due to policy rejection: <reason>"
// (docs/review-findings.md #1 and #5). reason is evidence.ReasonNotAllowed or
// evidence.ReasonExplicitlyDeniedPrefix + "<ns>/<name>".
func expectRefusedByPolicy(ctx context.Context, client traffic.Client, server corev1.Pod, reason string, since time.Time, n int) {
	GinkgoHelper()
	clientIP := podIP(ctx, client)
	exp := evidence.DenyExpectation{SrcIP: clientIP, DstIP: server.Status.PodIP, Reason: reason, Connections: n}
	what := fmt.Sprintf("the ztunnel on %s to log %d policy rejections %s → %s", server.Spec.NodeName, n, client.Pod, server.Name)
	err := wait.For(ctx, what, env.Config.PolicyTimeout, func(ctx context.Context) (bool, string, error) {
		entries, err := env.Ztunnel().AccessLog(ctx, server.Spec.NodeName, since)
		if err != nil {
			return false, "", notMeshed(err)
		}
		if err := evidence.CheckDenied(entries, exp); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	Expect(err).NotTo(HaveOccurred())
}

// podIP is the IP of a client's pod.
func podIP(ctx context.Context, c traffic.Client) string {
	GinkgoHelper()
	var p corev1.Pod
	Expect(env.Kube.Res().Get(ctx, c.Pod, c.Namespace, &p)).To(Succeed())
	Expect(p.Status.PodIP).NotTo(BeEmpty(), "pod %s/%s has no IP", c.Namespace, c.Pod)
	return p.Status.PodIP
}

// notMeshed makes "there is no ztunnel to read" permanent: no wait fixes it.
func notMeshed(err error) error {
	if strings.Contains(err.Error(), "no ztunnel pod") {
		return wait.Permanent(err)
	}
	return err
}
