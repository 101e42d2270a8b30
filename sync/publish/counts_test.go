package publish

import (
	"context"
	"strings"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/outbox"
	"joren/vocab"
)

// decisionOn is decision i of the made-up stream, on the UTC day day
// (the harness's calendar), i seconds after its start.
func decisionOn(i int, day time.Time) vocab.Decision {
	d := decision(i)
	d.Time = day.Add(time.Duration(i) * time.Second)
	return d
}

// countsOf is what the stats must say of distinct decisions.
func countsOf(ds ...vocab.Decision) event.Counts {
	var c event.Counts
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.Visit] {
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

// publishRun is one run of a publishing process: Run fed ds, its input
// closed, Run drained and returned. It returns the last stats message
// head office received, which Run sends at shutdown.
func publishRun(t *testing.T, h *harness, sub *mosquittotest.Subscriber, ds []vocab.Decision) event.Stats {
	t.Helper()
	shutdowns := func(msgs []mosquittotest.Message) int {
		n := 0
		for _, m := range msgs {
			if strings.HasSuffix(m.Topic, "/status") && strings.Contains(string(m.Payload), `"reason":"shutdown"`) {
				n++
			}
		}
		return n
	}
	before := shutdowns(sub.Messages())
	in := make(chan vocab.Decision)
	done := make(chan error, 1)
	go func() { done <- h.p.Run(context.Background(), in) }()
	for _, d := range ds {
		in <- d
	}
	close(in)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its input closed")
	}
	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return shutdowns(m) > before })
	if !ok {
		t.Fatal("no offline status at shutdown")
	}
	checkSchema(t, msgs, "visit", "status", "stats")
	last, n := lastStats(msgs)
	if n == 0 {
		t.Fatal("no stats message")
	}
	return last
}

// Head office's counts are the decisions, however often each is
// published: a first run, a resumed run that publishes its first
// decisions again after a restart, and a run that publishes every event
// twice all end with stats (sent at shutdown, as the last message before
// the offline status) counting each decision once, and every event
// delivered at least as often as it was published.
func TestCountsOncePerDecision(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	// Stats only at connect and at shutdown: the last one is shutdown's.
	long := func(c *Config) { c.StatsEvery = time.Hour }
	start := time.Now().UTC()
	today := start.Truncate(24 * time.Hour)
	var ds []vocab.Decision
	for i := range 45 {
		// Three days: two days ago, yesterday, today.
		ds = append(ds, decisionOn(i, today.AddDate(0, 0, i%3-2)))
	}
	todays := func(ds []vocab.Decision) []vocab.Decision {
		var out []vocab.Decision
		for _, d := range ds {
			if d.Time.Format(time.DateOnly) == today.Format(time.DateOnly) {
				out = append(out, d)
			}
		}
		return out
	}
	check := func(run string, st event.Stats, decided []vocab.Decision) {
		t.Helper()
		if want := countsOf(decided...); st.Total != want {
			t.Errorf("%s: stats total %+v, want %+v (the %d decisions)", run, st.Total, want, want.Visits)
		}
		// Unless the test ran over midnight, today is today.
		if st.Day == today.Format(time.DateOnly) {
			if want := countsOf(todays(decided)...); st.Today != want {
				t.Errorf("%s: stats today %+v, want %+v", run, st.Today, want)
			}
		}
		if st.Outbox.Pending != 0 {
			t.Errorf("%s: %d events pending after the run", run, st.Outbox.Pending)
		}
	}

	// 1. The first 30 decisions.
	h := newHarness(t, b, long)
	st := publishRun(t, h, sub, ds[:30])
	check("first run", st, ds[:30])
	if st.Today.Visits == 0 {
		t.Error("no visit counted today: the test must publish some of today's")
	}

	// 2. Restarted and resumed: the first 30 again, then 15 new.
	h.box.Close()
	h = reopen(t, h.path, b, long)
	st = publishRun(t, h, sub, ds)
	check("resumed run", st, ds)

	// 3. Restarted again: every event twice.
	h.box.Close()
	h = reopen(t, h.path, b, long)
	twice := append(append([]vocab.Decision{}, ds...), ds...)
	st = publishRun(t, h, sub, twice)
	check("every event twice", st, ds)

	// Every event reached head office as often as it was published (at
	// least once per run that published it), under one id per decision.
	got := visits(t, sub.Messages())
	if len(got) != len(ds) {
		t.Errorf("%d distinct event ids, want %d", len(got), len(ds))
	}
	for i, id := range orderedIDs(t, h.maker, ds) {
		want := 3
		if i < 30 {
			want = 4
		}
		if got[id] < want {
			t.Errorf("event of decision %d delivered %d times, want at least %d", i, got[id], want)
		}
	}
	// What `joren events status` reads agrees.
	c, err := ReadCounters(h.box)
	if err != nil || c.Total != countsOf(ds...) || c.Day != today.Format(time.DateOnly) || c.Today != countsOf(todays(ds)...) {
		t.Errorf("ReadCounters %+v, %v", c, err)
	}
}

