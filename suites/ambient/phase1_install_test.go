//go:build e2e

package ambient_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
)

// Seed, Phase 1: "Install Istio with Ambient Mode", then verify istiod,
// ztunnel and the CNI. The seed only lists pods; these specs assert health.
var _ = Describe("Phase 1: install Istio with the ambient profile", Label(labelInstall), func() {
	It("istiod is ready", meshReported, claim("control-plane"), func(ctx SpecContext) {
		Expect(mesh.IstiodReady(ctx, env.Kube, env.Shared.Mesh, env.Config.ReadyTimeout)).To(Succeed())
	})

	It("the ztunnel DaemonSet has exactly one ready pod per schedulable node", meshReported, claim("node-proxies"), func(ctx SpecContext) {
		cov, err := mesh.DaemonSetOnEveryNode(ctx, env.Kube, env.Shared.Mesh.Namespace, mesh.Ztunnel, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("ztunnel", cov.String())
	})

	It("istio-cni is ready on every node", meshReported, claim("node-proxies"), func(ctx SpecContext) {
		cov, err := mesh.DaemonSetOnEveryNode(ctx, env.Kube, env.Shared.Mesh.Namespace, mesh.CNI, env.Config.ReadyTimeout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("istio-cni", cov.String())
	})

	It("the running version equals ISTIO_VERSION", observed, claim("version"), func(ctx SpecContext) {
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

	It("the Gateway API CRDs waypoints need are installed", observed, claim("gateway-api"), func(ctx SpecContext) {
		version, channel, found, err := mesh.InstalledGatewayAPI(ctx, env.Kube)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue(), "no gateways.gateway.networking.k8s.io CRD: waypoints cannot be created")
		AddReportEntry("gateway-api", version+" "+channel)
	})
})
