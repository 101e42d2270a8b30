package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// An MQTT 3.1.1 broker acknowledges (PUBACK) a QoS 1 publish that its
// ACL drops: the protocol has no code to say "not authorised" there. A
// box that removed its events on PUBACK would lose every one of them
// while everything looked delivered. So before the outbox is pumped on a
// connection, the box checks what 3.1.1 lets it see: it subscribes to a
// probe topic under its own prefix, publishes a fresh random token there
// and waits for the broker to deliver it back. A broker whose ACL drops
// the box's messages never does; the box then keeps its events, says
// why (BrokerRefused, naming the topics the ACL must allow) and tries
// again with back-off.
//
// The round trip proves the box may publish under its prefix only as far
// as the ACL treats the probe topic like the others: head office is asked
// to grant joren/SITE/DEVICE/# as a whole (docs/events.md).

// probeMessage is what the box publishes on its probe topic.
type probeMessage struct {
	Schema int    `json:"schema"`
	Probe  string `json:"probe"`
}

// suback's failure code: the broker refused the subscription.
const subscriptionRefused = 0x80

// aclError is a probe that did not come back: the broker refuses the box
// what it needs. It is a RefusedError: trying again does not help until
// the ACL changes, and a person running a command should hear it at
// once.
func (p *Publisher) aclError(what string) error {
	who := fmt.Sprintf("client id %q (the box gives no user name)", p.cfg.ClientID)
	if p.cfg.Username != "" {
		who = fmt.Sprintf("user %q", p.cfg.Username)
	}
	prefix := strings.TrimSuffix(p.topics.Probe, "probe")
	return RefusedError{fmt.Sprintf("MQTT broker %s accepts the connection but %s: its ACL drops what this box publishes, so events stay in the outbox; "+
		"the ACL must let %s write %s# (visit, status, stats, reply, door, probe) and read %s and %s",
		p.broker.display, what, who, prefix, p.topics.Probe, p.topics.Command)}
}

// probe checks on session s that what the box publishes reaches the
// broker's subscribers. It returns nil when the token came back, a
// RefusedError when it did not within the acknowledgement timeout, and
// another error when the connection failed. A broker that refuses the
// probe's subscription (SUBACK 0x80) leaves the question open: the box
// says so (unchecked) and goes on.
func (p *Publisher) probe(ctx context.Context, s *session) (unchecked string, err error) {
	nonce := make([]byte, 16)
	rand.Read(nonce) // never fails (crypto/rand)
	token := hex.EncodeToString(nonce)
	back := make(chan struct{}, 1)
	sub := s.client.Subscribe(p.topics.Probe, 1, func(_ paho.Client, m paho.Message) {
		var got probeMessage
		if json.Unmarshal(m.Payload(), &got) == nil && got.Probe == token {
			select {
			case back <- struct{}{}:
			default:
			}
		}
	})
	if err := s.wait(ctx, sub, p.cfg.AckTimeout); err != nil {
		return "", fmt.Errorf("subscribing to the probe topic %s: %w", p.topics.Probe, err)
	}
	defer func() {
		// Best effort: the next connection starts clean anyway.
		s.wait(ctx, s.client.Unsubscribe(p.topics.Probe), p.cfg.AckTimeout)
	}()
	if code := sub.(*paho.SubscribeToken).Result()[p.topics.Probe]; code == subscriptionRefused {
		return fmt.Sprintf("the broker refused the subscription to the probe topic %s (SUBACK 0x80), so whether its ACL lets the events through could not be checked: let the device read %s", p.topics.Probe, p.topics.Probe), nil
	}
	msg, _ := json.Marshal(probeMessage{Schema: 1, Probe: token})
	if err := s.wait(ctx, s.client.Publish(p.topics.Probe, 1, false, msg), p.cfg.AckTimeout); err != nil {
		return "", fmt.Errorf("publishing on the probe topic %s: %w", p.topics.Probe, err)
	}
	t := time.NewTimer(p.cfg.AckTimeout)
	defer t.Stop()
	select {
	case <-back:
		return "", nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-s.lost:
		return "", fmt.Errorf("connection lost: %w", s.lostErr)
	case <-t.C:
		return "", p.aclError(fmt.Sprintf("did not deliver the probe published on %s back within %s", p.topics.Probe, p.cfg.AckTimeout))
	}
}