func orderedIDs(t *testing.T, m *event.Maker, ds []vocab.Decision) []string {
	var ids []string
	for _, d := range ds {
		v, err := m.Visit(d)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// The counted ids are kept for the latest openDays days with visits;
// older days are closed: their events are not counted again (nor late
// ones), and the file keeps only the open days' ids. A clock that jumps
// years ahead closes one day, not the calendar in between.
func TestCountsCloseOldDays(t *testing.T) {
	h := newHarness(t, nil, nil)
	first := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var ds []vocab.Decision
	for day := range openDays + 8 {
		ds = append(ds, decisionOn(day, first.AddDate(0, 0, day)))
	}
	publish := func(ds ...vocab.Decision) {
		t.Helper()
		for _, d := range ds {
			if err := h.p.Publish(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := func() int {
		h.p.mu.Lock()
		defer h.p.mu.Unlock()
		return h.p.tally.Total.Visits
	}
	publish(ds...)
	if n := total(); n != len(ds) {
		t.Fatalf("%d counted, want %d", n, len(ds))
	}
	firstOpen := ds[8].Time.Format(time.DateOnly)
	if h.p.tally.Open != firstOpen || len(h.p.tally.days) != openDays {
		t.Errorf("open from %s with %d days, want %s and %d", h.p.tally.Open, len(h.p.tally.days), firstOpen, openDays)
	}

	late := decisionOn(1000, first) // a closed day, never seen
	gap := decisionOn(1001, first.AddDate(0, 0, 30).Add(time.Hour))
	publish(ds...) // all again: closed days and open ones
	publish(late)  // not counted: its day is closed
	publish(gap)   // counted: an open day
	if n := total(); n != len(ds)+1 {
		t.Errorf("%d counted after republishing, want %d", n, len(ds)+1)
	}

	// A clock years ahead, then right again: the days in between are not
	// closed, and the right days keep counting.
	jump := decisionOn(2000, time.Date(2035, 6, 1, 0, 0, 0, 0, time.UTC))
	back := decisionOn(2001, ds[len(ds)-1].Time.Add(time.Hour))
	publish(jump, back, back)
	if n := total(); n != len(ds)+3 {
		t.Errorf("%d counted after a clock jump, want %d", n, len(ds)+3)
	}

	// Only open days' ids are kept, and a restart reads them back.
	seen := 0
	h.box.ViewState(func(s *outbox.State) error {
		s.Scan(prefixSeen, func(string, []byte) bool { seen++; return true })
		return nil
	})
	// Open: the jump's day and the latest 61 of ds's, which hold one
	// visit each, and the gap's and back's.
	if want := openDays + 2; seen != want {
		t.Errorf("%d counted ids kept, want %d", seen, want)
	}
	h.box.Close()
	h = reopen(t, h.path, nil, nil)
	publish(append(ds, late, gap, jump, back)...)
	if n := total(); n != len(ds)+3 {
		t.Errorf("%d counted after a restart and republishing everything, want %d", n, len(ds)+3)
	}
	if st := h.p.Stats(); st.Total.Visits != len(ds)+3 {
		t.Errorf("stats total %+v", st.Total)
	}
}

// An outbox of schema 1 (counters counted per publish) keeps its total
// and its day's counts; the day stays open, earlier ones are closed; the
// old counters are replaced at the first count.
func TestCountsFromSchema1Outbox(t *testing.T) {
	path := t.TempDir() + "/outbox.db"
	box, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := `{"day":"2026-05-14","today":{"visits":3,"new":1,"returning":2,"regulars":1,"became_regular":0},"total":{"visits":10,"new":4,"returning":6,"regulars":2,"became_regular":1}}`
	if _, err := box.Put(nil, map[string][]byte{keyCounters: []byte(old)}); err != nil {
		t.Fatal(err)
	}
	box.Close()

	h := reopen(t, path, nil, nil)
	if c, err := ReadCounters(h.box); err != nil || c.Total.Visits != 10 || c.Day != "2026-05-14" || c.Today.Visits != 3 {
		t.Fatalf("schema 1 counters read as %+v, %v", c, err)
	}
	may14 := time.Date(2026, 5, 14, 18, 0, 0, 0, time.UTC)
	h.p.Publish(decisionOn(1, may14))
	h.p.Publish(decisionOn(2, may14.AddDate(0, 0, -1))) // before: closed
	h.p.Publish(decisionOn(3, may14.AddDate(0, 0, 1)))
	h.box.Close()

	h = reopen(t, path, nil, nil)
	c, err := ReadCounters(h.box)
	if err != nil || c.Total.Visits != 12 || c.Day != "2026-05-15" || c.Today.Visits != 1 {
		t.Errorf("counters after migrating: %+v, %v", c, err)
	}
	if n := h.p.tally.days["2026-05-14"].Visits; n != 4 {
		t.Errorf("2026-05-14 has %d visits, want 3 from schema 1 and 1 new", n)
	}
	if v, _ := h.box.State(keyCounters); v != nil {
		t.Errorf("schema 1 counters still stored: %s", v)
	}
}

// Damaged counts do not stop publishing: they start again from zero, and
// say so.
func TestCountsDamaged(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.box.Put(nil, map[string][]byte{keyTally: []byte("{not json")})
	h.box.Close()
	h = reopen(t, h.path, nil, nil)
	if !strings.Contains(h.log.String(), "visit counts are damaged") {
		t.Errorf("not logged:\n%s", h.log)
	}
	if err := h.p.Publish(decision(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCounters(h.box); err != nil {
		t.Errorf("counts still damaged after a count: %v", err)
	}
	if st := h.p.Stats(); st.Total.Visits != 1 {
		t.Errorf("total %+v", st.Total)
	}
}
