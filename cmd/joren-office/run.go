package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"joren/office"
	"joren/office/ingest"
	"joren/office/sqlstore"
)

type runFlags struct {
	dsn          string
	ic           ingest.Config
	passwordFile string
	ret          office.Retention
	purgeEvery   time.Duration
	web          webFlags
}

func newRunCommand(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --broker URL [--db DSN] [--listen ADDR --password-file FILE] [--group NAME]",
		Short: "Collect the boxes' events into the database (and serve the dashboard)",
		Long: `run subscribes to every box's visit, stats and status topics (QoS 1, a
persistent session under --client-id), stores each visit once with its daily
rollup, and acknowledges a message only once it is committed: stop it at any
moment, nothing is lost. Messages that fail the events' schema are quarantined
(kept, counted, shown), never dropped and never fatal.

With --group NAME, several instances (each with its own --client-id) share the
visits and stats through the shared subscription $share/NAME/...: run them on
one PostgreSQL database (or one SQLite file on one machine).

With --listen ADDR, the dashboard and /metrics are served there (login with
the password in --password-file).

Retention (days, 0 = forever): --keep-events (the visits one by one, with their
pseudonyms), --keep-rollups (the daily counts), --keep-quarantine.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.ic.Broker == "" {
				return usagef("--broker is required (mqtt://HOST or mqtts://HOST)")
			}
			if err := f.ret.Check(); err != nil {
				return usageError{err}
			}
			if err := f.web.check(); err != nil {
				return err
			}
			return run(cmd.Context(), g, &f)
		},
	}
	dbFlag(cmd, &f.dsn)
	fl := cmd.Flags()
	fl.StringVar(&f.ic.Broker, "broker", os.Getenv("JOREN_OFFICE_BROKER"), "the MQTT broker the boxes publish to: mqtt://host[:port] or mqtts://host[:port] (env JOREN_OFFICE_BROKER)")
	fl.StringVar(&f.ic.Group, "group", "", "share the load with the other instances of this group (MQTT shared subscription)")
	fl.StringVar(&f.ic.ClientID, "client-id", "", "MQTT client id: the broker queues messages for it while it is away; keep it, and make it differ between instances (default joren-office[-GROUP]-HOST)")
	fl.StringVar(&f.ic.Username, "mqtt-user", os.Getenv("JOREN_OFFICE_MQTT_USER"), "MQTT user name (env JOREN_OFFICE_MQTT_USER)")
	fl.StringVar(&f.passwordFile, "mqtt-password-file", "", "file holding the MQTT password (or env JOREN_OFFICE_MQTT_PASSWORD)")
	fl.StringVar(&f.ic.CAFile, "mqtt-ca", "", "PEM file of the CA that signed the broker's certificate (mqtts; default: the system's)")
	fl.StringVar(&f.ic.CertFile, "mqtt-cert", "", "PEM client certificate, for brokers that require one (with --mqtt-key)")
	fl.StringVar(&f.ic.KeyFile, "mqtt-key", "", "PEM key of the client certificate")
	fl.IntVar(&f.ic.BatchSize, "batch", 500, "most messages written in one transaction")
	fl.DurationVar(&f.ic.NetEvery, "net-every", 30*time.Second, "with --group: how often to drain the group's safety-net session (what the shared subscription missed across a broker restart)")
	def := office.DefaultRetention()
	fl.IntVar(&f.ret.Events, "keep-events", def.Events, "days to keep the visits one by one (0: forever); later visits are refused, not counted twice")
	fl.IntVar(&f.ret.Rollups, "keep-rollups", def.Rollups, "days to keep the daily counts (0: forever)")
	fl.IntVar(&f.ret.Quarantine, "keep-quarantine", def.Quarantine, "days to keep quarantined messages (0: forever)")
	fl.DurationVar(&f.purgeEvery, "purge-every", time.Hour, "how often to delete what is past the retention")
	f.web.register(cmd)
	return cmd
}

func run(ctx context.Context, g *globals, f *runFlags) error {
	f.ic.Password = os.Getenv("JOREN_OFFICE_MQTT_PASSWORD")
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fmt.Errorf("reading the MQTT password: %w", err)
		}
		f.ic.Password = strings.TrimRight(string(b), "\r\n")
	}
	store, err := sqlstore.Open(ctx, f.dsn, sqlstore.Options{Retention: f.ret, Log: g.log})
	if err != nil {
		return err
	}
	defer store.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f.ic.Store, f.ic.Log, f.ic.Metrics = store, g.log, ingest.NewMetrics(reg)
	c, err := ingest.New(f.ic)
	if err != nil {
		return usageError{err}
	}
	web, err := f.web.open(g, store, reg, c, f.ret)
	if err != nil {
		return err
	}
	g.log.Info("joren-office running", "db", sqlstore.Redact(f.dsn), "broker", f.ic.Broker, "group", f.ic.Group, "listen", f.web.listen)
	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return c.Run(gctx) })
	grp.Go(func() error { return purge(gctx, g, store, f.purgeEvery) })
	if web != nil {
		grp.Go(func() error { return web.serve(gctx) })
	}
	err = grp.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	g.log.Info("joren-office stopped")
	return err
}

// purge deletes what is past the retention now and then every period.
func purge(ctx context.Context, g *globals, s office.Store, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p, err := s.Purge(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			// The next pass tries again; collecting goes on.
			g.log.Error("deleting what is past the retention", "error", err)
		case p != office.Purged{}:
			g.log.Info("retention: deleted", "visits", p.Visits, "daily_rollups", p.Days, "quarantined", p.Quarantined)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
