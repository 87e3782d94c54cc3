package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
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
containers, the critical path of a parallel run.`,
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
			var specs int
			var total, met, timedOut time.Duration
			containers := map[string]time.Duration{}
			var wall time.Duration
			for _, r := range reports {
				wall += r.RunTime
				for _, sr := range r.SpecReports {
					if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStateSkipped {
						continue
					}
					specs++
					total += sr.RunTime
					containers[strings.Join(sr.ContainerHierarchyTexts, " / ")] += sr.RunTime
					for _, e := range sr.ReportEntries {
						if e.Name != runinfo.EntryWaits {
							continue
						}
						var w runinfo.Waits
						if json.Unmarshal([]byte(e.Value.AsJSON), &w) == nil {
							met += time.Duration(w.MetSeconds * float64(time.Second))
							timedOut += time.Duration(w.TimedOutSeconds * float64(time.Second))
						}
					}
				}
			}
			own := total - timedOut
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "suite wall time\t%s\n", wall.Round(time.Second))
			fmt.Fprintf(w, "time in %d specs (all processes)\t%s\n", specs, total.Round(time.Second))
			fmt.Fprintf(w, "  bounded waits that ran to their bound\t%s\t(mesh waits without a mesh: a real mesh ends them early)\n", timedOut.Round(time.Second))
			fmt.Fprintf(w, "  the suite's own work\t%s\t(namespaces, fixtures, controls, evidence, waits that ended: %s)\n", own.Round(time.Second), met.Round(time.Second))
			_ = w.Flush()
			type kv struct {
				k string
				v time.Duration
			}
			var cs []kv
			for k, v := range containers {
				cs = append(cs, kv{k, v})
			}
			sort.Slice(cs, func(i, j int) bool { return cs[i].v > cs[j].v })
			fmt.Println("\nlongest containers (the critical path of a parallel run):")
			for i, c := range cs {
				if i == top {
					break
				}
				fmt.Printf("  %6s  %s\n", c.v.Round(time.Second), c.k)
			}
			return nil
		},
	}
	c.Flags().IntVar(&top, "top", 8, "how many containers to list")
	return c
}
