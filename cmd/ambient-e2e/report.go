package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/browser"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/compare"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/render"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance/submission"
)

func reportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Conformance reports: build, verify, check the HTML, merge a version matrix, diff two runs",
		Long: `report works on the conformance report a run writes to REPORT_DIR
(conformance-report.yaml and .json, with .html and .md): built from Ginkgo's
JSON report and the run's environment.json, never by judging a test again.`,
	}
	c.AddCommand(reportBuildCmd(), reportVerifyCmd(), reportSubmissionCmd(), reportCheckHTMLCmd(), reportMatrixCmd(), reportDiffCmd(), reportTimingCmd())
	return c
}

// implementation is the report's implementation block from the settings.
func implementation(cfg *config.Config) conformance.Implementation {
	i := cfg.Implementation
	var contact []string
	for _, c := range strings.Split(i.Contact, ",") {
		if c = strings.TrimSpace(c); c != "" {
			contact = append(contact, c)
		}
	}
	return conformance.Implementation{Organization: i.Organization, Project: i.Project, URL: i.URL, Version: i.Version, Contact: contact}
}

// buildReport writes the conformance report of the run in dir and returns
// its paths.
func buildReport(cfg *config.Config, dir string) (render.Paths, *conformance.Report, error) {
	in := conformance.Inputs{
		GinkgoReport: filepath.Join(dir, "report.json"), ReportDir: dir,
		Implementation: implementation(cfg), Mode: cfg.ReportMode,
	}
	if list := filepath.Join(dir, specListFile); fileExists(list) {
		in.SpecList = list
	}
	r, err := conformance.Build(in)
	if err != nil {
		return render.Paths{}, nil, err
	}
	perf, err := render.ReadPerfData(dir, r)
	if err != nil {
		say("the report's latency plots are left out: " + err.Error())
	}
	p, err := render.Write(dir, r, perf)
	return p, r, err
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func reportBuildCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "build",
		Short: "Write the conformance report of the run in REPORT_DIR (YAML, JSON, HTML, Markdown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if dir == "" {
				dir = setup.ReportDir(cfg)
			}
			p, r, err := buildReport(cfg, dir)
			if err != nil {
				return err
			}
			printReport(p, r)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "report directory (default REPORT_DIR)")
	return c
}

func printReport(p render.Paths, r *conformance.Report) {
	say(fmt.Sprintf("conformance report (%s): %s", r.Result, p.YAML))
	say("  also " + p.JSON + ", " + p.HTML + " (open in a browser), " + p.Markdown + " (CI job summary)")
}

func reportVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify FILE|DIR",
		Short: "Check a conformance report (schema, statistics and results recomputed, digest), or a submission folder",
		Long: `verify checks a conformance report as a reviewer or a CI bot would: the
schema version and JSON Schema, every profile's statistics and result
recomputed from its tests, and the digest over the content, so a modified
report is detected. It exits 0 when the report is sound and 1 naming each
problem. Given a directory, it checks a submission folder (report
submission) as a review bot would: every file present, the report verified,
made in vendor mode from a whole, finished run, PRODUCT.yaml equal to the
report's implementation block, the README's contents and Reproduce section
(command and config), the JUnit report and the e2e log of the same run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
				ps := submission.Verify(args[0])
				for _, p := range ps {
					fmt.Println("  " + p)
				}
				if len(ps) > 0 {
					return exitError{code: 1, err: fmt.Errorf("%s: %d problems; the submission cannot be merged as it is", args[0], len(ps))}
				}
				say(args[0] + ": a sound submission (every file; the report verified, submittable and matching PRODUCT.yaml, the README's Reproduce section, the JUnit report and the log of the same run)")
				return nil
			}
			if err := conformance.Verify(args[0]); err != nil {
				return err
			}
			say(args[0] + ": verified (schema, statistics, results and digest)")
			return nil
		},
	}
}

func reportSubmissionCmd() *cobra.Command {
	var out, dir string
	c := &cobra.Command{
		Use:   "submission --config vendor.yaml --out DIR",
		Short: "Make the folder a vendor opens a pull request with, from a vendor run",
		Long: `submission writes what a vendor submits: the run's conformance-report.yaml
