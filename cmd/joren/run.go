package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"joren/appliance"
	"joren/appliance/config"
	"joren/internal/version"
	"joren/vision/camera/cv"
)

func newRunCommand(g *globals) *cobra.Command {
	var (
		path string
		sets []string
	)
	cmd := &cobra.Command{
		Use:   "run --config /etc/joren/joren.yaml [--set section.key=value]...",
		Short: "Run the door camera: camera, faces, regulars, staff indicator, visit events",
		Long: `run is the appliance: it reads frames from the camera, turns passages into
visits, recognises returning customers in the identity store, lights the staff
indicator when a regular walks in, and keeps anonymised visit events for head
office (delivered over MQTT when a broker is configured). It runs until
SIGTERM or SIGINT (a recording: until it ends), then stops cleanly: every
decision is in the store and every event in the outbox.

Configuration: --config FILE (see joren config defaults for every key),
overridden by the environment (JOREN_<SECTION>_<KEY>, e.g. JOREN_CAMERA_SOURCE)
and by --set section.key=value; --models DIR overrides device.models. Under
systemd it reports readiness and feeds the watchdog; /healthz and /metrics are
served on http.listen (localhost). While it runs, joren staff, customers, forget
and store reach it on its control socket (control.socket, root only) instead of
needing the store to themselves.`,
		Args: exactArgs(0, "no arguments (the configuration is --config)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var overrides []config.Override
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return usagef("--set %q: want section.key=value", s)
				}
				overrides = append(overrides, config.Override{Key: k, Value: v})
			}
			cfg, err := config.Load(path, environ(), overrides)
			if err != nil {
				return err
			}
			if g.modelDirSet {
				// The global --models names the face models here too.
				for _, o := range overrides {
					if o.Key == "device.models" {
						return usagef("give --models DIR or --set device.models=DIR, not both")
					}
				}
				cfg.Device.Models = g.modelDir
			}
			log, err := applianceLogger(g, cfg)
			if err != nil {
				return err
			}
			a, err := appliance.Open(cfg, appliance.Options{Log: log, Version: version.String(), Camera: cv.Driver{}})
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (default: built-in defaults only)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override one key, section.key=value (repeatable)")
	return cmd
}

// applianceLogger logs at the configuration's level and format, unless
// --log-level was given on the command line.
func applianceLogger(g *globals, cfg config.Config) (*slog.Logger, error) {
	level := cfg.Log.Level
	if g.logLevelSet {
		level = g.logLevel
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
}
