package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/inventory"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
)

func inventoryCmd() *cobra.Command {
	var (
		runID, save, against string
		asJSON               bool
	)
	c := &cobra.Command{
		Use:   "inventory",
		Short: "Everything of the suite's in the cluster: labelled namespaces, cluster-scoped and other objects, mesh-config providers",
		Long: `inventory lists what carries the suite's ownership label (` + kube.OwnedLabel + `, or one run's
` + kube.RunLabel + ` with --run) in the cluster of the settings, through discovery of every
resource type, and the extension providers the suite recorded adding to the
mesh config. --save writes it as JSON; --compare BEFORE.json prints what
appeared since and exits 1 if anything did (what a run left behind).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			inv, err := takeInventory(ctx, cfg, runID)
			if err != nil {
				return err
			}
			if save != "" {
				b, _ := json.MarshalIndent(inv, "", "  ")
				if err := os.WriteFile(save, append(b, '\n'), 0o644); err != nil {
					return err
				}
			}
			if against != "" {
				var before inventory.Inventory
				b, err := os.ReadFile(against)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &before); err != nil {
					return fmt.Errorf("%s is not an inventory: %w", against, err)
				}
				added, _ := inventory.Diff(before, inv)
				if len(added) > 0 {
					return exitError{code: 1, err: fmt.Errorf("left behind since %s: %s", against, strings.Join(added, "; "))}
				}
				say("nothing left behind since " + against)
				return nil
			}
			if asJSON {
				b, _ := json.MarshalIndent(inv, "", "  ")
				fmt.Println(string(b))
				return nil
			}
			for _, it := range inv.Items() {
				fmt.Println(it)
			}
			say(inv.String())
			return nil
		},
	}
	c.Flags().StringVar(&runID, "run", "", "only this run's objects (its RUN_ID)")
	c.Flags().StringVar(&save, "save", "", "write the inventory as JSON to this file")
	c.Flags().StringVar(&against, "compare", "", "compare with an inventory saved before; exit 1 if anything was added")
	c.Flags().BoolVarP(&asJSON, "json", "o", false, "print JSON")
	return c
}

// takeInventory lists the suite's objects in the settings' cluster: every
// run's, or one run's with runID.
func takeInventory(ctx context.Context, cfg *config.Config, runID string) (inventory.Inventory, error) {
	k, err := doctorClient(ctx, cfg)
	if err != nil {
		return inventory.Inventory{}, err
	}
	sel := kube.OwnedLabel + "=true"
	if runID != "" {
		sel = kube.RunLabel + "=" + runID
	}
	rev, err := mesh.DiscoverRevision(ctx, k, cfg.IstioNamespace)
	if err != nil {
		return inventory.Inventory{}, err
	}
	if cfg.IstioRevision != "" {
		rev = cfg.IstioRevision
	}
	cp := mesh.ControlPlane{Namespace: cfg.IstioNamespace, Revision: rev}
	return inventory.Take(ctx, k, inventory.Options{Selector: sel, MeshNamespace: cp.Namespace, MeshConfigMap: cp.MeshConfigMap()})
}
