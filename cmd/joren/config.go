package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"joren/appliance/config"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the appliance's configuration file, or print every key with its default",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem of a configuration file, with its line",
		Long: `check reads FILE as joren run would (with the JOREN_<SECTION>_<KEY> environment
overrides) and lists every problem: unknown keys (with the key you probably
meant), values of the wrong type, and values that make no sense together, each
with its line. Exit status 1 if there is any.`,
		Args: exactArgs(1, "a configuration file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := config.Load(args[0], environ(), nil); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok\n", args[0])
			return nil
		},
	}, &cobra.Command{
		Use:   "defaults",
		Short: "Print a configuration file with every key, its default and what it does",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := config.Annotated(config.Default())
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(b)
			return err
		},
	})
	return cmd
}

// environ is the process environment, for configuration overrides.
func environ() []string { return os.Environ() }
