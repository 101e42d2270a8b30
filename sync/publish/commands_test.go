package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
)

// identities stands in for the identity store's two methods that forget
// needs (the store itself is another package's, built separately).
type identities struct {
	mu  sync.Mutex
	ids []string
}

func (s *identities) Visitors(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids), nil
}

func (s *identities) Forget(_ context.Context, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = slices.DeleteFunc(s.ids, func(x string) bool { return x == v })
	return nil
}

func (s *identities) has(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.ids, v)
}

var commandKey = []byte("head-office-command-key")

// headOffice publishes commands as head office would.
func headOffice(t *testing.T, b *mosquittotest.Broker, topic string) func(payload []byte) {
	c := newClient(t, b, "head-office-commands")
	return func(payload []byte) {
		tok := c.Publish(topic, 1, false, payload)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publishing a command: %v", tok.Error())
		}
	}
}

func signed(c event.Command) []byte {
	c.Sign(commandKey)
	b, _ := json.Marshal(c)
	return b
}

// replies decodes the replies among msgs, checking the schema.
func replies(t *testing.T, msgs []mosquittotest.Message) []event.Reply {
	var out []event.Reply
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/reply") {
			continue
		}
		var r event.Reply
		json.Unmarshal(m.Payload, &r)
		out = append(out, r)
	}
	return out
}

func TestCommands(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	store := &identities{ids: []string{"id-1", "id-2", "id-3"}}
	var pageOn atomic.Int32
	h := newHarness(t, b, func(c *Config) {
		c.Commands, c.CommandKey, c.Identities = true, commandKey, store
		c.PageOn = func() error { pageOn.Add(1); return nil }
	})
	stop := h.run(nil)
	defer stop()
	// A visit by id-2, as head office sees it.
	d := decision(2)
	h.p.Publish(d)
	msgs, ok := sub.WaitFor(10*time.Second, hasAll(t, eventIDs(t, h.maker, 2, 3)))
	if !ok {
		t.Fatal("visit not delivered")
	}
	var seen event.Visit
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "/visit") {
			json.Unmarshal(m.Payload, &seen)
		}
	}
	send := headOffice(t, b, h.p.Topics().Command)
	now := time.Now().UTC()
	forget := event.Command{Schema: 1, ID: "c-forget", Time: now.Format(time.RFC3339), Name: event.Forget, Visitor: seen.Visitor, Period: seen.Period}
	wrongKey := forget
	wrongKey.ID = "c-wrong-key"
	wrongKey.Sign([]byte("a guess at the key"))
	wrongKeyJSON, _ := json.Marshal(wrongKey)

	steps := []struct {
		name    string
		payload []byte
		ok      bool
		want    string // in the reply's error
	}{
		{"malformed", []byte("forget everyone please"), false, "not a command object"},
		{"wrong signature", wrongKeyJSON, false, "signature does not verify"},
		{"stale", signed(event.Command{Schema: 1, ID: "c-old", Time: now.Add(-time.Hour).Format(time.RFC3339), Name: event.PublishStats}), false, "away from the device's clock"},
		{"unknown command", signed(event.Command{Schema: 1, ID: "c-reboot", Time: now.Format(time.RFC3339), Name: "reboot"}), false, `unknown command "reboot"`},
		{"forget", signed(forget), true, ""},
		{"replayed", signed(forget), false, "already executed"},
		{"stats", signed(event.Command{Schema: 1, ID: "c-stats", Time: now.Format(time.RFC3339), Name: event.PublishStats}), true, ""},
		{"page", signed(event.Command{Schema: 1, ID: "c-page", Time: now.Format(time.RFC3339), Name: event.Page}), true, ""},
		{"page replayed", signed(event.Command{Schema: 1, ID: "c-page", Time: now.Format(time.RFC3339), Name: event.Page}), false, "already executed"},
	}
	for i, s := range steps {
		send(s.payload)
		msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(replies(t, m)) > i })
		if !ok {
			t.Fatalf("%s: no reply", s.name)
		}
		r := replies(t, msgs)[i]
		if r.OK != s.ok || !strings.Contains(r.Error, s.want) {
			t.Errorf("%s: reply %+v, want ok=%v and error %q", s.name, r, s.ok, s.want)
		}
	}
	if store.has("id-2") || !store.has("id-1") || !store.has("id-3") {
		t.Errorf("after forget: %v, want id-2 (and only it) gone", store.ids)
	}
	checkSchema(t, sub.Messages(), "reply", "stats")
	r := replies(t, sub.Messages())
	if r[4].Forgotten != 1 || r[4].Command != "c-forget" {
		t.Errorf("forget reply %+v", r[4])
	}
	if st := h.p.Stats(); st.Commands.Received != 9 || st.Commands.Rejected != 6 {
		t.Errorf("command stats %+v, want 9 received, 6 rejected", st.Commands)
	}
	if n := pageOn.Load(); n != 1 {
		t.Errorf("the page was turned on %d times for one page command and its replay", n)
	}
	l := h.log.String()
	if !strings.Contains(l, `msg="command rejected"`) || !strings.Contains(l, "not a command object") {
		t.Errorf("the malformed command was not logged:\n%s", l)
	}
	if strings.Contains(l, "id-2") {
		t.Errorf("the log names the internal id:\n%s", l)
	}
}