unmodified, junit.xml, e2e.log, PRODUCT.yaml (the implementation block), the
config file the run read (--config or AMBIENT_E2E_CONFIG) as config.yaml, and a
README.md with a table of contents, the results and the exact Reproduce
command and config. It refuses a run that cannot be submitted: a report that
does not verify, not REPORT_MODE=vendor, a filtered or an interrupted run.
Check the folder with: ambient-e2e report verify DIR.`,
		Args: cobra.NoArgs,
		RunE: configured(func(_ context.Context, cfg *config.Config, _ []string) error {
			if dir == "" {
				dir = setup.ReportDir(cfg)
			}
			if err := submission.Write(submission.Inputs{ReportDir: dir, ConfigPath: cfg.ConfigFile}, out); err != nil {
				return err
			}
			say(fmt.Sprintf("submission folder %s written from %s; check it: ambient-e2e report verify %s", out, dir, out))
			return nil
		}),
	}
	c.Flags().StringVar(&out, "out", "", "the submission folder to write (absent or empty)")
	c.Flags().StringVar(&dir, "report-dir", "", "the run's report directory (default: REPORT_DIR)")
	_ = c.MarkFlagRequired("out")
	return c
}

func reportCheckHTMLCmd() *cobra.Command {
	var screenshot string
	c := &cobra.Command{
		Use:   "check-html REPORT_YAML HTML",
		Short: "Open the HTML report in headless Chromium: no errors, numbers match the report, screenshot saved",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := conformance.Load(args[0])
			if err != nil {
				return err
			}
			if screenshot == "" {
				screenshot = strings.TrimSuffix(args[1], filepath.Ext(args[1])) + ".png"
			}
			if err := browser.CheckHTML(context.WithoutCancel(cmd.Context()), args[1], r, screenshot); err != nil {
				return err
			}
			say(args[1] + " renders in headless Chromium without errors and shows the report's numbers; screenshot " + screenshot)
			return nil
		},
	}
	c.Flags().StringVar(&screenshot, "screenshot", "", "PNG to write (default next to the HTML)")
	return c
}

func reportMatrixCmd() *cobra.Command {
	var md, html string
	c := &cobra.Command{
		Use:   "matrix FILE...",
		Short: "Merge reports into a compatibility table: test × Istio version (Markdown and HTML)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []*conformance.Report
			for _, a := range args {
				r, err := conformance.Load(a)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			m, err := compare.NewMatrix(rs)
			if err != nil {
				return err
			}
			out := m.Markdown()
			if md != "" {
				if err := os.WriteFile(md, out, 0o644); err != nil {
					return err
				}
			} else {
				_, _ = os.Stdout.Write(out)
			}
			if html != "" {
				h, err := m.HTML()
				if err != nil {
					return err
				}
				return os.WriteFile(html, h, 0o644)
			}
			return nil
		},
	}
	c.Flags().StringVar(&md, "markdown", "", "write the Markdown table here (default stdout)")
	c.Flags().StringVar(&html, "html", "", "also write the table as HTML here")
	return c
}

func reportDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Regressions, fixes, new skips and budget changes between two runs; exits 1 on a regression",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := conformance.Load(args[0])
			if err != nil {
				return err
			}
			cur, err := conformance.Load(args[1])
			if err != nil {
				return err
			}
			ch, err := compare.Diff(old, cur)
			if err != nil {
				return err
			}
			_, _ = os.Stdout.Write(ch.Markdown())
			if ch.HasRegressions() {
				return exitError{code: 1, err: fmt.Errorf("%s regresses against %s", args[1], args[0])}
			}
			return nil
		},
	}
}
