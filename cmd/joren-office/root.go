package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"joren/office"
	"joren/office/sqlstore"
)

// globals are what every subcommand shares.
type globals struct {
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
}

func newRootCommand() *cobra.Command {
	g := &globals{stdout: os.Stdout, stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "joren-office",
		Short: "Head office's service for a chain of Joren door boxes",
		Long: `joren-office collects the pseudonymous visit events, status and stats that
Joren boxes publish over MQTT, keeps them in SQLite or PostgreSQL with daily
rollups per shop, box and local day, and shows them on a dashboard.

  joren-office run --broker mqtt://HOST --db sqlite:office.db --listen :8080 --password-file FILE
  joren-office report --db sqlite:office.db --from 2026-11-01 --to 2026-11-30 --csv
  joren-office sites zone SHOP Asia/Tokyo

docs/office.md is the manual.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return usagef("--log-level %q: want debug, info, warn or error", g.logLevel)
			}
			g.stdout, g.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(newRunCommand(g), newReportCommand(g), newSitesCommand(g), newCheckCommand(g))
	return root
}

// dbFlag registers --db (env JOREN_OFFICE_DB).
func dbFlag(cmd *cobra.Command, dsn *string) {
	def := os.Getenv("JOREN_OFFICE_DB")
	if def == "" {
		def = "sqlite:office.db"
	}
	cmd.Flags().StringVar(dsn, "db", def, "the database: sqlite:FILE or postgres://USER@HOST/DB (env JOREN_OFFICE_DB)")
}

// openExisting opens a store that must already exist (the commands that
// only read or adjust one): a mistyped SQLite file name is an error, not
// a new empty database.
func openExisting(ctx context.Context, g *globals, dsn string, ret office.Retention) (*sqlstore.Store, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database %s (joren-office run makes it): %w", dsn, err)
		}
	}
	return sqlstore.Open(ctx, dsn, sqlstore.Options{Retention: ret, Log: g.log})
}

// exactArgs is cobra.ExactArgs with a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}
