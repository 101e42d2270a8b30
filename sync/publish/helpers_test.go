package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"joren/internal/logtest"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/outbox"
	"joren/sync/schematest"
	"joren/vocab"
)

const (
	testSite   = "shibuya-1"
	testDevice = "door.1"
)

var (
	testSecret = event.Secret(bytes.Repeat([]byte{7}, 32))
	testModels = []string{vocab.DlibResNetName + "@0123456789ab"}
)

func testMaker(t testing.TB) *event.Maker {
	m, err := event.NewMaker(event.Config{Device: testDevice, Site: testSite, Secret: testSecret, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// harness is a publisher over its own outbox, with its log captured.
type harness struct {
	p     *Publisher
	box   *outbox.Outbox
	maker *event.Maker
	log   *logtest.Buffer
	path  string
}

func newHarness(t testing.TB, b *mosquittotest.Broker, edit func(*Config)) *harness {
	t.Helper()
	return openHarness(t, b, filepath.Join(t.TempDir(), "outbox.db"), 0, edit)
}

// newHarnessMax has an outbox of at most max events.
func newHarnessMax(t testing.TB, b *mosquittotest.Broker, max int) *harness {
	t.Helper()
	return openHarness(t, b, filepath.Join(t.TempDir(), "outbox.db"), max, nil)
}

// reopen is a new publisher (a restarted process) on an existing outbox.
func reopen(t testing.TB, path string, b *mosquittotest.Broker, edit func(*Config)) *harness {
	t.Helper()
	return openHarness(t, b, path, 0, edit)
}

func openHarness(t testing.TB, b *mosquittotest.Broker, path string, max int, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{maker: testMaker(t), log: &logtest.Buffer{}, path: path}
	var err error
	if h.box, err = outbox.Open(h.path, outbox.Options{Max: max}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.box.Close() })
	cfg := Config{
		Version:  "test",
		Models:   testModels,
		RetryMin: 50 * time.Millisecond,
		RetryMax: 300 * time.Millisecond,
		Log:      h.log.Logger(),
	}
	if b != nil {
		cfg.Broker = b.URL()
	}
	if edit != nil {
		edit(&cfg)
	}
	if h.p, err = New(cfg, h.maker, h.box); err != nil {
		t.Fatal(err)
	}
	return h
}

// run starts Run in the background; stop cancels it and returns its error.
func (h *harness) run(in <-chan vocab.Decision) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.Run(ctx, in) }()
	var (
		once sync.Once
		err  error
	)
	return func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = fmt.Errorf("Run did not return within 20 s of its context's end")
			}
		})
		return err
	}
}

// decision i of a made-up stream: visitor i%7, counts consistent with
// that visitor's history so far.
func decision(i int) vocab.Decision {
	visits := i/7 + 1
	days := min(visits, 1+i/21)
	return vocab.Decision{
		Visit:      fmt.Sprintf("v%05d", i),
		Time:       time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		Visitor:    fmt.Sprintf("id-%d", i%7),
		New:        visits == 1,
		Visits:     visits,
		Days:       days,
		Regular:    days >= 3,
		Confidence: 0.8,
	}
}

// eventIDs returns the ids of the events of decisions from..to-1.
func eventIDs(t testing.TB, m *event.Maker, from, to int) map[string]bool {
	ids := map[string]bool{}
	for i := from; i < to; i++ {
		v, err := m.Visit(decision(i))
		if err != nil {
			t.Fatal(err)
		}
		ids[v.ID] = true
	}
	return ids
}

// visits decodes the visit events among msgs and counts deliveries per id.
func visits(t testing.TB, msgs []mosquittotest.Message) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/visit") {
			continue
		}
		var v event.Visit
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatalf("visit event: %v: %s", err, m.Payload)
		}
		got[v.ID]++
	}
	return got
}

// checkSchema validates every message of msgs whose topic ends in /kind.
func checkSchema(t testing.TB, msgs []mosquittotest.Message, kinds ...string) {
	t.Helper()
	v := schematest.New(t)
	for _, m := range msgs {
		for _, k := range kinds {
			if strings.HasSuffix(m.Topic, "/"+k) {
				if err := v.Validate(k, m.Payload); err != nil {
					t.Errorf("%s message does not match the schema: %v: %s", k, err, m.Payload)
				}
			}
		}
	}
}

// hasAll reports whether every id of want was delivered.
func hasAll(t testing.TB, want map[string]bool) func([]mosquittotest.Message) bool {
	return func(msgs []mosquittotest.Message) bool {
		got := visits(t, msgs)
		for id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	}
}

// checkDelivered fails unless every wanted id was delivered, and nothing
// else; it logs duplicates (allowed: at least once).
func checkDelivered(t testing.TB, msgs []mosquittotest.Message, want map[string]bool) {
	t.Helper()
	checkSchema(t, msgs, "visit")
	got := visits(t, msgs)
	var missing, extra []string
	dups := 0
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range got {
		if !want[id] {
			extra = append(extra, id)
		}
		dups += n - 1
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%d of %d events missing %v, %d unexpected %v", len(missing), len(want), first(missing), len(extra), first(extra))
	}
	t.Logf("%d events delivered, %d duplicate deliveries", len(want), dups)
}

func first(s []string) []string {
	slices.Sort(s)
	return s[:min(len(s), 5)]
}

// lastStatus returns the last status message received.
func lastStatus(t testing.TB, msgs []mosquittotest.Message) (event.Status, bool) {
	t.Helper()
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.HasSuffix(msgs[i].Topic, "/status") {
			var s event.Status
			json.Unmarshal(msgs[i].Payload, &s)
			return s, true
		}
	}
	return event.Status{}, false
}

func topicCount(msgs []mosquittotest.Message, suffix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, suffix) {
			n++
		}
	}
	return n
}

// newClient connects a plain paho client (head office's side) to b.
func newClient(t testing.TB, b *mosquittotest.Broker, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(b.ClientOptions(id))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connecting %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
