package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/reports/timing"
)

func reportTimingCmd() *cobra.Command {
	var top int
	c := &cobra.Command{
		Use:   "timing REPORT_JSON",
		Short: "Where a run's time went: the suite's own work vs bounded waits that ran to their bound, and the longest containers",
		Long: `timing reads Ginkgo's JSON report of a run and splits the specs' time into
the bounded waits that ran to their bound (on a cluster with no mesh, the
waits for the mesh do; on a real mesh they end when it converges) and the
rest: the suite's own work (namespaces, fixtures, controls, evidence). The
rest is the figure that predicts a real-mesh run. It also lists the longest
containers (the critical path of a parallel run), the least wall time by
number of processes, and which waits ran to their bound.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var reports []types.Report
			if err := json.Unmarshal(b, &reports); err != nil {
				return fmt.Errorf("%s is not a Ginkgo JSON report: %w", args[0], err)
			}
			return timing.Write(os.Stdout, timing.Summarize(reports), top)
		},
	}
	c.Flags().IntVar(&top, "top", 8, "how many containers to list")
	return c
}
