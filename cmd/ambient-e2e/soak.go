package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/reports/soak"
	"github.com/ambient-e2e/ambient-e2e/reports/verdict"
)

func soakTableCmd() *cobra.Command {
	var table, out string
	c := &cobra.Command{
		Use:   "soak-table REPORT.json...",
		Short: "Compare back-to-back runs of the suite: every spec whose verdict changed, and each run's wall time",
		Long: `soak-table reads the report.json of N runs of the suite (make soak) and
prints a Markdown table of the runs (wall time, specs, the verdict table's
objections with --table) and of every spec whose verdict was not the same in
every run. A run is named by its report's directory. It fails when a verdict
changed.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var runs []soak.Run
			for _, p := range args {
				outcomes, wall, err := verdict.ReadReportTimed(p)
				if err != nil {
					return err
				}
				runs = append(runs, soak.Run{Name: filepath.Base(filepath.Dir(p)), Wall: wall, Outcomes: outcomes})
			}
			var t *verdict.Table
			if table != "" {
				tt, err := verdict.LoadTable(table)
				if err != nil {
					return err
				}
				t = &tt
			}
			res := soak.Judge(runs, t)
			md := res.Markdown()
			fmt.Print(md)
			if out != "" {
				if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
					return err
				}
			}
			if len(res.Changes) > 0 {
				return fmt.Errorf("%d specs changed verdict across %d runs", len(res.Changes), len(runs))
			}
			return nil
		},
	}
	c.Flags().StringVar(&table, "table", "", "judge each run against this verdict table too (reports/null-mesh.yaml)")
	c.Flags().StringVar(&out, "out", "", "also write the Markdown table to this file")
	return c
}