// Commands are off by default: the device does not even subscribe.
func TestCommandsOffByDefault(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/+/+/reply")
	store := &identities{ids: []string{"id-2"}}
	h := newHarness(t, b, func(c *Config) { c.CommandKey, c.Identities = commandKey, store })
	stop := h.run(nil)
	defer stop()
	h.p.Publish(decision(2))
	pseudo, period := h.maker.Pseudonym("id-2", decision(2).Time)
	headOffice(t, b, h.p.Topics().Command)(signed(event.Command{Schema: 1, ID: "c1", Time: time.Now().UTC().Format(time.RFC3339), Name: event.Forget, Visitor: pseudo, Period: period}))
	if msgs, replied := sub.WaitFor(time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 }); replied {
		t.Errorf("a device with commands off replied: %s", msgs[0].Payload)
	}
	if !store.has("id-2") {
		t.Error("a device with commands off forgot a visitor")
	}
	if strings.Contains(b.Log(), "/command (QoS") {
		t.Errorf("a device with commands off subscribed to its command topic:\n%s", b.Log())
	}
}

// A command's id is never executed twice, even across a restart of the
// publisher: a signed forget and stats re-sent within the five minutes
// their time allows are refused by the new process, and nothing is
// forgotten again.
func TestCommandReplayAfterRestart(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/+/+/reply")
	store := &identities{ids: []string{"id-1", "id-2"}}
	commands := func(c *Config) { c.Commands, c.CommandKey, c.Identities = true, commandKey, store }
	h := newHarness(t, b, commands)
	stop := h.run(nil)
	if err := h.p.FirstAttempt(context.Background()); err != nil {
		t.Fatal(err)
	}
	send := headOffice(t, b, h.p.Topics().Command)
	pseudo, period := h.maker.Pseudonym("id-2", decision(2).Time)
	now := time.Now().UTC()
	forget := signed(event.Command{Schema: 1, ID: "c-forget", Time: now.Format(time.RFC3339), Name: event.Forget, Visitor: pseudo, Period: period})
	stats := signed(event.Command{Schema: 1, ID: "c-stats", Time: now.Format(time.RFC3339), Name: event.PublishStats})
	replied := func(n int) []event.Reply {
		t.Helper()
		msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(replies(t, m)) >= n })
		if !ok {
			t.Fatalf("%d replies, want %d", len(replies(t, msgs)), n)
		}
		return replies(t, msgs)
	}
	send(forget)
	send(stats)
	for _, r := range replied(2) {
		if !r.OK {
			t.Fatalf("first time: %+v", r)
		}
	}
	if store.has("id-2") {
		t.Fatal("forget did not forget")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	h.box.Close()

	// The visitor comes back; the box restarts; the recorded messages are
	// sent again.
	store.mu.Lock()
	store.ids = append(store.ids, "id-2")
	store.mu.Unlock()
	later := reopen(t, h.path, b, commands)
	stop = later.run(nil)
	defer stop()
	if err := later.p.FirstAttempt(context.Background()); err != nil {
		t.Fatal(err)
	}
	send(forget)
	send(stats)
	for i, r := range replied(4)[2:] {
		if r.OK || !strings.Contains(r.Error, "already executed") {
			t.Errorf("replay %d after the restart: %+v", i, r)
		}
	}
	if !store.has("id-2") {
		t.Error("the replayed forget was executed again after the restart")
	}
	// A new command still runs.
	send(signed(event.Command{Schema: 1, ID: "c-stats-2", Time: time.Now().UTC().Format(time.RFC3339), Name: event.PublishStats}))
	if r := replied(5)[4]; !r.OK || r.Command != "c-stats-2" {
		t.Errorf("a new command after the restart: %+v", r)
	}
	if st := later.p.Stats(); st.Commands.Received != 3 || st.Commands.Rejected != 2 {
		t.Errorf("command stats %+v, want 3 received, 2 rejected", st.Commands)
	}
}

// The record of executed ids is bounded and pruned by expiry: ids older
// than twice the skew are forgotten (their commands are stale anyway), a
// flood beyond the bound is refused rather than let an id be forgotten
// early, and a damaged record refuses what it could no longer tell apart.
func TestCommandIDsBounded(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.p.cfg.CommandSkew = 5 * time.Minute
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	cmd := func(id string, at time.Time) event.Command {
		return event.Command{ID: id, Time: at.Format(time.RFC3339)}
	}
	for i := range maxSeen {
		if err := h.p.remember(cmd(fmt.Sprint("c", i), now), now); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if err := h.p.remember(cmd("one-too-many", now), now); err == nil || !strings.Contains(err.Error(), "no more until the oldest expire") {
		t.Errorf("beyond the bound: %v", err)
	}
	if err := h.p.remember(cmd("c7", now), now); err == nil || !strings.Contains(err.Error(), "already executed") {
		t.Errorf("a replay: %v", err)
	}
	stored, err := readSeen(h.box)
	if err != nil || len(stored) != maxSeen {
		t.Fatalf("%d ids stored (%v), want %d", len(stored), err, maxSeen)
	}
	// Ten minutes and a second later, every one has expired.
	later := now.Add(10*time.Minute + time.Second)
	if err := h.p.remember(cmd("c-late", later), later); err != nil {
		t.Errorf("after expiry: %v", err)
	}
	if stored, _ := readSeen(h.box); len(stored) != 1 {
		t.Errorf("%d ids stored after expiry, want 1", len(stored))
	}

	// A damaged record: commands from before the start are refused, new
	// ones run.
	if _, err := h.box.Put(nil, map[string][]byte{seenKey: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	h.box.Close()
	again := reopen(t, h.path, nil, nil)
	if !strings.Contains(again.log.String(), "record of executed commands is damaged") {
		t.Errorf("the damage was not logged:\n%s", again.log.String())
	}
	start := time.Now()
	if err := again.p.remember(cmd("old", start.Add(-time.Minute)), start); err == nil || !strings.Contains(err.Error(), "send it again with a new id") {
		t.Errorf("a command from before the start, record damaged: %v", err)
	}
	if err := again.p.remember(cmd("new", start.Add(time.Second)), start); err != nil {
		t.Errorf("a new command, record damaged: %v", err)
	}
}
