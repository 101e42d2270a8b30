package publish

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"joren/vocab"
)

// Config says where and how to publish. Only Broker is required.
type Config struct {
	// Broker is mqtt://host[:port] (plain, port 1883) or
	// mqtts://host[:port] (TLS, port 8883); tcp://, ssl:// and tls://
	// are accepted as their paho spellings. A user and password in the
	// URL are used unless Username/Password are set.
	Broker string
	// ClientID is the MQTT client id (default joren-SITE-DEVICE). Two
	// clients with one id disconnect each other: keep it unique.
	ClientID string
	// Username and Password authenticate to the broker.
	Username string
	Password string
	// CAFile is the PEM CA bundle that signed the broker's certificate
	// (default: the system's roots). CertFile and KeyFile are the device's
	// client certificate and key, for brokers that require one.
	CAFile   string
	CertFile string
	KeyFile  string

	// Version and Models go into the online status message.
	Version string
	Models  []string

	// StatsEvery is the period of stats messages (default 5 minutes).
	StatsEvery time.Duration

	// Health, if set, reads the box's health (the appliance's: camera,
	// clock, disk, temperature, problems) for the status and stats
	// messages; it must be quick and safe to call from any goroutine.
	// Without it they carry the publisher's own part: broker and outbox.
	// HealthEvery is how often it is read to publish a change at once
	// (default 30 s).
	Health      func() vocab.Health
	HealthEvery time.Duration

	// Commands turns the command topic on (off by default). Commands must
	// be signed with CommandKey (at least 16 bytes, shared with head
	// office) and be no older than CommandSkew (default 5 minutes);
	// forget needs Identities.
	Commands    bool
	CommandKey  []byte
	CommandSkew time.Duration
	Identities  Identities
	// PageOn, if set, turns the box's page on again: the page command.
	// It must not block.
	PageOn func() error

	// Discovery publishes Home Assistant MQTT discovery configs (off by
	// default) under DiscoveryPrefix (default "homeassistant"), and the
	// live "regular at the door" state. RegularFor is how long that sensor
	// stays on after a regular is seen (default 30 s).
	Discovery       bool
	DiscoveryPrefix string
	RegularFor      time.Duration

	// FailFast makes Run return when the broker refuses the device
	// (credentials, certificate) instead of logging and retrying: for
	// commands run by a person, who should see the error at once. The
	// device's own pipeline keeps retrying, so that the indicator keeps
	// working and events keep accumulating while someone fixes the broker.
	FailFast bool
	// DrainTimeout bounds how long Run keeps delivering after its input
	// is closed (default: until the context is done).
	DrainTimeout time.Duration

	// Tuning; the defaults suit a shop. InFlight is how many events are
	// published before waiting for their acknowledgements (default 64);
	// AckTimeout is how long to wait for one (default 15 s); RetryMin and
	// RetryMax bound the reconnection back-off (defaults 1 s and 60 s):
	// the bound doubles from RetryMin to RetryMax with each failure in a
	// row, and each wait is drawn between half the bound and the bound.
	InFlight   int
	AckTimeout time.Duration
	RetryMin   time.Duration
	RetryMax   time.Duration

	// Log receives what happens (nil: discarded).
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.StatsEvery <= 0 {
		c.StatsEvery = 5 * time.Minute
	}
	if c.HealthEvery <= 0 {
		c.HealthEvery = 30 * time.Second
	}
	if c.CommandSkew <= 0 {
		c.CommandSkew = 5 * time.Minute
	}
	if c.DiscoveryPrefix == "" {
		c.DiscoveryPrefix = "homeassistant"
	}
	if c.RegularFor <= 0 {
		c.RegularFor = 30 * time.Second
	}
	if c.InFlight <= 0 {
		c.InFlight = 64
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 15 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(60*time.Second, c.RetryMin)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// backOff is the reconnection back-off (RetryMin, RetryMax). Jitter keeps
// a chain's devices from reconnecting in step after a head-office outage:
// ExponentialBackOff draws each wait within ±RandomizationFactor of its
// interval, so an interval of 3/4 of the bound, ±1/3, spans half the
// bound to the bound.
func (c *Config) backOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     c.RetryMin * 3 / 4,
		MaxInterval:         c.RetryMax * 3 / 4,
		Multiplier:          2,
		RandomizationFactor: 1.0 / 3,
	}
}

// broker is a parsed broker address.
type broker struct {
	paho     string // tcp://host:port or ssl://host:port
	display  string // as the user wrote it, without a password
	tls      bool
	user     string
	password string
}

// ParseBroker checks a broker URL; the error names it and says what is
// expected.
func ParseBroker(raw string) (display string, err error) {
	b, err := parseBroker(raw)
	return b.display, err
}

func parseBroker(raw string) (broker, error) {
	bad := func(why string) (broker, error) {
		return broker{}, fmt.Errorf("broker %q: %s (want mqtt://host[:port] or mqtts://host[:port])", redact(raw), why)
	}
	if raw == "" {
		return bad("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	var b broker
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		b.tls, port = true, "8883"
	default:
		return bad(fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
	if u.Hostname() == "" {
		return bad("no host")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return bad("unexpected path or query")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	host := net.JoinHostPort(u.Hostname(), port)
	if b.tls {
		b.paho = "ssl://" + host
		b.display = "mqtts://" + host
	} else {
		b.paho = "tcp://" + host
		b.display = "mqtt://" + host
	}
	if u.User != nil {
		b.user = u.User.Username()
		b.password, _ = u.User.Password()
	}
	return b, nil
}

// redact hides a password in a broker URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// checkUse says what c asks of a broker b (zero without one) that it
// cannot give, as a SetupError.
func (c *Config) checkUse(b broker) error {
	switch {
	case c.Broker == "" && c.Commands:
		return setupError(FieldCommands, errors.New("commands and Home Assistant discovery need a broker"))
	case c.Broker == "" && c.Discovery:
		return setupError(FieldDiscovery, errors.New("commands and Home Assistant discovery need a broker"))
	case c.Broker != "" && !b.tls && c.CAFile != "":
		return setupError(FieldCAFile, fmt.Errorf("broker %s is plain MQTT but a CA file was given: use mqtts://", b.display))
	case c.Broker != "" && !b.tls && (c.CertFile != "" || c.KeyFile != ""):
		return setupError(FieldCertFile, fmt.Errorf("broker %s is plain MQTT but a client certificate was given: use mqtts://", b.display))
	case (c.CertFile == "") != (c.KeyFile == ""):
		return setupError(FieldCertFile, errors.New("an MQTT client certificate needs both the certificate and the key file"))
	}
	return nil
}

// tlsConfig builds the TLS configuration from the files; its errors are
// SetupErrors naming the file at fault.
func (c *Config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, setupError(FieldCAFile, fmt.Errorf("reading the MQTT CA file: %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, setupError(FieldCAFile, fmt.Errorf("MQTT CA file %s holds no PEM certificate", c.CAFile))
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, setupError(FieldCertFile, fmt.Errorf("MQTT client certificate %s and key %s: %w", c.CertFile, c.KeyFile, err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	case c.CertFile != "" || c.KeyFile != "":
		return nil, setupError(FieldCertFile, errors.New("an MQTT client certificate needs both the certificate and the key file"))
	}
	return cfg, nil
}
