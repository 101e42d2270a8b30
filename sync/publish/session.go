package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"joren/sync/event"
	"joren/vocab"
)

// session is one MQTT connection. A new paho client is made for each: the
// outbox, not paho's store, remembers what is not yet delivered, so a
// connection starts clean and nothing of paho's reconnection logic is
// needed.
type session struct {
	client   paho.Client
	lost     chan struct{}
	lostErr  error
	lostOnce sync.Once
	// unchecked says why the probe could not tell whether the broker's
	// ACL lets events through ("" when it could, and did).
	unchecked string
}

const connectTimeout = 10 * time.Second

// RefusedError is the broker (or its certificate) refusing this device:
// retrying will not help until someone changes the configuration.
type RefusedError struct{ msg string }

func (e RefusedError) Error() string { return e.msg }

// connect opens a session: connects, subscribes to commands when they are
// on, checks that the broker delivers what the box publishes (probe), and
// publishes the birth status and discovery configs.
func (p *Publisher) connect(ctx context.Context) (*session, error) {
	s := &session{lost: make(chan struct{})}
	will, _ := json.Marshal(p.status(event.Offline, "connection lost"))
	o := paho.NewClientOptions().
		AddBroker(p.broker.paho).
		SetClientID(p.cfg.ClientID).
		// MQTT 3.1.1 only: paho would otherwise retry a refused
		// connection as 3.1 and report that attempt's error instead.
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(30*time.Second).
		SetPingTimeout(10*time.Second).
		SetConnectTimeout(connectTimeout).
		SetWriteTimeout(10*time.Second).
		SetOrderMatters(false).
		SetBinaryWill(p.topics.Status, will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.lostOnce.Do(func() {
				s.lostErr = err
				close(s.lost)
			})
		})
	if p.cfg.Username != "" {
		o.SetUsername(p.cfg.Username).SetPassword(p.cfg.Password)
	}
	if p.tls != nil {
		o.SetTLSConfig(p.tls)
	}
	s.client = paho.NewClient(o)
	if err := s.wait(ctx, s.client.Connect(), connectTimeout+5*time.Second); err != nil {
		s.client.Disconnect(0)
		return nil, p.explain(err)
	}
	// Connected from here on: the birth status's health says so.
	p.state.set(vocab.BrokerConnected, "", time.Now())
	if p.cfg.Commands {
		tok := s.client.Subscribe(p.topics.Command, 1, func(_ paho.Client, m paho.Message) {
			select {
			case p.commands <- m.Payload():
			default:
				p.received.Add(1)
				p.rejected.Add(1)
				p.log.Warn("command rejected: too many commands waiting", "topic", m.Topic(), "bytes", len(m.Payload()))
			}
		})
		if err := s.wait(ctx, tok, p.cfg.AckTimeout); err != nil {
			s.client.Disconnect(0)
			return nil, fmt.Errorf("subscribing to %s: %w", p.topics.Command, err)
		}
	}
	unchecked, err := p.probe(ctx, s)
	if err != nil {
		s.client.Disconnect(0)
		return nil, err
	}
	s.unchecked = unchecked
	birth, _ := json.Marshal(p.status(event.Online, ""))
	toks := []paho.Token{s.client.Publish(p.topics.Status, 1, true, birth)}
	if p.cfg.Discovery {
		for _, c := range p.discovery() {
			toks = append(toks, s.client.Publish(c.topic, 1, true, c.payload))
		}
	}
	for _, tok := range toks {
		if err := s.wait(ctx, tok, p.cfg.AckTimeout); err != nil {
			s.client.Disconnect(0)
			return nil, fmt.Errorf("publishing the online status: %w", err)
		}
	}
	return s, nil
}

// wait waits for tok, the context, the connection's loss or timeout.
func (s *session) wait(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.lost:
		return fmt.Errorf("connection lost: %w", s.lostErr)
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %s", timeout)
	}
}

// close says goodbye: the retained status becomes offline with reason
// (a clean disconnect does not trigger the will), then disconnects.
func (s *session) close(p *Publisher, reason string) {
	off, _ := json.Marshal(p.status(event.Offline, reason))
	tok := s.client.Publish(p.topics.Status, 1, true, off)
	s.wait(context.Background(), tok, 2*time.Second)
	s.client.Disconnect(250)
}

// explain turns paho's connection errors into what the installer must
// fix. Refusals and certificate problems are RefusedErrors.
func (p *Publisher) explain(err error) error {
	who := "the device (no user name given)"
	if p.cfg.Username != "" {
		who = fmt.Sprintf("user %q", p.cfg.Username)
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badHost   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return RefusedError{fmt.Sprintf("MQTT broker %s refused %s: %v: check the user name and password (and the broker's ACL)", p.broker.display, who, err)}
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return RefusedError{fmt.Sprintf("MQTT broker %s rejected client id %q: %v", p.broker.display, p.cfg.ClientID, err)}
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return RefusedError{fmt.Sprintf("MQTT broker %s does not speak MQTT 3.1.1: %v", p.broker.display, err)}
	case errors.As(err, &unknownCA):
		ca := "the system's CA certificates"
		if p.cfg.CAFile != "" {
			ca = "the CA file " + p.cfg.CAFile
		}
		return RefusedError{fmt.Sprintf("MQTT broker %s: its certificate is not signed by %s: %v", p.broker.display, ca, err)}
	case errors.As(err, &badHost):
		return RefusedError{fmt.Sprintf("MQTT broker %s: its certificate is not valid for this address (an IP address needs an IP subjectAltName): %v", p.broker.display, err)}
	case errors.As(err, &invalid), errors.As(err, &verify):
		return RefusedError{fmt.Sprintf("MQTT broker %s: its certificate is not acceptable: %v", p.broker.display, err)}
	case strings.Contains(err.Error(), "remote error: tls:"):
		hint := ""
		if p.cfg.CertFile == "" {
			hint = " (does the broker require a client certificate?)"
		}
		return RefusedError{fmt.Sprintf("MQTT broker %s refused the TLS handshake%s: %v", p.broker.display, hint, err)}
	}
	return fmt.Errorf("connecting to MQTT broker %s: %w", p.broker.display, err)
}
