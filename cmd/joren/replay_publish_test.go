package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/schematest"
	"joren/vocab"
)

// Issue 12's inflated counts: resumed `joren replay --publish` runs into
// one store and one outbox, with every event published again by each
// resumed run and a broker stopped in the middle, end with stats (the last
// message before the offline status, as Home Assistant and head office
// read it) and `events status` counting exactly the store's decisions,
// each once; head office got every event at least twice, under one id.
func TestReplayPublishResumed(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	file, visits := monthFile(t, 25, 4)
	raw, _ := os.ReadFile(file)
	lines := strings.SplitAfter(string(raw), "\n")
	half := filepath.Join(t.TempDir(), "half.jsonl")
	os.WriteFile(half, []byte(strings.Join(lines[:len(visits)/2], "")), 0o644)
	dir := t.TempDir()
	store, state := filepath.Join(dir, "store"), filepath.Join(dir, "state")
	replay := func(visits string, extra ...string) ([]vocab.Decision, string, int) {
		t.Helper()
		args := append([]string{"replay", "--visits", visits, "--full", "--store", store, "--tz", "Asia/Tokyo",
			"--publish", b.URL(), "--site", "shop-1", "--device", "door-1", "--state", state}, extra...)
		out, stderr, code := run(t, args...)
		var ds []vocab.Decision
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var d vocab.Decision
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatalf("%v: %q", err, l)
			}
			ds = append(ds, d)
		}
		return ds, stderr, code
	}
	shutdowns := func() int {
		n := 0
		for _, m := range sub.Messages() {
			if strings.HasSuffix(m.Topic, "/status") && strings.Contains(string(m.Payload), `"reason":"shutdown"`) {
				n++
			}
		}
		return n
	}
	// lastStats waits for run n's offline status and returns the stats
	// that preceded it.
	lastStats := func(n int) event.Stats {
		t.Helper()
		msgs, ok := sub.WaitFor(10*time.Second, func([]mosquittotest.Message) bool { return shutdowns() >= n })
		if !ok {
			t.Fatalf("run %d: no offline status", n)
		}
		var st event.Stats
		for _, m := range msgs {
			if strings.HasSuffix(m.Topic, "/stats") {
				st = event.Stats{}
				json.Unmarshal(m.Payload, &st)
			}
		}
		return st
	}

	// 1. Half the month.
	first, stderr, code := replay(half)
	if code != exitOK || len(first) != len(visits)/2 {
		t.Fatalf("first half: exit %d, %d decisions: %s", code, len(first), stderr)
	}
	if st := lastStats(1); st.Total != counts(first) {
		t.Errorf("after the first half: stats total %+v, want %+v", st.Total, counts(first))
	}

	// 2. Resumed over the whole month: the first half is printed and
	// published again, from the store's records.
	all, stderr, code := replay(file)
	if code != exitOK || len(all) != len(visits) || !strings.Contains(stderr, fmt.Sprintf("resumed: %d visits were decided before", len(first))) {
		t.Fatalf("resumed: exit %d, %d decisions: %s", code, len(all), stderr)
	}
	want := counts(all)
	if want.Visits == 0 || want.New == 0 || want.Returning == 0 || want.Regulars == 0 {
		t.Fatalf("the month has too little to count: %+v", want)
	}
	if st := lastStats(2); st.Total != want {
		t.Errorf("after resuming: stats total %+v, want %+v (the decisions)", st.Total, want)
	}

	// 3. The broker stops; the whole month again: every event stored
	// again (and not counted again), nothing delivered, the run says so.
	b.Stop()
	_, stderr, code = replay(file, "--publish-timeout", "1s")
	if code != exitFailure || !strings.Contains(stderr, "not delivered") {
		t.Fatalf("broker down: exit %d: %s", code, stderr)
	}
	// 4. Back: the whole month once more delivers the backlog and
	// publishes every event a fourth time.
	b.Restart()
	if _, stderr, code = replay(file); code != exitOK {
		t.Fatalf("after the broker came back: exit %d: %s", code, stderr)
	}
	if st := lastStats(3); st.Total != want || st.Outbox.Pending != 0 {
		t.Errorf("after four runs: stats total %+v, %d pending; want %+v, 0", st.Total, st.Outbox.Pending, want)
	}
	out, _, code := run(t, "events", "status", "--state", state, "--json")
	var es eventsStatus
	if err := json.Unmarshal([]byte(out), &es); err != nil || code != exitOK || es.Counts.Total != want {
		t.Errorf("events status: exit %d, %v: %+v, want total %+v", code, err, es.Counts, want)
	}

	// Head office: one id per decision, each delivered at least twice,
	// every message valid, each visit on its local day in Tokyo.
	msgs := sub.Messages()
	schema := schematest.New(t)
	delivered := map[string]int{}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, m := range msgs {
		kind := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
		if err := schema.Validate(kind, m.Payload); err != nil {
			t.Errorf("%s: %v: %s", m.Topic, err, m.Payload)
		}
		if kind != "visit" {
			continue
		}
		v, err := event.ParseVisit(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if v.Day != v.Time.In(tokyo).Format(time.DateOnly) || v.UTCOffset != "+09:00" {
			t.Errorf("event on %s %s at %s", v.Day, v.UTCOffset, v.Time)
		}
		delivered[v.ID]++
	}
	if len(delivered) != want.Visits {
		t.Errorf("%d distinct events for %d decisions", len(delivered), want.Visits)
	}
	for id, n := range delivered {
		if n < 2 {
			t.Errorf("event %s delivered %d times, want at least 2", id, n)
		}
	}
}

// counts is what the stats must say of decisions: customers' visits,
// each once.
func counts(ds []vocab.Decision) event.Counts {
	var c event.Counts
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Staff != "" || d.Unknown || seen[d.Visit] {
			continue
		}
		seen[d.Visit] = true
		c.Visits++
		if d.New {
			c.New++
		} else {
			c.Returning++
		}
		if d.Regular {
			c.Regulars++
		}
		if d.BecameRegular {
			c.BecameRegular++
		}
	}
	return c
}
