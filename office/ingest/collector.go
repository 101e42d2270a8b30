package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"joren/office"
	"joren/sync/event"
)

// Config configures a collector. Broker and Store are required.
type Config struct {
	// Broker is mqtt://host[:port] or mqtts://host[:port].
	Broker string
	// ClientID is the MQTT client id; its persistent session is what the
	// broker queues for while the collector is away, so it must stay the
	// same across restarts and differ between collectors (default:
	// joren-office[-GROUP]-HOSTNAME).
	ClientID string
	// Group, when set, shares the visit and stats topics with the other
	// collectors of the group ($share/GROUP/...).
	Group string
	// Username and Password authenticate to the broker (default: the
	// URL's); CAFile, CertFile and KeyFile configure TLS.
	Username, Password        string
	CAFile, CertFile, KeyFile string

	Store office.Store

	// BatchSize is the most messages written in one transaction
	// (default 500); Linger how long a batch waits for more messages
	// once it has one (default 20 ms).
	BatchSize int
	Linger    time.Duration
	// MaxPayload is the largest message stored (default 64 KiB; a box's
	// messages are under 1 KiB).
	MaxPayload int

	// NetEvery is how often a member of a group drains the group's
	// safety-net session (default 30 s; see net.go).
	NetEvery time.Duration

	Log     *slog.Logger
	Metrics *Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Collector is one head-office collector.
type Collector struct {
	cfg    Config
	broker broker
	tls    *tls.Config
	dec    decoder
	in     chan message
	// stopped is closed when Run stops taking messages: the router then
	// drops what it still receives (unacknowledged: it comes again).
	stopped chan struct{}
	log     *slog.Logger

	connected  atomic.Bool
	lastCommit atomic.Int64 // Unix ms
	stored     atomic.Int64
	quarantine atomic.Int64
	recovered  atomic.Int64
}

// Filters returns the topic filters a collector of group subscribes to,
// shared ones first.
func Filters(group string) []string {
	shared := func(f string) string {
		if group == "" {
			return f
		}
		return "$share/" + group + "/" + f
	}
	return []string{shared("joren/+/+/visit"), shared("joren/+/+/stats"), "joren/+/+/status"}
}

// New checks cfg and returns a collector.
func New(cfg Config) (*Collector, error) {
	b, err := parseBroker(cfg.Broker)
	if err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, errors.New("ingest: no store")
	}
	if cfg.Group != "" {
		if err := event.CheckName("group", cfg.Group); err != nil {
			return nil, err
		}
	}
	if cfg.Username == "" {
		cfg.Username, cfg.Password = b.user, b.password
	}
	if cfg.ClientID == "" {
		host, _ := os.Hostname()
		cfg.ClientID = "joren-office"
		if cfg.Group != "" {
			cfg.ClientID += "-" + cfg.Group
		}
		cfg.ClientID += "-" + event.DeviceName(host)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 20 * time.Millisecond
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 64 << 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NetEvery <= 0 {
		cfg.NetEvery = 30 * time.Second
	}
	var tlsCfg *tls.Config
	if b.tls {
		if tlsCfg, err = tlsConfig(cfg.CAFile, cfg.CertFile, cfg.KeyFile); err != nil {
			return nil, err
		}
	} else if cfg.CAFile != "" || cfg.CertFile != "" {
		return nil, fmt.Errorf("broker %s is plain MQTT but a CA or client certificate was given: use mqtts://", b.display)
	}
	v, err := newValidator()
	if err != nil {
		return nil, err
	}
	return &Collector{
		cfg:    cfg,
		broker: b,
		tls:    tlsCfg,
		dec:    decoder{v: v, maxPayload: cfg.MaxPayload},
		// The broker sends at most its in-flight window of unacknowledged
		// messages: this buffer (and so memory) is bounded by it.
		in:      make(chan message, 2*cfg.BatchSize),
		stopped: make(chan struct{}),
		log:     cfg.Log.With("broker", b.display, "client_id", cfg.ClientID),
	}, nil
}

// State is what the dashboard shows of the collector.
type State struct {
	Broker, ClientID, Group string
	Connected               bool
	LastCommit              time.Time
	// Stored visits and Quarantined messages since the start;
	// Recovered visits the group's shared subscription had missed (its
	// safety net stored them).
	Stored, Quarantined, Recovered int64
}

// State returns the collector's state now.
func (c *Collector) State() State {
	s := State{Broker: c.broker.display, ClientID: c.cfg.ClientID, Group: c.cfg.Group, Connected: c.connected.Load(),
		Stored: c.stored.Load(), Quarantined: c.quarantine.Load(), Recovered: c.recovered.Load()}
	if ms := c.lastCommit.Load(); ms != 0 {
		s.LastCommit = time.UnixMilli(ms)
	}
	return s
}

// Run collects until ctx is done: it connects (a refused connection is
// an error; an unreachable broker is retried), writes batches and
// acknowledges them; in a group it also drains the group's safety net now
// and then. At the end it commits the batch in hand and disconnects; what
// was not acknowledged is delivered again next time.
func (c *Collector) Run(ctx context.Context) error {
	client, err := c.connect(ctx)
	if err != nil || client == nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.write(gctx, c.in, nil, time.Time{}, false) })
	if c.cfg.Group != "" {
		g.Go(func() error { return c.net(gctx) })
	}
	err = g.Wait()
	close(c.stopped)
	client.Disconnect(250)
	c.setConnected(false)
	return err
}

