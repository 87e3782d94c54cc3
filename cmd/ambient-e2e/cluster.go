package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/clusters"
	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/inventory"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/meshconfig"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
)

// kindCluster creates or reuses the kind cluster of the settings (in
// existing mode: the cluster of KUBECONFIG/KUBE_CONTEXT).
func kindCluster(ctx context.Context, cfg *config.Config) (*cluster.Cluster, error) {
	if cfg.ClusterMode != config.ClusterKind {
		return cluster.Existing(cfg.Kubeconfig, cfg.KubeContext)
	}
	_, nodeImage, err := setup.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	return cluster.EnsureKind(ctx, cluster.KindOptions{
		Name: cfg.KindCluster, NodeImage: nodeImage, Config: clusters.KindConfig,
		APIServerPort: cfg.KindAPIPort, WorkDir: cfg.WorkDir, WaitForReady: cfg.ReadyTimeout,
	}, say)
}

// clusterClient is a cluster client for the settings' cluster; runID labels
// what it creates.
func clusterClient(ctx context.Context, cfg *config.Config, runID string) (*kube.Kube, error) {
	c, err := kindCluster(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rc, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kube.New(rc, c.Kubeconfig, c.Context, runID)
}

func clusterUpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-up",
		Short: "Create or reuse the kind cluster KIND_CLUSTER_NAME and print its kubeconfig path",
		Args:  cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			_, nodeImage, err := setup.Resolve(cfg)
			if err != nil {
				return err
			}
			if err := setup.Preflight(ctx, cfg, nodeImage, say); err != nil {
				return err
			}
			c, err := kindCluster(ctx, cfg)
			if err != nil {
				return err
			}
			v, err := c.Reachable(ctx, 15*time.Second)
			if err != nil {
				return err
			}
			say("cluster " + cfg.KindCluster + " up, Kubernetes " + v)
			fmt.Println(c.Kubeconfig)
			return nil
		}),
	}
}

func deleteClusterCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete-cluster",
		Short: "Delete the kind cluster KIND_CLUSTER_NAME",
		Args:  cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			ok, err := cluster.KindExists(cfg.KindCluster)
			if err != nil || !ok {
				say("no kind cluster " + cfg.KindCluster)
				return err
			}
			say("deleting kind cluster " + cfg.KindCluster)
			return cluster.Attach(cfg.KindCluster, "", "").Delete()
		}),
	}
}

func offlineDNSCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "offline-dns",
		Short: "Make CoreDNS answer cluster names only (no forwarding), so no query leaves an offline cluster",
		Args:  cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			c, err := kindCluster(ctx, cfg)
			if err != nil {
				return err
			}
			changed, err := c.KeepDNSInside(ctx)
			if err != nil {
				return err
			}
			if changed {
				say("CoreDNS no longer forwards names outside the cluster (forward directive removed)")
			} else {
				say("CoreDNS already forwards nothing")
			}
			return nil
		}),
	}
}

func installCRDsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "install-crds",
		Short: "Apply only the Istio and Gateway API CRDs of ISTIO_VERSION (a cluster with no mesh accepts policies)",
		Args:  cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			rel, _, err := setup.Resolve(cfg)
			if err != nil {
				return err
			}
			gw, err := rel.GatewayAPIVersion()
			if err != nil {
				return err
			}
			api, err := rel.IstioAPIVersion()
			if err != nil {
				return err
			}
			k, err := clusterClient(ctx, cfg, "crds")
			if err != nil {
				return err
			}
			if err := mesh.EnsureGatewayAPI(ctx, k, gw, say); err != nil {
				return err
			}
			crds, err := mesh.IstioCRDs(ctx, api)
			if err != nil {
				return err
			}
			say(fmt.Sprintf("installing the Istio %s CRDs (istio.io/api %s)", rel.Minor, api))
			return k.ApplyCluster(ctx, crds)
		}),
	}
}

func sweepCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sweep",
		Short: "Delete everything any run of the suite left behind (label " + kube.OwnedLabel + "=true): namespaces, objects outside them, mesh-config providers",
		Args:  cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			if cfg.ClusterMode == config.ClusterKind {
				if ok, err := cluster.KindExists(cfg.KindCluster); err != nil || !ok {
					say("no kind cluster " + cfg.KindCluster + ": nothing to sweep")
					return err
				}
			}
			k, err := clusterClient(ctx, cfg, "sweep")
			if err != nil {
				return err
			}
			names, err := k.Sweep(ctx, kube.OwnedLabel+"=true", cfg.ReadyTimeout)
			say(fmt.Sprintf("deleted %d namespaces %v", len(names), names))
			if err != nil {
				return err
			}
			// What deleting namespaces does not remove: the suite's
			// cluster-scoped objects and its objects in other namespaces.
			inv, err := inventory.Take(ctx, k, inventory.Options{Selector: kube.OwnedLabel + "=true"})
			if err != nil {
				return err
			}
			if out := inv.Outside(); len(out) > 0 {
				dyn, err := inventory.Dynamic(k)
				if err != nil {
					return err
				}
				deleted, err := inventory.DeleteOutside(ctx, dyn, out)
				say(fmt.Sprintf("deleted %d objects outside the suite's namespaces %v", len(deleted), deleted))
				if err != nil {
					return err
				}
			}
			// Extension providers a killed run left in the mesh config.
			rev := cfg.IstioRevision
			if rev == "" {
				if rev, err = mesh.DiscoverRevision(ctx, k, cfg.IstioNamespace); err != nil {
					return err
				}
			}
			cp := mesh.ControlPlane{Namespace: cfg.IstioNamespace, Revision: rev}
			removed, err := meshconfig.Sweep(ctx, k, cp.Namespace, cp.MeshConfigMap())
			if len(removed) > 0 {
				say(fmt.Sprintf("removed the suite's extension providers %v from %s/%s", removed, cp.Namespace, cp.MeshConfigMap()))
			}
			return err
		}),
	}
}
