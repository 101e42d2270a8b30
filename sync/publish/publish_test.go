package publish

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/vocab"
)

// Decisions in, events out: every event delivered, matching the schema and
// its decision; staff and broken decisions are not published; the status
// says online with version and models, then offline at shutdown; stats
// count the visits.
func TestDelivery(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	h := newHarness(t, b, func(c *Config) { c.StatsEvery = 200 * time.Millisecond })

	in := make(chan vocab.Decision)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.p.Run(ctx, in) }()
	for i := range 20 {
		in <- decision(i)
	}
	in <- vocab.Decision{Visit: "staff-1", Time: time.Now(), Staff: "Mina", Visits: 40, Days: 12}
	in <- vocab.Decision{Visit: "passage-1", Time: time.Now(), Unknown: true, Confidence: 0.9} // consent mode: nobody
	in <- vocab.Decision{Visit: "broken", Time: time.Now()}                                    // no visitor
	// Let one stats period pass, then close the input: Run delivers what
	// is left and returns.
	if _, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return topicCount(m, "/stats") > 0 }); !ok {
		t.Fatal("no stats message")
	}
	if bh := h.p.Broker(); bh.State != vocab.BrokerConnected || bh.Reason != "" || bh.Since.IsZero() {
		t.Errorf("broker health while delivering: %+v", bh)
	}
	close(in)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its input closed and the outbox drained")
	}
	want := eventIDs(t, h.maker, 0, 20)
	msgs, _ := sub.WaitFor(5*time.Second, func(m []mosquittotest.Message) bool {
		s, ok := lastStatus(t, m)
		return hasAll(t, want)(m) && ok && s.State == event.Offline
	})
	checkDelivered(t, msgs, want)
	checkSchema(t, msgs, "status", "stats")
	if h.box.Len() != 0 {
		t.Errorf("%d events left in the outbox", h.box.Len())
	}
	if !strings.Contains(h.log.String(), `decision not published`) || !strings.Contains(h.log.String(), `visit \"broken\" has no visitor id`) {
		t.Errorf("the broken decision was not logged:\n%s", h.log)
	}
	if strings.Contains(h.log.String(), "passage-1") {
		t.Errorf("an unknown visitor's passage was treated as a broken decision:\n%s", h.log)
	}

	// Each event carries its decision, pseudonymised.
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/visit") {
			continue
		}
		if m.Topic != "joren/shibuya-1/door.1/visit" {
			t.Errorf("visit on topic %s", m.Topic)
		}
		var v event.Visit
		json.Unmarshal(m.Payload, &v)
		if strings.Contains(string(m.Payload), "id-") || strings.Contains(string(m.Payload), `"v0`) {
			t.Errorf("event leaks an internal id: %s", m.Payload)
		}
		if v.Visitor == "" || v.Device != testDevice || v.Site != testSite {
			t.Errorf("event %s", m.Payload)
		}
	}

	// Status: online (retained, with version, models, uptime), then
	// offline at shutdown.
	var online, offline *event.Status
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/status") {
			continue
		}
		var s event.Status
		json.Unmarshal(m.Payload, &s)
		switch s.State {
		case event.Online:
			if online == nil {
				online = &s
			}
		case event.Offline:
			offline = &s
		}
	}
	if online == nil || online.Version != "test" || len(online.Models) != 1 || online.Models[0] != testModels[0] || online.Since.IsZero() {
		t.Errorf("online status %+v", online)
	}
	if offline == nil || offline.Reason != "shutdown" {
		t.Errorf("offline status %+v, want reason shutdown", offline)
	}

	// Stats: valid, and the last one counts the 20 visits.
	var last event.Stats
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "/stats") {
			json.Unmarshal(m.Payload, &last)
		}
	}
	if st := h.p.Stats(); st.Total.Visits != 20 || st.Total.New != 7 || st.Total.Returning != 13 || st.Outbox.Delivered != 20 || st.Outbox.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
	if last.Schema != event.SchemaVersion || last.Device != testDevice || last.Total.Visits != 20 {
		t.Errorf("last stats message %+v", last)
	}

	// A new subscriber sees the retained status: offline.
	late := b.Subscribe(t, "late", "joren/+/+/status")
	m, ok := late.WaitFor(5*time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 })
	if s, _ := lastStatus(t, m); !ok || !m[0].Retained || s.State != event.Offline {
		t.Errorf("retained status for a late subscriber: %+v", m)
	}
}

