package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"joren/sync/mosquittotest"
	"joren/vocab"
)

// deviceTopics is the box's prefix in these tests: joren/SITE/DEVICE/.
const deviceTopics = "joren/" + testSite + "/" + testDevice + "/"

// waitBroker polls the publisher's broker health until ok holds or the
// timeout passes, and returns the last health.
func waitBroker(p *Publisher, timeout time.Duration, ok func(vocab.BrokerHealth) bool) (vocab.BrokerHealth, bool) {
	deadline := time.Now().Add(timeout)
	for {
		h := p.Broker()
		if ok(h) || time.Now().After(deadline) {
			return h, ok(h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The premise: mosquitto, like any MQTT 3.1.1 broker, acknowledges a QoS
// 1 publish that its ACL drops. Nothing on the publishing side tells.
func TestBrokerAcknowledgesWhatItsACLDrops(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{ACL: "topic read joren/#\n"})
	sub := b.Subscribe(t, "head-office", "joren/#")
	c := newClient(t, b, "some-device")
	tok := c.Publish(deviceTopics+"visit", 1, false, "{}")
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("the denied publish was not acknowledged: %v", tok.Error())
	}
	if msgs, got := sub.WaitFor(time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 }); got {
		t.Fatalf("the ACL let %s through", msgs[0].Topic)
	}
	if !strings.Contains(b.Log(), "Denied PUBLISH") {
		t.Errorf("the broker's log does not say it denied the publish:\n%s", b.Log())
	}
}

// Events that head office's ACL drops stay in the outbox: the round trip
// at connection fails, the broker's health says refused and names the
// topics the ACL must allow, the box retries with back-off, and once the
// ACL is fixed every event is delivered. 0 of 20 lost.
func TestACLRefusalKeepsEvents(t *testing.T) {
	// The box may write its status only; head office reads everything.
	deny := "topic read joren/#\ntopic write " + deviceTopics + "status\n"
	b := mosquittotest.Start(t, mosquittotest.Options{ACL: deny})
	sub := b.Subscribe(t, "head-office", "joren/#")
	h := newHarness(t, b, func(c *Config) { c.AckTimeout = 500 * time.Millisecond })
	for i := range 20 {
		if err := h.p.Publish(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := h.run(nil)
	defer stop()

	bh, ok := waitBroker(h.p, 20*time.Second, func(bh vocab.BrokerHealth) bool { return bh.State == vocab.BrokerRefused })
	if !ok {
		t.Fatalf("broker health %+v, want refused", bh)
	}
	for _, want := range []string{"ACL drops", "events stay in the outbox", "write " + deviceTopics + "#", "read " + deviceTopics + "probe"} {
		if !strings.Contains(bh.Reason, want) {
			t.Errorf("health reason %q lacks %q", bh.Reason, want)
		}
	}
	// Retried: the probe is tried again on new connections.
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(b.Log(), "Denied PUBLISH from "+"joren-"+testSite+"-"+testDevice) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(b.Log(), "Denied PUBLISH from joren-"+testSite+"-"+testDevice); n < 3 {
		t.Errorf("%d probes denied, want at least 3 (retries)", n)
	}
	if n := h.box.Len(); n != 20 {
		t.Fatalf("%d of 20 events left in the outbox while the ACL drops them", n)
	}
	if got := visits(t, sub.Messages()); len(got) != 0 {
		t.Fatalf("%d events reached head office through a denying ACL", len(got))
	}
	if strings.Contains(b.Log(), deviceTopics+"visit") {
		t.Errorf("the box published events to a broker whose ACL drops them:\n%s", b.Log())
	}

	// Head office fixes its ACL: everything arrives.
	b.SetACL("topic read joren/#\ntopic readwrite " + deviceTopics + "#\n")
	want := eventIDs(t, h.maker, 0, 20)
	msgs, _ := sub.WaitFor(30*time.Second, hasAll(t, want))
	checkDelivered(t, msgs, want)
	// Head office sees the probe that came through, as the schema says.
	if topicCount(msgs, "/probe") == 0 {
		t.Error("no probe reached head office once the ACL allowed it")
	}
	checkSchema(t, msgs, "probe", "status", "stats")
	if bh, ok := waitBroker(h.p, 10*time.Second, func(bh vocab.BrokerHealth) bool { return bh.State == vocab.BrokerConnected }); !ok || bh.Reason != "" {
		t.Errorf("broker health after the fix: %+v", bh)
	}
	// Acknowledged by the broker, then removed from the outbox.
	deadline = time.Now().Add(10 * time.Second)
	for h.box.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.box.Len(); n != 0 {
		t.Errorf("%d events still in the outbox", n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A command run by a person (FailFast) hears of the ACL at once, before
// any event is sent.
func TestACLRefusalFailsFast(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{ACL: "topic read joren/#\n"})
	h := newHarness(t, b, func(c *Config) { c.AckTimeout = 500 * time.Millisecond; c.FailFast = true })
	h.p.Publish(decision(0))
	done := make(chan error, 1)
	go func() { done <- h.p.Run(context.Background(), nil) }()
	var r RefusedError
	if err := h.p.FirstAttempt(context.Background()); !errors.As(err, &r) || !strings.Contains(err.Error(), "ACL drops") {
		t.Fatalf("FirstAttempt: %v, want a RefusedError about the ACL", err)
	}
	select {
	case err := <-done:
		if !errors.As(err, &r) {
			t.Errorf("Run: %v, want the RefusedError", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return on the refusal")
	}
	if n := h.box.Len(); n != 1 {
		t.Errorf("%d events in the outbox, want 1", n)
	}
}

// A broker that refuses the probe's subscription (SUBACK 0x80: here
// mosquitto's dynamic security plugin, which lets the box publish but
// not subscribe) leaves the question open: the box says it could not
// check, and delivers.
func TestProbeSubscriptionRefused(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{DynamicSecurity: `{
		"defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": false, "unsubscribe": true},
		"clients": [], "roles": [], "groups": [{"groupname": "anonymous", "roles": []}], "anonymousGroup": "anonymous"}`})
	h := newHarness(t, b, nil)
	h.p.Publish(decision(0))
	stop := h.run(nil)
	defer stop()
	bh, ok := waitBroker(h.p, 20*time.Second, func(bh vocab.BrokerHealth) bool { return bh.State == vocab.BrokerConnected })
	if !ok || !strings.Contains(bh.Reason, "could not be checked") || !strings.Contains(bh.Reason, "SUBACK 0x80") {
		t.Fatalf("broker health %+v, want connected, saying the check could not be made", bh)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.box.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.box.Len(); n != 0 {
		t.Errorf("%d events not published", n)
	}
	if !strings.Contains(h.log.String(), "cannot check that the broker delivers the events") {
		t.Errorf("the log does not say the check could not be made:\n%s", h.log.String())
	}
}
