package publish

import (
	"context"
	"strings"
	"testing"
	"time"

	"joren/sync/mosquittotest"
	"joren/vocab"
)

// A device without a broker keeps its events; the first start with one
// delivers them all.
func TestNoBrokerKeepsEvents(t *testing.T) {
	h := newHarness(t, nil, nil)
	if err := h.p.FirstAttempt(context.Background()); err != nil {
		t.Fatalf("FirstAttempt without a broker: %v", err)
	}
	in := make(chan vocab.Decision)
	done := make(chan error, 1)
	go func() { done <- h.p.Run(context.Background(), in) }()
	for i := range 5 {
		in <- decision(i)
	}
	close(in)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run without a broker did not return when its input closed")
	}
	if err := h.p.Publish(decision(5)); err != nil {
		t.Fatal(err)
	}
	if n := h.box.Len(); n != 6 {
		t.Fatalf("%d events kept, want 6", n)
	}
	if bh := h.p.Broker(); bh.State != vocab.BrokerNone || !strings.Contains(bh.Reason, "events.broker") {
		t.Errorf("broker health without a broker: %+v", bh)
	}
	h.box.Close()

	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	later := reopen(t, h.path, b, nil)
	stop := later.run(nil)
	want := eventIDs(t, later.maker, 0, 6)
	msgs, _ := sub.WaitFor(10*time.Second, hasAll(t, want))
	checkDelivered(t, msgs, want)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestNoBrokerRefusesCommands(t *testing.T) {
	box := newHarness(t, nil, nil).box
	for _, edit := range []func(*Config){
		func(c *Config) { c.Commands, c.CommandKey = true, []byte("0123456789abcdef") },
		func(c *Config) { c.Discovery = true },
	} {
		c := Config{}
		edit(&c)
		if _, err := New(c, testMaker(t), box); err == nil || !strings.Contains(err.Error(), "need a broker") {
			t.Errorf("%+v without a broker: %v", c, err)
		}
	}
}
