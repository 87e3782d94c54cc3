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
	corev1 "k8s.io/api/core/v1"

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
	w.mesh = newScenario(ctx, prefix)
	w.outside = newScenario(ctx, prefix+"-out")

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

// pod returns the running pod of a mesh-namespace app (backend, frontend, other).
func (w *l4World) pod(ctx context.Context, app string) corev1.Pod {
	GinkgoHelper()
	p, err := w.mesh.Pod(ctx, app)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// backend is the URL every L4 row calls.
func (w *l4World) backend() traffic.Request {
	return traffic.Request{URL: w.mesh.HTTP("backend", "/")}
}

// errNotYetChecked marks a control that has not run (yet), so the specs that
// depend on it skip instead of passing.
var errNotYetChecked = errors.New("the control spec did not run")

// flow is one client → server pair whose requests carry a canary.
type flow struct {
	s              *scenario.Scenario
	server, client string // app names
	canary         string
	ips            []netip.Addr // filled by capture: server and client pod IPs
}

// capture sniffs on node while each flow sends requests carrying its canary
// (in a header and the body), and returns the whole capture; judge each flow
// on sniffverdict.Between(sum, f.ips...). The sniffer pod is removed whatever
// happens.
func capture(ctx context.Context, node string, flows []*flow, requests int) (wire.SniffSummary, error) {
	var ips, canaries []string
	for _, f := range flows {
		f.ips = nil
		for _, app := range []string{f.server, f.client} {
			p, err := f.s.Pod(ctx, app)
			if err != nil {
				return wire.SniffSummary{}, err
			}
			ips = append(ips, p.Status.PodIP)
			f.ips = append(f.ips, netip.MustParseAddr(p.Status.PodIP))
		}
		canaries = append(canaries, f.canary)
	}
	sn, err := sniffer.Start(ctx, env.Kube, sniffer.Options{
		Namespace: flows[0].s.Namespace, Node: node, Image: env.Shared.ProbeImage,
		IPs: ips, Canaries: canaries, Duration: 15 * time.Second,
	}, env.Config.ReadyTimeout)
	if err != nil {
		return wire.SniffSummary{}, err
	}
	defer func() { _ = sn.Delete(context.WithoutCancel(ctx)) }()
	for _, f := range flows {
		client, err := f.s.Client(ctx, f.client)
		if err != nil {
			return wire.SniffSummary{}, err
		}
		rs, err := client.Send(ctx, traffic.Request{URL: f.s.HTTP(f.server, "/"), Method: "POST",
			Headers: []string{"X-Canary: " + f.canary}, Body: f.canary, Count: requests})
		if err != nil {
			return wire.SniffSummary{}, err
		}
		if err := traffic.Each(traffic.OK(), rs); err != nil {
			return wire.SniffSummary{}, fmt.Errorf("the traffic the capture is about: %w", err)
		}
	}
	return sn.Wait(ctx)
}

// expectEncryptedWithControl judges a capture holding a mesh flow and a
// plaintext control flow: the control's canary must be seen (else the
// sniffer is blind and there is no verdict), and between the mesh pair no
// canary may appear in plaintext while TLS records cross on 15008.
func expectEncryptedWithControl(sum wire.SniffSummary, mesh, control *flow) {
	GinkgoHelper()
	sanity := sniffverdict.AssertPlaintextVisible(sniffverdict.Between(sum, control.ips...))
	Expect(sanity.State).To(Equal(sniffverdict.Pass), "sniffer blind, so no verdict on the mesh pair: %s", sanity.Reason)
	v := sniffverdict.AssertEncrypted(sniffverdict.Between(sum, mesh.ips...), sniffverdict.Expect{Port: sniffverdict.HBONEPort, MinTLSRecords: 1})
	Expect(v.State).To(Equal(sniffverdict.Pass), v.Reason)
}

// capturePair captures one client → server pair on the server's node and
// returns that pair's part of the capture.
func capturePair(ctx context.Context, s *scenario.Scenario, serverApp, clientApp string, requests int) (wire.SniffSummary, error) {
	server, err := s.Pod(ctx, serverApp)
	if err != nil {
		return wire.SniffSummary{}, err
	}
	f := &flow{s: s, server: serverApp, client: clientApp, canary: sniffer.Canary("pair")}
	sum, err := capture(ctx, server.Spec.NodeName, []*flow{f}, requests)
	return sniffverdict.Between(sum, f.ips...), err
}
