package publish

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"joren/sync/event"
	"joren/sync/outbox"
	"joren/vocab"
)

// Topics are a device's MQTT topics.
type Topics struct {
	// Visit events (QoS 1, through the outbox).
	Visit string
	// Status: retained online/offline (and the last will).
	Status string
	// Stats: periodic counts.
	Stats string
	// Command (subscribed only when commands are on) and Reply.
	Command string
	Reply   string
	// Door: "ON" while a regular is at the door (Home Assistant only).
	Door string
	// Probe: the box's own round trip at each connection, which tells
	// whether the broker's ACL lets its messages through (probe.go).
	Probe string
}

// TopicsFor returns the topics of device at site: joren/SITE/DEVICE/...
func TopicsFor(site, device string) Topics {
	base := "joren/" + site + "/" + device + "/"
	return Topics{
		Visit:   base + "visit",
		Status:  base + "status",
		Stats:   base + "stats",
		Command: base + "command",
		Reply:   base + "reply",
		Door:    base + "door",
		Probe:   base + "probe",
	}
}

// Identities is what the forget command needs from the identity store.
type Identities interface {
	// Visitors lists the internal ids of every identity.
	Visitors(ctx context.Context) ([]string, error)
	// Forget deletes an identity and everything stored about it.
	Forget(ctx context.Context, visitor string) error
}

// Publisher turns decisions into events, keeps them in the outbox, and
// delivers them to the broker.
type Publisher struct {
	cfg    Config
	broker broker
	tls    *tls.Config
	maker  *event.Maker
	box    *outbox.Outbox
	topics Topics
	log    *slog.Logger
	start  time.Time

	mu    sync.Mutex // serialises Publish; guards tally
	tally tally

	delivered atomic.Uint64
	received  atomic.Int64 // commands
	rejected  atomic.Int64

	door     chan struct{}
	commands chan []byte

	offline   bool          // no broker: events are only kept
	first     chan struct{} // closed after the first connection attempt
	firstOnce sync.Once
	firstErr  error
	seen      seenCommands // command ids already executed (deliver's goroutine only)
	seenLost  bool         // the stored ids were damaged: older commands are refused
	state     brokerState
	// sentHealth is the health of the last online status (healthKey;
	// deliver's goroutine only).
	sentHealth string
}

// New returns a Publisher of maker's events through box.
//
// With no Broker the publisher only keeps events: they wait in the outbox
// until a later start has a broker (a device installed before head office
// is ready loses nothing).
func New(cfg Config, maker *event.Maker, box *outbox.Outbox) (*Publisher, error) {
	cfg.setDefaults()
	var (
		b   broker
		err error
	)
	if cfg.Broker != "" {
		if b, err = parseBroker(cfg.Broker); err != nil {
			return nil, err
		}
	}
	if err := cfg.checkUse(b); err != nil {
		return nil, err
	}
	if cfg.Username == "" {
		cfg.Username, cfg.Password = b.user, b.password
	}
	var tlsCfg *tls.Config
	if b.tls {
		if tlsCfg, err = cfg.tlsConfig(); err != nil {
			return nil, err
		}
	}
	if cfg.Commands {
		if len(cfg.CommandKey) < 16 {
			return nil, fmt.Errorf("commands are on but the command key has %d bytes, want at least 16", len(cfg.CommandKey))
		}
		if cfg.Identities == nil {
			return nil, errors.New("commands are on but no identity store was given to forget from")
		}
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "joren-" + maker.Site() + "-" + maker.Device()
	}
	p := &Publisher{
		cfg:      cfg,
		broker:   b,
		tls:      tlsCfg,
		maker:    maker,
		box:      box,
		topics:   TopicsFor(maker.Site(), maker.Device()),
		log:      cfg.Log.With("broker", b.display),
		start:    time.Now(),
		door:     make(chan struct{}, 1),
		commands: make(chan []byte, 16),
		first:    make(chan struct{}),
	}
	if cfg.Broker == "" {
		p.offline = true
		p.firstOnce.Do(func() { close(p.first) })
	}
	if p.seen, err = readSeen(box); err != nil {
		// Refuse the commands that could be replays rather than stop
		// delivering events.
		p.seenLost = true
		p.log.Error("the record of executed commands is damaged; commands from before this start are refused", "error", err)
	}
	err = box.ViewState(func(s *outbox.State) (err error) {
		p.tally, err = readTally(s)
		return err
	})
	if err != nil {
		// Counts are a convenience; a damaged copy must not stop
		// delivery. Start them again (the next count overwrites it).
		p.log.Warn("visit counts are damaged; starting from zero", "outbox", box.Path(), "error", err)
		p.tally = tally{days: map[string]event.Counts{}}
	}
	return p, nil
}

