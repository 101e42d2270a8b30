package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

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
indicator when a regular walks in, and keeps pseudonymous visit events for head
office (delivered over MQTT when a broker is configured). It runs until
SIGTERM or SIGINT (a recording: until it ends), then stops within 5 seconds:
the visits of the people in view are decided, every decision is in the store
and every event in the outbox (a second signal stops it at once).

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
				if k == "device.models" && g.modelDirSet {
					return usagef("give --models DIR or --set device.models=DIR, not both")
				}
				overrides = append(overrides, config.Override{Key: k, Value: v})
			}
			if g.modelDirSet {
				// The global --models names the face models here too,
				// before the checks look for them.
				overrides = append(overrides, config.Override{Key: "device.models", Value: g.modelDir})
			}
			// The checks of joren config check, this machine included.
			cfg, warnings, err := config.Load(path, config.Options{Environ: environ(), Sets: overrides, Machine: true})
			if err != nil {
				printWarnings(g.stderr, warnings)
				return err
			}
			log, err := applianceLogger(g, cfg)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				log.Warn("configuration: "+w.Msg, "key", w.Key, "where", w.Where)
			}
			a, err := appliance.Open(cfg, appliance.Options{Log: log, Version: version.String(), Built: buildTime(), Camera: cv.Driver{}, ConfigFile: path})
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

// builtAt is when this binary was built (RFC 3339), stamped by the release
// builds (-ldflags -X main.builtAt=...: scripts/cross-build, the image's
// package), which carry no VCS information (-buildvcs=false).
var builtAt string

// buildTime is when this binary was built: the stamp, or the commit time
// Go records from the work tree (vcs.time); zero when unknown (go test).
// The wall clock is never believed before it.
func buildTime() time.Time {
	stamp := builtAt
	if bi, ok := debug.ReadBuildInfo(); ok && stamp == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				stamp = s.Value
			}
		}
	}
	t, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return time.Time{}
	}
	return t
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
