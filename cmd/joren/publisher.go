package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/internal/version"
	"joren/sync/event"
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
	fl := cmd.Flags()
	fl.StringVar(&f.broker, name, "", "publish visit events to this MQTT broker: mqtt://host[:port] or mqtts://host[:port]")
	fl.StringVar(&f.site, "site", os.Getenv("JOREN_SITE"), "the shop's name in topics and events (env JOREN_SITE)")
	fl.StringVar(&f.device, "device", os.Getenv("JOREN_DEVICE"), "this box's name in topics and events (env JOREN_DEVICE; default: the host name)")
	fl.StringVar(&f.user, "mqtt-user", os.Getenv("JOREN_MQTT_USER"), "MQTT user name (env JOREN_MQTT_USER)")
	fl.StringVar(&f.passwordFile, "mqtt-password-file", "", "file holding the MQTT password (or env JOREN_MQTT_PASSWORD)")
	fl.StringVar(&f.ca, "mqtt-ca", "", "PEM file of the CA that signed the broker's certificate (mqtts; default: the system's)")
	fl.StringVar(&f.cert, "mqtt-cert", "", "PEM client certificate, for brokers that require one (with --mqtt-key)")
	fl.StringVar(&f.key, "mqtt-key", "", "PEM key of the client certificate")
	fl.StringVar(&f.state, "state", envOr("JOREN_STATE", "state"), "directory of the event outbox and the device secret (env JOREN_STATE)")
	fl.StringVar(&f.period, "pseudonym-period", string(event.Month), "how long a visitor keeps one pseudonym: day, week, month or year (in the store's time zone with replay, the local one, TZ, otherwise)")
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

// setup is the flags' event stack: the one place that maps them to it.
// zone is the calendar of pseudonym periods (nil: the local one).
func (f *publishFlags) setup(zone *time.Location, models []string) publish.Setup {
	return publish.Setup{
		StateDir:     f.state,
		Device:       f.device,
		Site:         f.site,
		Period:       f.period,
		Zone:         zone,
		PasswordFile: f.passwordFile,
		Config: publish.Config{
			Broker:       f.broker,
			Username:     f.user,
			Password:     os.Getenv("JOREN_MQTT_PASSWORD"), // --mqtt-password-file wins
			CAFile:       f.ca,
			CertFile:     f.cert,
			KeyFile:      f.key,
			Version:      version.String(),
			Models:       models,
			Discovery:    f.discovery,
			FailFast:     true, // a person is watching: say at once what is wrong
			DrainTimeout: f.timeout,
		},
	}
}

// publishFlag names the flag that sets a field of publish.Setup.
func publishFlag(field publish.SetupField) string {
	switch field {
	case publish.FieldStateDir:
		return "--state"
	case publish.FieldDevice:
		return "--device"
	case publish.FieldSite:
		return "--site"
	case publish.FieldPeriod:
		return "--pseudonym-period"
	case publish.FieldPasswordFile:
		return "--mqtt-password-file"
	}
	return "--publish"
}

// flagError names the flag of a publish.SetupError; other errors pass.
func flagError(err error) error {
	var se *publish.SetupError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %w", publishFlag(se.Field), se.Err)
	}
	return err
}

// check validates the flags (usage errors), before any work is done.
func (f *publishFlags) check() error {
	if !f.enabled() {
		return nil
	}
	if f.site == "" {
		return usagef("--publish needs --site NAME (the shop; or set JOREN_SITE)")
	}
	if err := f.setup(nil, nil).Check(); err != nil {
		return usagef("%v", flagError(err))
	}
	return nil
}

// publishing is a Publisher running in the background for a command.
// Its methods do nothing when publishing was not asked for (nil).
type publishing struct {
	ev     *publish.Stack
	in     chan vocab.Decision
	done   chan error
	cancel context.CancelFunc
	log    func(msg string, args ...any)
}

// start opens the event stack under --state and starts delivering;
// pseudonym periods follow zone's calendar (nil: the local one). It
// returns nil (and no error) without --publish.
func (f *publishFlags) start(ctx context.Context, g *globals, zone *time.Location, models []string) (*publishing, error) {
	if !f.enabled() {
		return nil, nil
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	setup := f.setup(zone, models)
	setup.Log = g.log
	ev, err := publish.Open(setup)
	if err != nil {
		return nil, flagError(err)
	}
	p, box := ev.Publisher, ev.Outbox
	ctx, cancel := context.WithCancel(ctx)
	s := &publishing{ev: ev, in: make(chan vocab.Decision), done: make(chan error, 1), cancel: cancel, log: g.log.Info}
	go func() { s.done <- p.Run(ctx, s.in) }()
	// Fail before doing any work if the broker refuses us; if it is only
	// unreachable, go on: events wait in the outbox.
	attempt := make(chan error, 1)
	go func() { attempt <- p.FirstAttempt(ctx) }()
	// refused is the command's error when the broker refuses the box:
	// nothing of this run was stored, and what waits is said.
	refused := func(err error) error {
		err = fmt.Errorf("%w\nnothing was published or stored by this run; %d event(s) from earlier runs wait in %s", err, box.Len(), box.Path())
		ev.Close()
		return err
	}
	select {
	case err := <-attempt:
		var r publish.RefusedError
		if errors.As(err, &r) {
			cancel()
			<-s.done
			return nil, refused(err)
		}
		if err != nil {
			g.log.Warn("the MQTT broker cannot be reached yet; events are kept in the outbox meanwhile", "error", err)
		}
	case err := <-s.done:
		cancel()
		var r publish.RefusedError
		if errors.As(err, &r) {
			return nil, refused(err)
		}
		ev.Close()
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
	st := s.ev.Stats()
	s.log("events published", "delivered", st.Outbox.Delivered, "pending", st.Outbox.Pending, "dropped", st.Outbox.Dropped)
	if err != nil {
		err = s.explain(err, st)
	}
	if cerr := s.ev.Close(); err == nil {
		err = cerr
	}
	return err
}

// explain says, with the publisher's error, whether anything was
// published, why not (the broker's state), and what still waits.
func (s *publishing) explain(err error, st event.Stats) error {
	var refused publish.RefusedError
	if errors.As(err, &refused) {
		err = fmt.Errorf("%w\n%d event(s) wait in %s", err, st.Outbox.Pending, s.ev.Outbox.Path())
	}
	if st.Outbox.Delivered > 0 {
		return err
	}
	if b := s.ev.Broker(); b.State != vocab.BrokerConnected && b.Reason != "" && !strings.Contains(err.Error(), b.Reason) {
		return fmt.Errorf("nothing was published (%s): %w", b.Reason, err)
	}
	return fmt.Errorf("nothing was published: %w", err)
}
