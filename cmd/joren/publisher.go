package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/sync/event"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vocab"
)

// publishFlags configure publishing visit events to head office, for
// every command that can (joren events publish, joren replay --publish).
type publishFlags struct {
	broker       string
	site         string
	device       string
	user         string
	passwordFile string
	ca           string
	cert         string
	key          string
	state        string
	period       string
	discovery    bool
	timeout      time.Duration
}

// register adds the flags; the broker flag is named name (--publish).
func (f *publishFlags) register(cmd *cobra.Command, name string) {
	host, _ := os.Hostname()
	fl := cmd.Flags()
	fl.StringVar(&f.broker, name, "", "publish visit events to this MQTT broker: mqtt://host[:port] or mqtts://host[:port]")
	fl.StringVar(&f.site, "site", os.Getenv("JOREN_SITE"), "the shop's name in topics and events (env JOREN_SITE)")
	fl.StringVar(&f.device, "device", envOr("JOREN_DEVICE", event.DeviceName(host)), "this box's name in topics and events (env JOREN_DEVICE; default: the host name)")
	fl.StringVar(&f.user, "mqtt-user", os.Getenv("JOREN_MQTT_USER"), "MQTT user name (env JOREN_MQTT_USER)")
	fl.StringVar(&f.passwordFile, "mqtt-password-file", "", "file holding the MQTT password (or env JOREN_MQTT_PASSWORD)")
	fl.StringVar(&f.ca, "mqtt-ca", "", "PEM file of the CA that signed the broker's certificate (mqtts; default: the system's)")
	fl.StringVar(&f.cert, "mqtt-cert", "", "PEM client certificate, for brokers that require one (with --mqtt-key)")
	fl.StringVar(&f.key, "mqtt-key", "", "PEM key of the client certificate")
	fl.StringVar(&f.state, "state", envOr("JOREN_STATE", "state"), "directory of the event outbox and the device secret (env JOREN_STATE)")
	fl.StringVar(&f.period, "pseudonym-period", string(event.Month), "how long a visitor keeps one pseudonym: day, week, month or year (local calendar; set TZ)")
	fl.BoolVar(&f.discovery, "ha-discovery", false, "publish Home Assistant MQTT discovery (a \"regular at the door\" sensor and visit counters)")
	fl.DurationVar(&f.timeout, "publish-timeout", 30*time.Second, "how long to wait for the broker to take every event before exiting (undelivered events stay in the outbox)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// enabled says whether publishing was asked for.
func (f *publishFlags) enabled() bool { return f.broker != "" }

// check validates the flags (usage errors), before any work is done.
func (f *publishFlags) check() error {
	if !f.enabled() {
		return nil
	}
	if _, err := publish.ParseBroker(f.broker); err != nil {
		return usagef("--publish: %v", err)
	}
	if f.site == "" {
		return usagef("--publish needs --site NAME (the shop; or set JOREN_SITE)")
	}
	if err := event.CheckName("site", f.site); err != nil {
		return usagef("--site: %v", err)
	}
	if err := event.CheckName("device", f.device); err != nil {
		return usagef("--device: %v", err)
	}
	if _, err := event.ParsePeriod(f.period); err != nil {
		return usagef("--pseudonym-period: %v", err)
	}
	return nil
}

// publishing is a Publisher running in the background for a command.
// Its methods do nothing when publishing was not asked for (nil).
type publishing struct {
	p      *publish.Publisher
	box    *outbox.Outbox
	in     chan vocab.Decision
	done   chan error
	cancel context.CancelFunc
	log    func(msg string, args ...any)
}

// start opens the outbox and the device secret under --state and starts
// delivering. It returns nil (and no error) without --publish.
func (f *publishFlags) start(ctx context.Context, g *globals, models []string) (*publishing, error) {
	if !f.enabled() {
		return nil, nil
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	password := os.Getenv("JOREN_MQTT_PASSWORD")
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading the MQTT password: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	secret, err := event.LoadSecret(filepath.Join(f.state, "device-secret"))
	if err != nil {
		return nil, err
	}
	period, _ := event.ParsePeriod(f.period)
	maker, err := event.NewMaker(event.Config{Device: f.device, Site: f.site, Secret: secret, Period: period})
	if err != nil {
		return nil, err
	}
	box, err := outbox.Open(filepath.Join(f.state, "outbox.db"), outbox.Options{})
	if err != nil {
		return nil, err
	}
	p, err := publish.New(publish.Config{
		Broker:       f.broker,
		Username:     f.user,
		Password:     password,
		CAFile:       f.ca,
		CertFile:     f.cert,
		KeyFile:      f.key,
		Version:      buildVersion(),
		Models:       models,
		Discovery:    f.discovery,
		FailFast:     true, // a person is watching: say at once what is wrong
		DrainTimeout: f.timeout,
		Log:          g.log,
	}, maker, box)
	if err != nil {
		box.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &publishing{p: p, box: box, in: make(chan vocab.Decision), done: make(chan error, 1), cancel: cancel, log: g.log.Info}
	go func() { s.done <- p.Run(ctx, s.in) }()
	// Fail before doing any work if the broker refuses us; if it is only
	// unreachable, go on: events wait in the outbox.
	attempt := make(chan error, 1)
	go func() { attempt <- p.FirstAttempt(ctx) }()
	select {
	case err := <-attempt:
		var refused publish.RefusedError
		if errors.As(err, &refused) {
			cancel()
			<-s.done
			box.Close()
			return nil, err
		}
		if err != nil {
			g.log.Warn("the MQTT broker cannot be reached yet; events are kept in the outbox meanwhile", "error", err)
		}
	case err := <-s.done:
		cancel()
		box.Close()
		if err == nil {
			err = errors.New("the publisher stopped before connecting")
		}
		return nil, err
	}
	if n := box.Len(); n > 0 {
		g.log.Info("events from an earlier run are waiting in the outbox; they go first", "pending", n, "outbox", box.Path())
	}
	return s, nil
}

// Publish hands d to the publisher; it returns once the event is stored
// in the outbox, or with the publisher's error if it stopped (a refused
// connection, say).
func (s *publishing) Publish(d vocab.Decision) error {
	if s == nil {
		return nil
	}
	select {
	case s.in <- d:
		return nil
	case err := <-s.done:
		s.done <- err // for Close
		if err == nil {
			err = errors.New("the publisher stopped")
		}
		return err
	}
}

// Close ends the input, waits (up to --publish-timeout) until the broker
// has every event, and closes the outbox. Safe to call twice.
func (s *publishing) Close() error {
	if s == nil || s.in == nil {
		return nil
	}
	close(s.in)
	s.in = nil
	err := <-s.done
	s.cancel()
	st := s.p.Stats()
	s.log("events published", "delivered", st.Outbox.Delivered, "pending", st.Outbox.Pending, "dropped", st.Outbox.Dropped)
	if cerr := s.box.Close(); err == nil {
		err = cerr
	}
	return err
}

// buildVersion is the binary's module version ("devel" from a work tree).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
