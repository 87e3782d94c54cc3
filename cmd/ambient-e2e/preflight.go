package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
)

func preflightCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "preflight",
		Short: "Validate the settings and the host in seconds, before any cluster work",
		Long: `preflight checks what would otherwise fail minutes into a run: the settings
(and the config file), the Istio version against the supported table (an
unconfirmed release's istioctl download must exist), the budgets file, Docker
and the inotify limits istio-cni needs (kind mode), the kind node image, and in
existing mode that the kubeconfig is valid and the API server answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return preflight(cmd.Context()) },
	}
}

func preflight(ctx context.Context) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	rel, nodeImage, err := setup.Resolve(cfg)
	if err != nil {
		return err
	}
	say(setup.Describe(rel))
	if err := setup.CheckBudgets(cfg, say); err != nil {
		return err
	}
	if err := setup.CheckRelease(ctx, cfg, rel, say); err != nil {
		return err
	}
	if err := setup.Preflight(ctx, cfg, nodeImage, say); err != nil {
		return err
	}
	if cfg.ClusterMode == config.ClusterExisting {
		c, err := cluster.Existing(cfg.Kubeconfig, cfg.KubeContext)
		if err != nil {
			return err
		}
		v, err := c.Reachable(ctx, 10*time.Second)
		if err != nil {
			return err
		}
		say("  ✓ API server answers: Kubernetes " + v)
		if cfg.ProbeImage == "" {
			return fmt.Errorf("CLUSTER_MODE=existing needs PROBE_IMAGE, a probe image the cluster can pull")
		}
	}
	return nil
}
