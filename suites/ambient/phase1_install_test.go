//go:build e2e

package ambient_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
)

// Seed, Phase 1: "Install Istio with Ambient Mode", then verify istiod,
// ztunnel and the CNI. The seed only lists pods; these specs assert health.
var _ = Describe("Phase 1: install Istio with the ambient profile", func() {
	spec("INSTALL-ISTIOD-READY", func(ctx SpecContext) {
		Expect(mesh.IstiodReady(ctx, env.Kube, env.Shared.Mesh, env.Config.ReadyTimeout)).To(Succeed())
	})

	spec("INSTALL-ZTUNNEL-PER-NODE", func(ctx SpecContext) {
		cov, err := mesh.DaemonSetOnEveryNode(ctx, env.Kube, env.Shared.Mesh.Namespace, mesh.Ztunnel, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("ztunnel", cov.String())
	})

	spec("INSTALL-CNI-PER-NODE", func(ctx SpecContext) {
		cov, err := mesh.DaemonSetOnEveryNode(ctx, env.Kube, env.Shared.Mesh.Namespace, mesh.CNI, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("istio-cni", cov.String())
	})

	spec("INSTALL-VERSION", func(ctx SpecContext) {
		want := env.Shared.IstioVersion
		if want == "" {
			Skip("MESH_MODE=preinstalled without ISTIO_VERSION: no version to compare with")
		}
		images, err := mesh.ComponentImages(ctx, env.Kube, env.Shared.Mesh)
		Expect(err).NotTo(HaveOccurred())
		for component, image := range images {
			Expect(mesh.RunsVersion(image, want)).To(BeTrue(), "%s runs %s, not Istio %s", component, image, want)
		}
	})

	spec("INSTALL-GATEWAY-API-CRDS", func(ctx SpecContext) {
		version, channel, found, err := mesh.InstalledGatewayAPI(ctx, env.Kube)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue(), "no gateways.gateway.networking.k8s.io CRD: waypoints cannot be created")
		AddReportEntry("gateway-api", version+" "+channel)
	})
})
