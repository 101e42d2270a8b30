package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"joren/appliance/config"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the appliance's configuration file, or print every key with its default",
	}
	var noFiles bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem of a configuration file, with its key and line",
		Long: `check reads FILE as joren run does (with the JOREN_<SECTION>_<KEY> environment
overrides) and applies the same checks: what check passes, run does not refuse.
It lists every problem with its key and line: unknown keys (with the key you
probably meant), values of the wrong type, a second YAML document, values that
make no sense together, GPIO pins and light patterns that do not parse.

Then it checks the configuration against this machine: the files it names (the
store's key, its length and format, or its directory when the key is to be made;
the broker's password, the command key, at least 16 bytes; TLS files; the
installer page's password, at least 8 characters), the model files, the
directories it writes, the camera's recording, the GPIO lines and the addresses
it listens on. Give --no-files to check a file meant for another machine.

Warnings are printed too (to standard error, exit status 0): /healthz and
/metrics open to the network, the installer page on every interface, face
pictures written to disk (vision.debug_dir), a store that is not encrypted, a
secret file other users can read. Exit status 1 if there is any problem.`,
		Args: exactArgs(1, "a configuration file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, warnings, err := config.Load(args[0], config.Options{Environ: environ(), Machine: !noFiles})
			printWarnings(g.stderr, warnings)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok\n", args[0])
			return nil
		},
	}
	check.Flags().BoolVar(&noFiles, "no-files", false, "do not check the configuration against this machine (files, directories, GPIO lines, addresses): it is for another machine")
	cmd.AddCommand(check, &cobra.Command{
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

// printWarnings writes a configuration's warnings, one a line.
func printWarnings(w io.Writer, warnings []config.Problem) {
	for _, p := range warnings {
		fmt.Fprintf(w, "joren: warning: %s\n", p)
	}
}

// environ is the process environment, for configuration overrides.
func environ() []string { return os.Environ() }
