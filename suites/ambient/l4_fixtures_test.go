//go:build e2e

package ambient_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/sniffverdict"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/sniffer"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
)

// l4World is the seed's Phase 3 setting: a backend and two callers with
// their own identities in an ambient namespace, and a caller outside the mesh.
type l4World struct {
	mesh, outside *scenario.Scenario
	clients       map[string]traffic.Client // frontend, other, outside
	enrolled      error                     // why the mesh namespace is not enrolled, if it is not
}

// newL4World creates both namespaces (removed by DeferCleanup), deploys the
// workloads, and enrolls the mesh namespace. Enrollment failing is recorded,
// not fatal: each spec then fails on its own evidence.
func newL4World(ctx context.Context, prefix string) *l4World {
	GinkgoHelper()
	w := &l4World{clients: map[string]traffic.Client{}}
	var err error
	w.mesh, err = scenario.New(ctx, env, prefix, nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) { Expect(w.mesh.Cleanup(ctx)).To(Succeed()) })
	w.outside, err = scenario.New(ctx, env, prefix+"-out", nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) { Expect(w.outside.Cleanup(ctx)).To(Succeed()) })

	Expect(w.mesh.Deploy(ctx,
		fixtures.Workload{Name: "backend", Service: "backend"},
		fixtures.Workload{Name: "frontend"},
		fixtures.Workload{Name: "other"},
	)).To(Succeed())
	Expect(w.outside.Deploy(ctx, fixtures.Workload{Name: "outside"})).To(Succeed())
	for _, name := range []string{"frontend", "other"} {
		w.clients[name], err = w.mesh.Client(ctx, name)
		Expect(err).NotTo(HaveOccurred())
	}
	w.clients["outside"], err = w.outside.Client(ctx, "outside")
	Expect(err).NotTo(HaveOccurred())
	if w.enrolled = w.mesh.Enroll(ctx); w.enrolled != nil {
		AddReportEntry("not enrolled", w.enrolled.Error())
		GinkgoWriter.Printf("namespace %s is not enrolled (%v); the specs below judge traffic anyway\n", w.mesh.Namespace, w.enrolled)
	}
	return w
}

// backend is the URL every L4 row calls.
func (w *l4World) backend() traffic.Request {
	return traffic.Request{URL: w.mesh.HTTP("backend", "/")}
}

// errNotYetChecked marks a control that has not run (yet), so the specs that
// depend on it skip instead of passing.
var errNotYetChecked = errors.New("the control spec did not run")

// capturePair sniffs on the server's node while the client sends requests
// carrying a fresh canary, and returns the capture of that pair only.
func capturePair(ctx context.Context, s *scenario.Scenario, serverApp, clientApp string, requests int) (wire.SniffSummary, error) {
	server, err := s.Pod(ctx, serverApp)
	if err != nil {
		return wire.SniffSummary{}, err
	}
	clientPod, err := s.Pod(ctx, clientApp)
	if err != nil {
		return wire.SniffSummary{}, err
	}
	canary := sniffer.Canary("pair")
	sn, err := sniffer.Start(ctx, env.Kube, sniffer.Options{
		Namespace: s.Namespace, Node: server.Spec.NodeName, Image: env.Shared.ProbeImage,
		IPs: []string{server.Status.PodIP, clientPod.Status.PodIP}, Canaries: []string{canary}, Duration: 15 * time.Second,
	}, env.Config.ReadyTimeout)
	if err != nil {
		return wire.SniffSummary{}, err
	}
	defer func() { _ = sn.Delete(context.WithoutCancel(ctx)) }()
	client := traffic.Client{Kube: env.Kube, Namespace: s.Namespace, Pod: clientPod.Name}
	rs, err := client.Send(ctx, traffic.Request{URL: s.HTTP(serverApp, "/"), Method: "POST",
		Headers: []string{"X-Canary: " + canary}, Body: canary, Count: requests})
	if err != nil {
		return wire.SniffSummary{}, err
	}
	if err := traffic.Each(traffic.OK(), rs); err != nil {
		return wire.SniffSummary{}, fmt.Errorf("the traffic the capture is about: %w", err)
	}
	sum, err := sn.Wait(ctx)
	if err != nil {
		return sum, err
	}
	return sniffverdict.Between(sum, netip.MustParseAddr(server.Status.PodIP), netip.MustParseAddr(clientPod.Status.PodIP)), nil
}
