package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
)

func envCmd() *cobra.Command {
	var defaults bool
	c := &cobra.Command{
		Use:   "env",
		Short: "Every setting with its effective value and where it came from",
		Long: `env prints each setting: its environment variable, its config-file key, the
value this run would use and its source (default, the config file, or the
environment), and what it means. --defaults prints the documentation table
only (no config file is read).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			if defaults {
				fmt.Fprintln(w, "VARIABLE\tKEY\tDEFAULT\tMEANING")
				for _, v := range config.Variables {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.Name, v.Key, v.Default, v.Help)
				}
				return w.Flush()
			}
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.ConfigFile != "" {
				fmt.Fprintf(w, "config file: %s\n\n", cfg.ConfigFile)
			}
			fmt.Fprintln(w, "VARIABLE\tKEY\tVALUE\tSOURCE\tMEANING")
			for _, v := range config.Variables {
				val := cfg.Values[v.Name]
				if val == "" {
					val = "(" + v.Default + ")"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.Key, val, cfg.Sources[v.Name], v.Help)
			}
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&defaults, "defaults", false, "print the defaults only")
	return c
}