// The broker stops for a while and starts again: every event made before,
// during and after the outage is delivered, none lost, and Publish never
// waits for the network.
func TestBrokerOutage(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")
	h := newHarness(t, b, nil)
	stop := h.run(nil)
	defer stop()

	for i := range 10 {
		if err := h.p.Publish(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := sub.WaitFor(10*time.Second, hasAll(t, eventIDs(t, h.maker, 0, 10))); !ok {
		t.Fatal("first events not delivered")
	}

	b.Stop()
	for i := 10; i < 40; i++ {
		if err := h.p.Publish(decision(i)); err != nil {
			t.Fatalf("Publish with the broker down: %v", err)
		}
	}
	// Several reconnection attempts fail (the first said loudly, the
	// others quietly) while the events wait in the outbox.
	attempts := func(log string) int {
		return strings.Count(log, "cannot reach the MQTT broker; events are kept") + strings.Count(log, "still cannot reach the MQTT broker")
	}
	if !h.log.WaitFor(10*time.Second, func(log string) bool { return attempts(log) >= 3 }) {
		t.Fatalf("%d reconnection attempts logged in 10 s with the broker down, want 3:\n%s", attempts(h.log.String()), h.log)
	}
	if n := h.box.Len(); n == 0 {
		t.Error("outbox empty while the broker is down: events went nowhere")
	}
	b.Restart()
	for i := 40; i < 50; i++ {
		h.p.Publish(decision(i))
	}
	want := eventIDs(t, h.maker, 0, 50)
	msgs, ok := sub.WaitFor(20*time.Second, hasAll(t, want))
	if !ok {
		t.Errorf("not everything delivered after the broker came back (outbox %d)", h.box.Len())
	}
	checkDelivered(t, msgs, want)
	if !strings.Contains(h.log.String(), "lost the MQTT broker") || !strings.Contains(h.log.String(), "cannot reach the MQTT broker") {
		t.Errorf("the outage was not logged:\n%s", h.log)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A wrong password is refused with a clear error, and nothing already
// stored is lost: with the right password, later, everything goes.
func TestWrongPassword(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"joren": "s3cret"}})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")

	bad := newHarness(t, b, func(c *Config) {
		c.Username, c.Password, c.FailFast = "joren", "wrong", true
	})
	for i := range 5 {
		bad.p.Publish(decision(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := bad.p.Run(ctx, nil)
	var r RefusedError
	if err == nil || !errors.As(err, &r) || !strings.Contains(err.Error(), `refused user "joren"`) || !strings.Contains(err.Error(), "check the user name and password") {
		t.Fatalf("wrong password: %v", err)
	}
	t.Logf("the error: %v", err)
	if bad.box.Len() != 5 {
		t.Errorf("outbox holds %d events after the refusal, want 5", bad.box.Len())
	}
	bad.box.Close()

	// Without FailFast (the device), the refusal is logged as an error and
	// retried; events keep accumulating.
	dev := newHarness(t, b, func(c *Config) { c.Username, c.Password = "joren", "wrong" })
	stop := dev.run(nil)
	dev.p.Publish(decision(0))
	dev.log.WaitFor(10*time.Second, func(log string) bool { return strings.Contains(log, "level=ERROR") })
	if h := dev.p.Broker(); h.State != vocab.BrokerRefused || !strings.Contains(h.Reason, "not Authorized") || h.Since.IsZero() {
		t.Errorf("broker health after a refusal: %+v", h)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if l := dev.log.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "not Authorized") || strings.Contains(l, "wrong") {
		t.Errorf("device log (must name the refusal, never the password):\n%s", l)
	}

	// The same outbox with the right password: nothing was lost.
	good := reopen(t, bad.path, b, func(c *Config) { c.Username, c.Password = "joren", "s3cret" })
	stop = good.run(nil)
	defer stop()
	want := eventIDs(t, good.maker, 0, 5)
	msgs, _ := sub.WaitFor(10*time.Second, hasAll(t, want))
	checkDelivered(t, msgs, want)
}

// Events made while the broker is away, beyond the outbox's bound: the
// oldest are dropped and counted, the newest delivered.
func TestOutboxBoundWhileOffline(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")
	b.Stop()
	h := newHarnessMax(t, b, 5)
	for i := range 8 {
		h.p.Publish(decision(i))
	}
	if h.box.Len() != 5 || h.box.Dropped() != 3 {
		t.Fatalf("outbox len %d dropped %d, want 5 and 3", h.box.Len(), h.box.Dropped())
	}
	if !strings.Contains(h.log.String(), "outbox full: dropped the oldest events") {
		t.Errorf("the drop was not logged:\n%s", h.log)
	}
	b.Restart()
	stop := h.run(nil)
	defer stop()
	want := eventIDs(t, h.maker, 3, 8)
	msgs, _ := sub.WaitFor(10*time.Second, hasAll(t, want))
	checkDelivered(t, msgs, want)
	if st := h.p.Stats(); st.Outbox.Dropped != 3 || st.Total.Visits != 8 {
		t.Errorf("stats after drops: %+v", st)
	}
}

// The reconnection back-off: each wait lies between half the bound and
// the bound, which doubles from RetryMin to RetryMax and starts again from
// RetryMin after a connection; the waits are spread (jitter), not all at
// one end.
func TestReconnectBackOff(t *testing.T) {
	c := Config{RetryMin: time.Second, RetryMax: 60 * time.Second}
	c.setDefaults()
	bounds := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	lo, hi := map[time.Duration]time.Duration{}, map[time.Duration]time.Duration{}
	for range 500 {
		b := c.backOff()
		for round := range 2 {
			for _, bound := range bounds {
				bound *= time.Second
				w := b.NextBackOff()
				if w < bound/2 || w > bound {
					t.Fatalf("round %d: a wait of %v with the bound at %v, want between %v and %v", round, w, bound, bound/2, bound)
				}
				if lo[bound] == 0 || w < lo[bound] {
					lo[bound] = w
				}
				hi[bound] = max(hi[bound], w)
			}
			b.Reset() // connected
		}
	}
	for bound := range lo {
		if lo[bound] > bound*55/100 || hi[bound] < bound*95/100 {
			t.Errorf("waits with the bound at %v spread from %v to %v only", bound, lo[bound], hi[bound])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"":                       "empty",
		"http://example.com":     `unknown scheme "http"`,
		"mqtt://":                "no host",
		"mqtt://host/topic":      "unexpected path",
		"mqtt://u:hunter2@h:1/x": "xxxxx", // the password is hidden in errors
	} {
		_, err := ParseBroker(raw)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseBroker(%q): %v, want %q", raw, err, want)
		}
	}
	for raw, want := range map[string]string{
		"mqtt://broker.lan":      "mqtt://broker.lan:1883",
		"mqtts://broker.lan":     "mqtts://broker.lan:8883",
		"tcp://10.0.0.1:1884":    "mqtt://10.0.0.1:1884",
		"ssl://[::1]:8884":       "mqtts://[::1]:8884",
		"mqtt://u:p@broker:1883": "mqtt://broker:1883",
	} {
		if got, err := ParseBroker(raw); err != nil || got != want {
			t.Errorf("ParseBroker(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	m := testMaker(t)
	h := newHarness(t, nil, func(c *Config) { c.Broker = "mqtt://x" })
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"CA on plain MQTT":     {Config{Broker: "mqtt://x", CAFile: "ca.crt"}, "use mqtts://"},
		"missing CA file":      {Config{Broker: "mqtts://x", CAFile: "/nonexistent/ca.crt"}, "/nonexistent/ca.crt"},
		"cert without key":     {Config{Broker: "mqtts://x", CertFile: "c.crt"}, "needs both"},
		"commands without key": {Config{Broker: "mqtt://x", Commands: true}, "command key has 0 bytes"},
		"commands, no store":   {Config{Broker: "mqtt://x", Commands: true, CommandKey: make([]byte, 32)}, "no identity store"},
	} {
		if _, err := New(c.cfg, m, h.box); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
