package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"joren/internal/version"
)

// globals are the flags every subcommand shares.
type globals struct {
	modelDir string
	logLevel string
	// logLevelSet tells whether --log-level was given (it then beats the
	// appliance configuration's log.level).
	logLevelSet bool
	// modelDirSet tells whether --models was given (it then beats the
	// configuration's device.models).
	modelDirSet bool
	stdout      io.Writer
	stderr      io.Writer
	log         *slog.Logger
}

func newRootCommand() *cobra.Command {
	g := &globals{stdout: os.Stdout, stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "joren",
		Short: "Recognise regular customers at a shop's door, on the device",
		Long: `joren is the firmware of the Joren door camera.

It turns faces into descriptors with dlib's ResNet, groups them into people,
and recognises returning customers. These subcommands provision the models and
let you repeat the article's workflow on your own photos: compare two faces,
embed every face of some images, cluster a folder into people and plot it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return usagef("--log-level %q: want debug, info, warn or error", g.logLevel)
			}
			g.logLevelSet = cmd.Flags().Changed("log-level")
			g.modelDirSet = cmd.Flags().Changed("models")
			g.stdout, g.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	defDir := "models"
	if d := os.Getenv("JOREN_MODELS"); d != "" {
		defDir = d
	}
	root.PersistentFlags().StringVar(&g.modelDir, "models", defDir, "model directory (env JOREN_MODELS)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(
		newModelsCommand(g),
		newCompareCommand(g),
		newEmbedCommand(g),
		newClusterCommand(g),
		newEvaluateCommand(g),
		newConfigCommand(g),
		newRunCommand(g),
		newDemoCommand(g),
		newReplayCommand(g),
		newStaffCommand(g),
		newCustomersCommand(g),
		newForgetCommand(g),
		newStoreCommand(g),
		newEventsCommand(g),
		newIndicatorCommand(g),
		newWatchCommand(g),
		newSimCommand(g),
		newVersionCommand(g),
		newNoticeCommand(g),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s needs %s, got %d argument(s): %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}
