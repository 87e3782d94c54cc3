package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

func perfTableCmd() *cobra.Command {
	var budgets, arm, meshNS, calibration string
	cmd := &cobra.Command{
		Use:   "perf-table PERF-DATA.json",
		Short: "A mode's measured latency and resources beside every profile of the budgets file (Markdown)",
		Long: `perf-table reads the perf specs' data (REPORT_DIR/perf/perf-data.json) and
prints, in Markdown, one mode's added latency at p50/p90/p99 with its 95%
interval, its component's CPU per 1000 rps and memory, and its TCP_RR and TCP_CRR
shifts, beside the budget of every profile of the budgets file (the seed's and
Istio's published figures in the embedded file) with the verdict each gives,
under the load shape the figures were measured at. With --calibration, a
latency figure at a percentile the instrument is not calibrated at on this
machine is "cannot be judged" under every profile.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := runinfo.ReadPerfData(args[0])
			if err != nil {
				return err
			}
			f, err := budget.Read(budgets)
			if err != nil {
				return err
			}
			a, err := perf.Analyze(data, perf.ArmNone, perf.ArmNoneAA, perf.DefaultPercentiles)
			if err != nil && len(a.Shifts) == 0 {
				return err
			}
			var cal *perf.Calibration
			if calibration != "" {
				if cal, err = perf.ReadCalibration(calibration); err != nil {
					return err
				}
			}
			t, err := perf.CompareTable(data, a, f, arm, perf.ComponentIn(meshNS), cal)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), t)
			return err
		},
	}
	cmd.Flags().StringVar(&budgets, "budgets", "", "budgets file (default: the embedded one)")
	cmd.Flags().StringVar(&arm, "arm", perf.ArmL4, "the mode to show: "+perf.ArmL4+" or "+perf.ArmWaypoint)
	cmd.Flags().StringVar(&meshNS, "mesh-namespace", "istio-system", "the mesh's namespace (where the ztunnel pods run)")
	cmd.Flags().StringVar(&calibration, "calibration", "", "calibration.json of make bench-latency: latency at a percentile it did not calibrate cannot be judged")
	return cmd
}
