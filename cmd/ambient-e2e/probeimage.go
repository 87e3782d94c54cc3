package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/image"
)

func probeImageCmd() *cobra.Command {
	var push, arch string
	c := &cobra.Command{
		Use:   "probe-image [--push REPOSITORY]",
		Short: "Build the probe fixture image (no Docker) and, with --push, push it for a cluster that pulls",
		Long: `probe-image builds the suite's one fixture program statically and packs it as
a one-layer image tagged with its content hash (go-containerregistry, no
Docker), in CACHE_DIR/images. With --push REPOSITORY (e.g.
registry.example/mesh/ambient-e2e-probe) it pushes the image there with the
Docker config's credentials and prints the line to use on an existing
cluster:

  PROBE_IMAGE=registry.example/mesh/ambient-e2e-probe:<hash>@sha256:<digest>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			wd, _ := os.Getwd()
			root, err := image.ModuleRoot(wd)
			if err != nil {
				return err
			}
			built, err := image.Build(cmd.Context(), root, filepath.Join(cfg.CacheDir, "images"), arch)
			if err != nil {
				return err
			}
			say("probe image " + built.Ref + " (" + built.Archive + ")")
			if push == "" {
				fmt.Println(built.Ref)
				return nil
			}
			say("pushing to " + push + " …")
			ref, err := image.Push(cmd.Context(), built, push)
			if err != nil {
				return err
			}
			fmt.Println("PROBE_IMAGE=" + ref)
			return nil
		},
	}
	c.Flags().StringVar(&push, "push", "", "repository to push the image to (registry/path, no tag)")
	c.Flags().StringVar(&arch, "arch", "", "architecture of the cluster's nodes (default: this machine's)")
	return c
}