// Topics returns the publisher's topics.
func (p *Publisher) Topics() Topics { return p.topics }

// DecisionError is a decision that cannot become an event; Run logs it
// and goes on.
type DecisionError struct{ Err error }

func (e DecisionError) Error() string { return e.Err.Error() }
func (e DecisionError) Unwrap() error { return e.Err }

// Publish stores the event of decision d in the outbox and returns once
// it is on disk: from then on it will be delivered, whatever happens to
// the network, the broker or this process. It never waits for the
// network. In the same transaction it counts the visit in the stats,
// unless its event was counted before (a decision published again).
// Staff decisions, and unknown visitors in consent mode, are not
// published (nil). A decision that cannot become an event is a
// DecisionError; any other error is the outbox's.
func (p *Publisher) Publish(d vocab.Decision) error {
	v, err := p.maker.Visit(d)
	if errors.Is(err, event.ErrStaff) || errors.Is(err, event.ErrUnknown) {
		return nil
	}
	if err != nil {
		return DecisionError{err}
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", v.ID, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var (
		next    tally
		counted bool
	)
	dropped, err := p.box.PutFunc([]outbox.Record{{ID: v.ID, Topic: p.topics.Visit, Payload: payload}}, func(s *outbox.State) (err error) {
		next, counted, err = p.tally.count(s, v)
		return err
	})
	if err != nil {
		return err
	}
	if counted {
		p.tally = next
	} else {
		p.log.Debug("event published again; counted once already (or its day is closed)", "id", v.ID, "day", v.Day)
	}
	if dropped > 0 {
		p.log.Warn("outbox full: dropped the oldest events", "dropped", dropped, "dropped_total", p.box.Dropped(), "outbox", p.box.Path())
	}
	if v.Regular && p.cfg.Discovery {
		select {
		case p.door <- struct{}{}:
		default:
		}
	}
	return nil
}

