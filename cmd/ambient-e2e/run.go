package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// specListFile is the suite's full spec list (a Ginkgo dry run), which the
// report uses to list the specs a run did not reach.
const specListFile = "spec-list.json"

// e2eLogFile is the run's log in the report directory: Ginkgo's output as
// the terminal showed it.
const e2eLogFile = "e2e.log"

// suitePackage is the Ginkgo suite, relative to the module root.
const suitePackage = "./suites/ambient"

func runCmd() *cobra.Command {
	var (
		dryRun, inCluster bool
		tags, push        string
	)
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the conformance suite (make e2e): preflight, Ginkgo in parallel, the conformance report",
		Long: `run is the suite: preflight in seconds, then Ginkgo with PROCS parallel
processes (provisioning happens once), LABEL_FILTER, SUITE_TIMEOUT and
GINKGO_FLAGS, then the conformance report from what Ginkgo recorded, written
also after a failed or interrupted run; it prints where the report, the HTML
and the Markdown summary are.

run is the process to signal. SIGINT or SIGTERM (a terminal's Ctrl-C, a CI
cancel) is passed to every Ginkgo process, which interrupts the specs, runs
their clean-up (namespaces, the mesh config, a cluster this run created) and
writes the reports; a second signal asks Ginkgo to stop cleaning up and only
report; a third kills the processes. --dry-run lists the specs and touches
nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if inCluster {
				return runInCluster(cmd.Context(), tags, push)
			}
			return runSuite(cmd.Context(), dryRun, tags)
		},
	}
	c.Flags().BoolVar(&inCluster, "in-cluster", false, "run the suite as a Job inside the cluster (MESH_MODE=preinstalled): its output live, its results retrieved, everything it created removed")
	c.Flags().StringVar(&push, "push", "", "with --in-cluster on a cluster that pulls: push the runner and probe images to REGISTRY/PATH")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "list the specs with their labels; touch no cluster")
	// The self-test's control-plane mesh adds specs only it can judge.
	c.Flags().StringVar(&tags, "tags", "e2e", "Go build tags of the suite")
	_ = c.Flags().MarkHidden("tags")
	return c
}

func runSuite(ctx context.Context, dryRun bool, tags string) error {
	// The signals are this process's to pass on: stop the context-wide
	// handling and take them here (a cancelled context would kill Ginkgo
	// before it could clean up).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx = context.WithoutCancel(ctx)

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	src, err := findSuite(ctx, wd, tags)
	if err != nil {
		return err
	}
	root, ginkgo := src.dir, src.ginkgo
	reportDir, workDir := setup.ReportDir(cfg), absPath(root, cfg.WorkDir)
	if dryRun {
		return runGinkgo(ctx, root, ginkgo, sigs, nil, nil, src.args("run", "--dry-run", "-v", "--label-filter="+cfg.LabelFilter)...)
	}
	if cfg.ReportMode == conformance.ModeVendor {
		if err := conformance.CheckImplementation(cfg.ReportMode, implementation(cfg)); err != nil {
			return fmt.Errorf("REPORT_MODE=vendor: %w", err)
		}
	}
	if err := preflight(ctx); err != nil {
		return err
	}
	for _, d := range []string{reportDir, workDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, stale := range []string{"report.json", "junit.xml", "environment.json", specListFile, e2eLogFile} {
		_ = os.Remove(filepath.Join(reportDir, stale))
	}
	// The run's ID is chosen here, not by the suite, so an interrupt can
	// say what of this run's is in the cluster and what its clean-up removed.
	runID := cfg.RunID
	if runID == "" {
		runID = setup.NewRunID()
	}
	watch := newCleanupWatch(cfg, runID)
	env := []string{"REPORT_DIR=" + reportDir, "WORK_DIR=" + workDir, "RUN_ID=" + runID}
	if cfg.ConfigFile != "" {
		env = append(env, config.ConfigEnv+"="+absPath(wd, cfg.ConfigFile))
	}
	// The full spec list first (a dry run, seconds once compiled), so the
	// report can name what a partial or interrupted run did not reach.
	if err := runGinkgo(ctx, root, ginkgo, sigs, env, nil, src.args("run", "--dry-run", "--no-color", "--silence-skips",
		"--output-dir="+reportDir, "--json-report="+specListFile)...); err != nil {
		say("could not list the specs (the report will not name the ones that did not run): " + err.Error())
	}
	args := []string{"run", "-v", "--procs=" + strconv.Itoa(cfg.Procs), "--timeout=" + cfg.SuiteTimeout.String(),
		"--label-filter=" + cfg.LabelFilter, "--output-dir=" + reportDir}
	args = src.args(append(args, strings.Fields(cfg.GinkgoFlags)...)...)
	// What the terminal shows is also the run's log (a submission's e2e.log).
	logFile, err := os.Create(filepath.Join(reportDir, e2eLogFile))
	if err != nil {
		return err
	}
	defer logFile.Close()
	out := io.MultiWriter(os.Stdout, logFile)
	head := fmt.Sprintf("ambient-e2e run %s: %d processes, label filter %q, bounded by %s; reports in %s", runID, cfg.Procs, cfg.LabelFilter, cfg.SuiteTimeout, reportDir)
	say(head)
	fmt.Fprintln(logFile, head)
	start := time.Now()
	runErr := runGinkgoTo(ctx, root, ginkgo, sigs, env, out, func() { watch.interrupted(ctx) }, args...)
	say(fmt.Sprintf("the suite ran for %s", time.Since(start).Round(time.Second)))
	watch.report(ctx)

	p, r, err := buildReport(cfg, reportDir)
	if err != nil {
		say("no conformance report: " + err.Error())
	} else {
		printReport(p, r)
	}
	return runErr
}

// runGinkgo runs the Ginkgo CLI in a process group of its own and passes
// this process's signals to the whole group: Ginkgo's CLI does not pass a
// signal it gets on to its spec processes, so a signal to it alone would
// leave the specs running. onInterrupt (if any) is called at the first.
func runGinkgo(ctx context.Context, dir, ginkgo string, sigs <-chan os.Signal, env []string, onInterrupt func(), args ...string) error {
	return runGinkgoTo(ctx, dir, ginkgo, sigs, env, nil, onInterrupt, args...)
}

// runGinkgoTo is runGinkgo with Ginkgo's output (stdout and stderr) to out;
// nil is this process's stdout and stderr.
func runGinkgoTo(ctx context.Context, dir, ginkgo string, sigs <-chan os.Signal, env []string, out io.Writer, onInterrupt func(), args ...string) error {
	cmd := exec.Command(ginkgo, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.Stdin = dir, os.Stdout, os.Stderr, nil
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting ginkgo: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	signals := 0
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code := ee.ExitCode()
				if signals > 0 {
					return exitError{code: 130, err: fmt.Errorf("interrupted: the specs cleaned up and the reports were written (ginkgo exited %d)", code)}
				}
				return exitError{code: code, err: fmt.Errorf("the suite failed (ginkgo exited %d): see the report", code)}
			}
			if err == nil && signals > 0 {
				return exitError{code: 130, err: errors.New("interrupted")}
			}
			return err
		case sig := <-sigs:
			signals++
			switch signals {
			case 1:
				say(fmt.Sprintf("\nambient-e2e run: %s: interrupting every Ginkgo process; the specs clean up and the reports are written (another signal stops the clean-up)", sig))
				_ = syscall.Kill(-pgid, syscall.SIGINT)
				if onInterrupt != nil {
					onInterrupt()
				}
			case 2:
				say("ambient-e2e run: a second signal: Ginkgo stops cleaning up and only reports (a third kills the processes)")
				_ = syscall.Kill(-pgid, syscall.SIGINT)
			default:
				say("ambient-e2e run: killing the Ginkgo processes; run `make sweep` to remove what they leave")
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		case <-ctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
}

// suite is where a run's suite comes from: a checkout (Ginkgo compiles the
// package with go, with the build tags) or, in the in-cluster runner's
// image, the compiled suite and the Ginkgo CLI beside it
// (AMBIENT_E2E_SUITE_BINARY, AMBIENT_E2E_GINKGO).
type suite struct {
	dir    string // Ginkgo's working directory: the module root, or a writable one
	ginkgo string
	target string // the package, or the compiled suite
	tags   string // "" for a compiled suite
}

func findSuite(ctx context.Context, wd, tags string) (suite, error) {
	if bin := os.Getenv("AMBIENT_E2E_SUITE_BINARY"); bin != "" {
		g := os.Getenv("AMBIENT_E2E_GINKGO")
		if g == "" {
			return suite{}, fmt.Errorf("AMBIENT_E2E_SUITE_BINARY=%s without AMBIENT_E2E_GINKGO: the Ginkgo CLI that runs it", bin)
		}
		return suite{dir: os.TempDir(), ginkgo: g, target: bin}, nil
	}
	root, err := image.ModuleRoot(wd)
	if err != nil {
		return suite{}, err
	}
	g, err := ginkgoBinary(ctx, root)
	if err != nil {
		return suite{}, err
	}
	return suite{dir: root, ginkgo: g, target: suitePackage, tags: tags}, nil
}

// args are Ginkgo's arguments: the command and its flags, the tags, the suite.
func (s suite) args(cmdAndFlags ...string) []string {
	out := append([]string(nil), cmdAndFlags...)
	if s.tags != "" {
		out = append(out[:1:1], append([]string{"--tags=" + s.tags}, out[1:]...)...)
	}
	return append(out, s.target)
}

// ginkgoBinary is the ginkgo CLI of go.mod's tool directive, built if needed.
func ginkgoBinary(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "ginkgo")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n ginkgo: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func absPath(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}