func (c *Collector) setConnected(on bool) {
	c.connected.Store(on)
	if m := c.cfg.Metrics; m != nil {
		v := 0.0
		if on {
			v = 1
		}
		m.connected.Set(v)
	}
}

// handle receives every message (paho's router, in order): it only
// queues it, so that acknowledgements and pings keep flowing.
func (c *Collector) handle(_ paho.Client, m paho.Message) {
	select {
	case c.in <- message{topic: m.Topic(), payload: m.Payload(), at: c.cfg.Now(), ack: m.Ack}:
	case <-c.stopped:
	}
}

// options are the paho options every client of the collector shares:
// MQTT 3.1.1, a persistent session (the broker keeps the subscriptions
// and queues QoS 1 messages for the client id while it is away), and
// acknowledgement by the collector, after the commit.
func (c *Collector) options(clientID string) *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(c.broker.paho).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetConnectRetry(false).
		SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(10 * time.Second)
	if c.cfg.Username != "" {
		o.SetUsername(c.cfg.Username).SetPassword(c.cfg.Password)
	}
	if c.tls != nil {
		o.SetTLSConfig(c.tls)
	}
	return o
}

// connect connects and subscribes on every connection (a broker that
// restarted may have lost the subscriptions). It returns nil (and no
// error) if ctx ends first.
func (c *Collector) connect(ctx context.Context) (paho.Client, error) {
	filters := map[string]byte{}
	for _, f := range Filters(c.cfg.Group) {
		filters[f] = 1
	}
	o := c.options(c.cfg.ClientID).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(10 * time.Second).
		SetDefaultPublishHandler(c.handle).
		SetOnConnectHandler(func(cl paho.Client) {
			c.setConnected(true)
			tok := cl.SubscribeMultiple(filters, c.handle)
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				c.log.Error("subscribing failed", "filters", Filters(c.cfg.Group), "error", tok.Error())
				return
			}
			for f, qos := range tok.(*paho.SubscribeToken).Result() {
				if qos == 0x80 {
					c.log.Error("the broker refused the subscription: check its ACL for this user", "filter", f)
				}
			}
			c.log.Info("connected and subscribed", "filters", Filters(c.cfg.Group))
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.setConnected(false)
			c.log.Warn("lost the MQTT broker; reconnecting (unacknowledged messages come again)", "error", err)
		})
	return c.dial(ctx, o, true)
}

// dial connects with o. A refusal (credentials, client id, certificate)
// is an error; an unreachable broker is retried with back-off if retry is
// set. It returns a nil client (and no error) if ctx ends first.
func (c *Collector) dial(ctx context.Context, o *paho.ClientOptions, retry bool) (paho.Client, error) {
	id := o.ClientID
	wait := time.Second
	var last string
	for {
		client := paho.NewClient(o)
		tok := client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			client.Disconnect(0)
			return nil, nil
		}
		err := tok.Error()
		if err == nil {
			return client, nil
		}
		switch {
		case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
			return nil, fmt.Errorf("MQTT broker %s refused user %q: %v: check the user name and password", c.broker.display, c.cfg.Username, err)
		case errors.Is(err, packets.ErrorRefusedIDRejected):
			return nil, fmt.Errorf("MQTT broker %s rejected client id %q: %v", c.broker.display, id, err)
		case strings.Contains(err.Error(), "certificate"):
			return nil, fmt.Errorf("MQTT broker %s: %v", c.broker.display, err)
		}
		if !retry {
			return nil, fmt.Errorf("connecting to MQTT broker %s as %s: %w", c.broker.display, id, err)
		}
		if msg := err.Error(); msg != last {
			c.log.Warn("cannot reach the MQTT broker; retrying", "error", err)
			last = msg
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