// FirstAttempt waits for Run's first connection attempt and returns its
// error: nil when connected, a RefusedError when the broker refused the
// device, another error when it could not be reached (Run keeps trying).
// Commands run by a person use it to fail before doing any work.
func (p *Publisher) FirstAttempt(ctx context.Context) error {
	select {
	case <-p.first:
		return p.firstErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run is the publishing stage: it turns the decisions read from in into
// durable events (never blocking the sender on the network) and delivers
// the outbox to the broker, reconnecting as needed, until ctx is done. If
// in is closed, Run returns once the outbox is empty (or DrainTimeout
// passed: then with an error saying what is left). in may be nil: Run
// then only delivers. Cancelling ctx is a normal shutdown: Run publishes
// the offline status and returns nil; undelivered events stay in the
// outbox for the next start. Without a broker, Run only stores the events
// read from in.
func (p *Publisher) Run(ctx context.Context, in <-chan vocab.Decision) error {
	g, gctx := errgroup.WithContext(ctx)
	dctx, cancel := context.WithCancelCause(gctx)
	defer cancel(nil)
	var inputDone chan struct{}
	if in != nil {
		inputDone = make(chan struct{})
		g.Go(func() error {
			defer close(inputDone)
			for {
				select {
				case <-gctx.Done():
					return nil
				case d, ok := <-in:
					if !ok {
						if p.cfg.DrainTimeout > 0 {
							time.AfterFunc(p.cfg.DrainTimeout, func() { cancel(errDrainTimeout) })
						}
						return nil
					}
					if err := p.Publish(d); err != nil {
						var de DecisionError
						if !errors.As(err, &de) {
							return err
						}
						p.log.Error("decision not published", "error", err)
					}
				}
			}
		})
	}
	if p.offline {
		return g.Wait()
	}
	g.Go(func() error { return p.deliver(dctx, inputDone) })
	return g.Wait()
}

var (
	errDrainTimeout = errors.New("drain timeout")
	errDrained      = errors.New("outbox drained")
)

// fatalError stops delivery: the outbox itself failed.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// deliver connects, pumps the outbox, and reconnects with back-off.
func (p *Publisher) deliver(ctx context.Context, inputDone <-chan struct{}) error {
	retry := p.cfg.backOff()
	var lastErr string
	for {
		if ctx.Err() != nil {
			return p.stopped(ctx)
		}
		s, err := p.connect(ctx)
		p.firstOnce.Do(func() {
			p.firstErr = err
			close(p.first)
		})
		if err != nil {
			p.connectionFailed(err)
			var r RefusedError
			if errors.As(err, &r) && p.cfg.FailFast {
				return err
			}
			if ctx.Err() != nil {
				return p.stopped(ctx)
			}
			wait := retry.NextBackOff()
			// Say it once loudly, then quietly while it lasts: a shop
			// offline for a weekend must not fill the log.
			if msg := err.Error(); msg != lastErr {
				level := slog.LevelWarn
				if errors.As(err, &r) {
					level = slog.LevelError
				}
				p.log.Log(ctx, level, "cannot reach the MQTT broker; events are kept in the outbox", "error", err, "pending", p.box.Len(), "retry_in", wait.Round(time.Millisecond))
				lastErr = msg
			} else {
				p.log.Debug("still cannot reach the MQTT broker", "error", err, "pending", p.box.Len(), "retry_in", wait.Round(time.Millisecond))
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		retry.Reset()
		lastErr = ""
		p.log.Info("connected to the MQTT broker", "pending", p.box.Len())
		if s.unchecked != "" {
			p.log.Warn("cannot check that the broker delivers the events", "reason", s.unchecked)
		}
		p.state.set(vocab.BrokerConnected, s.unchecked, time.Now())
		err = p.pump(ctx, s, inputDone)
		switch {
		case errors.Is(err, errDrained):
			p.goodbye(s)
			return nil
		case ctx.Err() != nil:
			p.goodbye(s)
			return p.stopped(ctx)
		}
		var f fatalError
		if errors.As(err, &f) {
			s.close(p, "outbox failed")
			return f.error
		}
		p.log.Warn("lost the MQTT broker; will reconnect", "error", err, "pending", p.box.Len())
		p.state.set(vocab.BrokerConnecting, fmt.Sprintf("connection lost: %v", err), time.Now())
		s.client.Disconnect(0)
	}
}

// stopped is deliver's result when its context ends.
func (p *Publisher) stopped(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errDrainTimeout) {
		return fmt.Errorf("%d event(s) not delivered to %s within %s; they stay in %s and are sent at the next start",
			p.box.Len(), p.broker.display, p.cfg.DrainTimeout, p.box.Path())
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pump publishes the outbox over one connection until it is lost, ctx is
// done, or (input closed) the outbox is empty.
func (p *Publisher) pump(ctx context.Context, s *session, inputDone <-chan struct{}) error {
	stats := time.NewTicker(p.cfg.StatsEvery)
	defer stats.Stop()
	// Without a Health function nothing but the outbox changes: no need
	// to look.
	var healthC <-chan time.Time
	if p.cfg.Health != nil {
		t := time.NewTicker(p.cfg.HealthEvery)
		defer t.Stop()
		healthC = t.C
	}
	p.sendCounts(s) // the birth status was just published
	// A regular seen while disconnected has left the door by now.
	select {
	case <-p.door:
	default:
	}
	for {
		// Side work between batches, so a long backlog does not starve it.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.lost:
			return s.lostErr
		case <-stats.C:
			p.sendStats(s)
		case <-healthC:
			p.checkHealth(s)
		case raw := <-p.commands:
			p.command(ctx, s, raw)
		case <-p.door:
			s.client.Publish(p.topics.Door, 0, false, "ON")
		default:
		}
		recs, err := p.box.Peek(p.cfg.InFlight)
		if err != nil {
			return fatalError{err}
		}
		if len(recs) == 0 {
			if isClosed(inputDone) {
				return errDrained
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.lost:
				return s.lostErr
			case <-p.box.Ready():
			case <-inputDone:
			case <-stats.C:
				p.sendStats(s)
			case <-healthC:
				p.checkHealth(s)
			case raw := <-p.commands:
				p.command(ctx, s, raw)
			case <-p.door:
				s.client.Publish(p.topics.Door, 0, false, "ON")
			}
			continue
		}
		// Publish a window of events, then collect acknowledgements in
		// order: on one connection QoS 1 acknowledgements keep order, so
		// the first failure ends the acknowledged prefix.
		toks := make([]paho.Token, len(recs))
		for i, r := range recs {
			toks[i] = s.client.Publish(r.Topic, 1, false, r.Payload)
		}
		acked := make([]uint64, 0, len(recs))
		var failed error
		for i, tok := range toks {
			if err := s.wait(ctx, tok, p.cfg.AckTimeout); err != nil {
				failed = fmt.Errorf("publishing event %s: %w", recs[i].ID, err)
				break
			}
			acked = append(acked, recs[i].Seq)
		}
		if err := p.box.Ack(acked...); err != nil {
			return fatalError{err}
		}
		p.delivered.Add(uint64(len(acked)))
		if failed != nil {
			return failed
		}
	}
}
