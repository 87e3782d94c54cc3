// Command ambient-e2e is the suite's command line for everything around
// the Ginkgo specs: the run itself (run), fast checks before it, the
// tables, the offline cluster's steps, the debug flow (doctor), the reports
// and clean-up. `ambient-e2e help <command>` describes each one.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
)

// exitError carries an exit status other than 1 (e.g. 2 for bad usage).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRoot()
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ambient-e2e: %v\n", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// configFile is the --config flag: a YAML file of settings, overridden by
// the environment. It is passed on to the processes a run starts.
var configFile string

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ambient-e2e",
		Short: "Istio ambient mode conformance suite",
		Long: `ambient-e2e checks that a cluster does what Istio's ambient mode promises:
install, enrollment, mTLS, L4 and L7 policy, waypoints, rollback without
restarts, latency and resource budgets. "ambient-e2e run" is the suite
(make e2e); the other commands are its building blocks.

Every setting is an environment variable (ambient-e2e env lists them with
their values and sources) or a key of the YAML file given with --config or
AMBIENT_E2E_CONFIG; a variable overrides the file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if configFile != "" {
				return os.Setenv(config.ConfigEnv, configFile)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&configFile, "config", "", "YAML file of settings (env "+config.ConfigEnv+"); variables override it")
	root.AddCommand(
		runCmd(), reportCmd(), inventoryCmd(), preflightCmd(), versionsCmd(), envCmd(),
		clusterUpCmd(), deleteClusterCmd(), offlineDNSCmd(), installCRDsCmd(), dryRunManifestsCmd(), sweepCmd(),
		verdictsCmd(), catalogueCmd(), soakTableCmd(), inClusterCmd(), retrieveCmd(), mirrorCmd(), doctorCmd(), benchLatencyCmd(), probeImageCmd(), perfTableCmd(),
	)
	return root
}

// say prints progress to stderr; stdout stays for what a caller captures.
func say(s string) { fmt.Fprintln(os.Stderr, s) }

// loadConfig reads the settings (file and environment).
func loadConfig() (*config.Config, error) { return config.FromEnv() }

// configured is the RunE of a command that works on the settings: it loads
// them (the environment over the --config file) and runs run with the
// command's context.
func configured(run func(ctx context.Context, cfg *config.Config, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return run(cmd.Context(), cfg, args)
	}
}
