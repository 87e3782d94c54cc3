package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/versions"
)

func versionsCmd() *cobra.Command {
	var (
		matrix, eol, defaultOnly, devPin bool
		extra                            []string
	)
	c := &cobra.Command{
		Use:   "versions",
		Short: "The supported Istio versions, with support status and what is confirmed",
		Long: `versions prints harness/versions/versions.yaml as of today: each Istio minor's
pinned patch, support status and end-of-life date, whether Istio's own sources
confirm it, its Kubernetes range and Gateway API version.

--matrix prints the nightly's GitHub Actions matrix as JSON: the supported rows
(--eol adds the end-of-life ones, --include adds any row or "dev").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := versions.Load()
			if err != nil {
				return err
			}
			now := time.Now()
			switch {
			case defaultOnly:
				fmt.Println(t.Default().Istio)
				return nil
			case devPin:
				d, ok := t.Development()
				if !ok {
					return fmt.Errorf("versions.yaml has no development row")
				}
				fmt.Printf("ISTIO_DEV_MODULE=%s\nISTIO_DEV_VERSION=%s\nISTIO_DEV_TAG=%s\n", d.Module, d.ModuleVersion, d.Istio)
				return nil
			case matrix:
				m, err := t.Matrix(now, versions.MatrixOptions{EndOfLife: eol, Extra: extra})
				if err != nil {
					return err
				}
				for _, o := range m.Omitted {
					say(fmt.Sprintf("matrix: Istio %s left out: %s", o.Istio, o.Reason))
				}
				return json.NewEncoder(os.Stdout).Encode(m)
			}
			return t.Render(os.Stdout, now)
		},
	}
	c.Flags().BoolVar(&matrix, "matrix", false, "print the nightly matrix as JSON")
	c.Flags().BoolVar(&eol, "eol", false, "with --matrix: add the end-of-life rows")
	c.Flags().StringSliceVar(&extra, "include", nil, "with --matrix: add rows by ISTIO_VERSION value (e.g. 1.29, dev)")
	c.Flags().BoolVar(&defaultOnly, "default", false, "print only the default release")
	c.Flags().BoolVar(&devPin, "dev-pin", false, "print the development build's module, pseudo-version and tag (shell variables)")
	return c
}
