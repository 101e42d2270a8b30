package mosquittotest

import (
	"strings"
	"testing"
	"time"
)

// What the publish tests rely on: a persistent subscriber gets the QoS 1
// messages published while the broker restarted and while it was away.
func TestRestartKeepsSessions(t *testing.T) {
	b := Start(t, Options{})
	sub := b.Subscribe(t, "sub", "t/#")
	pub := b.ClientOptions("pub")
	pub.SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	c := newPahoClient(t, pub)

	publish := func(payload string) {
		tok := c.Publish("t/x", 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", payload, tok.Error())
		}
	}
	publish("before")
	if _, ok := sub.WaitFor(10*time.Second, func(m []Message) bool { return len(m) == 1 }); !ok {
		t.Fatal("first message not received")
	}
	b.Stop()
	b.Restart()
	publish("after")
	// QoS 1 is at least once: "before" may come again if the broker
	// stopped before it saw the subscriber's acknowledgement.
	msgs, ok := sub.WaitFor(10*time.Second, func(m []Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload) == "after"
	})
	if !ok {
		t.Fatalf("\"after\" not received: %d messages", len(msgs))
	}
	for _, m := range msgs {
		if p := string(m.Payload); p != "before" && p != "after" {
			t.Errorf("received %q", p)
		}
	}
	if !strings.Contains(b.Log(), "mosquitto version") {
		t.Errorf("no broker log:\n%s", b.Log())
	}
}

func TestTLSAndPasswords(t *testing.T) {
	pki := NewPKI(t)
	b := Start(t, Options{TLS: pki, RequireClientCert: true, Users: map[string]string{"u": "p"}})
	if !strings.HasPrefix(b.URL(), "mqtts://127.0.0.1:") {
		t.Errorf("URL %s", b.URL())
	}
	newPahoClient(t, b.ClientOptions("ok"))
	bad := b.ClientOptions("bad").SetPassword("wrong")
	c := pahoNewClient(bad)
	tok := c.Connect()
	if tok.WaitTimeout(10 * time.Second); tok.Error() == nil || !strings.Contains(tok.Error().Error(), "not Authorized") {
		t.Errorf("wrong password: %v", tok.Error())
	}
}
