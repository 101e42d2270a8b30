package mosquittotest

import (
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message a Subscriber received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	At       time.Time
}

// Subscriber is what head office runs: a client with a persistent
// session (clean session off, QoS 1), so the broker queues messages for
// it while it is away, even across a broker restart. It collects every
// message it receives.
type Subscriber struct {
	client paho.Client
	mu     sync.Mutex
	msgs   []Message
	cond   chan struct{}
}

// Subscribe connects a persistent subscriber to topic (wildcards allowed)
// and disconnects it in the test's cleanup.
func (b *Broker) Subscribe(t testing.TB, clientID, topic string) *Subscriber {
	t.Helper()
	s := &Subscriber{cond: make(chan struct{}, 1)}
	handler := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: slices.Clone(m.Payload()), Retained: m.Retained(), At: time.Now()})
		s.mu.Unlock()
		select {
		case s.cond <- struct{}{}:
		default:
		}
	}
	o := b.ClientOptions(clientID)
	o.SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(250 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(250 * time.Millisecond).
		SetDefaultPublishHandler(handler).SetOrderMatters(true).
		// Resubscribing on every connection covers a broker that lost
		// its state; the persistent session covers the messages.
		SetOnConnectHandler(func(c paho.Client) { c.Subscribe(topic, 1, handler) })
	s.client = paho.NewClient(o)
	tok := s.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mosquittotest: subscriber %s: connect: %v", clientID, tok.Error())
	}
	// The on-connect handler subscribes asynchronously; make sure the
	// subscription is in place before the test publishes.
	st := s.client.Subscribe(topic, 1, handler)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		t.Fatalf("mosquittotest: subscriber %s: subscribe %s: %v", clientID, topic, st.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(100) })
	return s
}

// Messages returns what was received so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitFor waits until done(messages) holds or timeout passes, and returns
// the messages and whether done held.
func (s *Subscriber) WaitFor(timeout time.Duration, done func([]Message) bool) ([]Message, bool) {
	deadline := time.After(timeout)
	for {
		m := s.Messages()
		if done(m) {
			return m, true
		}
		select {
		case <-s.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			m = s.Messages()
			return m, done(m)
		}
	}
}
