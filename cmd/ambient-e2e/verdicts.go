package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/reports/verdict"
)

func verdictsCmd() *cobra.Command {
	var coverageOnly, same bool
	var record string
	c := &cobra.Command{
		Use:   "verdicts TABLE REPORT",
		Short: "Compare a Ginkgo JSON report with a verdict table (the self-test's judge)",
		Long: `verdicts judges a Ginkgo JSON report against a table of expected verdicts
(reports/null-mesh.yaml, reports/control-plane-mesh.yaml): every mesh
assertion must fail for the reason in its row, every control must pass, and
any difference fails, above all a mesh assertion that passed (a FALSE PASS).
With --coverage-only (a dry-run report) only the spec names are compared.
With LABEL_FILTER set, rows of specs the filter left out are not required.
With --same, TABLE is another run's report.json: every spec must be in both
runs in the same state (a flake check between back-to-back runs).
With --record FILE, a run that matches the table is also written to FILE,
trimmed to what the comparison reads: the false-pass guard's data
(reports/verdict/testdata, refreshed by make verdict-data after a self-test),
which make test judges the tables against without a cluster.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if same {
				first, err := verdict.ReadReport(args[0])
				if err != nil {
					return err
				}
				second, err := verdict.ReadReport(args[1])
				if err != nil {
					return err
				}
				ms := verdict.Same(first, second)
				for _, m := range ms {
					fmt.Println(m)
				}
				if len(ms) > 0 {
					return fmt.Errorf("%d specs differ between %s and %s", len(ms), args[0], args[1])
				}
				fmt.Printf("%s and %s: the same %d verdicts\n", args[0], args[1], len(first))
				return nil
			}
			t, err := verdict.LoadTable(args[0])
			if err != nil {
				return err
			}
			outcomes, err := verdict.ReadReport(args[1])
			if err != nil {
				return err
			}
			if coverageOnly || os.Getenv("COVERAGE_ONLY") == "1" {
				ms := verdict.Coverage(t, outcomes)
				for _, m := range ms {
					fmt.Println(m)
				}
				if len(ms) > 0 {
					return fmt.Errorf("%s and the suite name different specs: every spec needs exactly one row, keyed by its catalogue ID", args[0])
				}
				for _, m := range verdict.Retitled(t, outcomes) {
					fmt.Printf("note: %s (refresh the row's text for readers; the ID keeps the row)\n", m)
				}
				fmt.Printf("%s names all %d specs of the suite by ID\n", args[0], len(outcomes))
				return nil
			}
			filtered := os.Getenv("LABEL_FILTER") != ""
			ms := verdict.Compare(t, outcomes, filtered)
			fmt.Print(verdict.Summary(t, outcomes, ms))
			if len(ms) > 0 {
				return fmt.Errorf("%d verdicts differ from %s", len(ms), args[0])
			}
			if record != "" {
				if filtered {
					return fmt.Errorf("--record: a run filtered by LABEL_FILTER is not the whole suite; record an unfiltered run")
				}
				dir, err := filepath.Abs(filepath.Dir(args[1]))
				if err != nil {
					return err
				}
				if err := verdict.WriteRecorded(record, verdict.Record(filepath.Base(args[0]), filepath.Base(args[1]), dir, outcomes)); err != nil {
					return err
				}
				fmt.Printf("recorded %d outcomes in %s\n", len(outcomes), record)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&same, "same", false, "compare two runs' report.json files spec by spec (TABLE is the first run's report)")
	c.Flags().BoolVar(&coverageOnly, "coverage-only", false, "compare spec names only (for a dry-run report)")
	c.Flags().StringVar(&record, "record", "", "write a run that matches the table, trimmed, to this file (the false-pass guard's data)")
	return c
}
