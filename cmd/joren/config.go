package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"joren/appliance/config"
	"joren/appliance/installer"
	"joren/cluster/store"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the appliance's configuration file, or print every key with its default",
	}
	var noFiles bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem of a configuration file, with its line",
		Long: `check reads FILE as joren run would (with the JOREN_<SECTION>_<KEY> environment
overrides) and lists every problem: unknown keys (with the key you probably
meant), values of the wrong type, and values that make no sense together, each
with its line. Then it checks the files the configuration names, as they are
on this machine: the installer page's password, the store's key (its directory
must exist; the key itself is made on first start), the broker's password and
command key. Give --no-files to check a file meant for another machine.
Exit status 1 if there is any problem.`,
		Args: exactArgs(1, "a configuration file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0], environ(), nil)
			if err != nil {
				return err
			}
			if !noFiles {
				if err := checkFiles(cfg); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			fmt.Fprintf(g.stdout, "%s: ok\n", args[0])
			return nil
		},
	}
	check.Flags().BoolVar(&noFiles, "no-files", false, "do not check the files the configuration names (it is for another machine)")
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

// checkFiles checks the files cfg names, as joren run would open them.
func checkFiles(cfg config.Config) error {
	var errs []error
	bad := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %w", key, err)) }
	if cfg.Installer.Enabled {
		if err := installer.CheckPasswordFile(cfg.Installer.PasswordFile); err != nil {
			bad("installer.password_file", err)
		}
		if f := cfg.Installer.StaffPasswordFile; f != "" {
			if err := installer.CheckStaffPasswordFile(f); err != nil {
				bad("installer.staff_password_file", err)
			}
		}
	}
	if k := cfg.Store.KeyFile; k != "" {
		if _, err := os.Stat(k); err == nil {
			if _, err := store.LoadKey(k); err != nil {
				bad("store.key_file", err)
			}
		} else if _, err := os.Stat(filepath.Dir(k)); err != nil {
			bad("store.key_file", fmt.Errorf("%s: its directory must exist (the key is made there on first start, never on the data partition): %w", k, err))
		}
	}
	for _, f := range []struct{ key, path string }{
		{"events.password_file", cfg.Events.PasswordFile},
		{"events.command_key_file", cfg.Events.CommandKeyFile},
		{"events.ca_file", cfg.Events.CAFile},
		{"events.cert_file", cfg.Events.CertFile},
		{"events.key_file", cfg.Events.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if fh, err := os.Open(f.path); err != nil {
			bad(f.key, err)
		} else {
			fh.Close()
		}
	}
	return errors.Join(errs...)
}

// environ is the process environment, for configuration overrides.
func environ() []string { return os.Environ() }
