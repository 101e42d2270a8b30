package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"joren/internal/testenv"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/schematest"
	"joren/vocab"
)

// replayVisits writes a visits file from the shared labelled descriptors:
// three people, the first on four days (a regular), the others once each.
func replayVisits(t *testing.T) string {
	t.Helper()
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	by := map[string][][]float32{}
	var people []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Person     string    `json:"person"`
			Descriptor []float32 `json:"descriptor"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if by[l.Person] == nil {
			people = append(people, l.Person)
		}
		by[l.Person] = append(by[l.Person], l.Descriptor)
	}
	sort.Slice(people, func(i, j int) bool { return len(by[people[i]]) > len(by[people[j]]) })
	var lines []string
	day := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	add := func(at time.Time, person string, k int) {
		b, _ := json.Marshal(map[string]any{"visit": fmt.Sprintf("v%05d", len(lines)+1), "time": at.Format(time.RFC3339), "descriptors": [][]float32{by[person][k]}})
		lines = append(lines, string(b))
	}
	for d := range 4 {
		add(day.AddDate(0, 0, d), people[0], d)
		add(day.AddDate(0, 0, d).Add(time.Hour), people[d%2+1], d)
	}
	path := filepath.Join(t.TempDir(), "visits.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// visitEvents decodes and checks the visit events received.
func visitEvents(t *testing.T, msgs []mosquittotest.Message) map[string]event.Visit {
	t.Helper()
	out := map[string]event.Visit{}
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/visit") {
			continue
		}
		var v event.Visit
		dec := json.NewDecoder(strings.NewReader(string(m.Payload)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("visit event %s: %v", m.Payload, err)
		}
		if err := v.Check(); err != nil {
			t.Errorf("visit event %s: %v", m.Payload, err)
		}
		out[v.ID] = v
	}
	return out
}

// joren replay --publish: the identity store's decisions reach head office
// as pseudonymous events; replaying again yields the same event ids, so head
// office counts nothing twice.
func TestReplayPublish(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	visits := replayVisits(t)
	state := t.TempDir()
	args := []string{"replay", "--visits", visits, "--full", "--publish", b.URL(), "--site", "shop-1", "--device", "door-1", "--state", state}
	out, stderr, code := run(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var decisions []vocab.Decision
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d vocab.Decision
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		decisions = append(decisions, d)
	}
	if len(decisions) != 8 {
		t.Fatalf("%d decisions, want 8", len(decisions))
	}
	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(visitEvents(t, m)) >= 8 })
	if !ok {
		t.Fatalf("%d visit events reached head office, want 8", len(visitEvents(t, msgs)))
	}
	events := visitEvents(t, msgs)
	schema := schematest.New(t)
	for _, m := range msgs {
		kind := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
		if kind == "door" {
			continue
		}
		if err := schema.Validate(kind, m.Payload); err != nil {
			t.Errorf("%s does not match docs/events.schema.json: %v: %s", m.Topic, err, m.Payload)
		}
	}
	regulars := 0
	for _, v := range events {
		// The store counts days in UTC (its default zone): so do the events.
		if v.Site != "shop-1" || v.Device != "door-1" || v.Period != "2026-05" || v.Day != v.Time.Format(time.DateOnly) || v.UTCOffset != "+00:00" {
			t.Errorf("event %+v", v)
		}
		if v.Regular {
			regulars++
		}
	}
	wantRegulars := 0
	for _, d := range decisions {
		if d.Regular {
			wantRegulars++
		}
		for _, m := range msgs {
			if strings.Contains(string(m.Payload), d.Visitor) || strings.Contains(string(m.Payload), `"`+d.Visit+`"`) {
				t.Errorf("an event names internal id %s or visit %s: %s", d.Visitor, d.Visit, m.Payload)
			}
		}
	}
	if regulars != wantRegulars || wantRegulars == 0 {
		t.Errorf("%d regular events, %d regular decisions (want equal, and some)", regulars, wantRegulars)
	}

	// Again, into another fresh store: the same decisions, the same ids.
	if _, stderr, code := run(t, args...); code != exitOK {
		t.Fatalf("second replay: exit %d: %s", code, stderr)
	}
	msgs, _ = sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return topicMessages(m, "/visit") >= 16 })
	if n := len(visitEvents(t, msgs)); n != 8 {
		t.Errorf("two replays gave %d distinct event ids, want 8", n)
	}

	// The outbox is empty and its counts say what was decided: the second
	// replay published the same 8 decisions again, counted once.
	out, _, code = run(t, "events", "status", "--state", state, "--json")
	var st eventsStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitOK {
		t.Fatalf("events status: exit %d, %v: %s", code, err, out)
	}
	if st.Pending != 0 || st.Counts.Total.Visits != 8 || st.Counts.Total.Regulars != wantRegulars || st.Counts.Day != "2026-05-07" {
		t.Errorf("events status %+v", st)
	}
}

func topicMessages(msgs []mosquittotest.Message, suffix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, suffix) {
			n++
		}
	}
	return n
}

func TestEventsPublish(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"shop": "pw"}})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")
	dir := t.TempDir()
	file := filepath.Join(dir, "decisions.jsonl")
	os.WriteFile(file, []byte(`{"visit":"v1","time":"2026-05-14T10:00:00Z","visitor":"p1","new":true,"visits":1,"days":1,"regular":false,"confidence":0.9}
this is not json
{"visit":"v2","time":"2026-05-14T10:05:00Z","visitor":"p2","new":true,"visits":1,"days":1,"regular":false,"confidence":0.8}
{"visit":"v3"}
`), 0o644)
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("pw\n"), 0o600)
	state := filepath.Join(dir, "state")
	common := []string{"events", "publish", "--publish", b.URL(), "--site", "shop-1", "--device", "door-1", "--state", state, "--mqtt-user", "shop"}

	// A wrong password: refused, clearly, before any work is done.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("nope\n"), 0o600)
	_, stderr, code := run(t, append(common, "--mqtt-password-file", bad, file)...)
	if code != exitFailure || !strings.Contains(stderr, `refused user "shop"`) || !strings.Contains(stderr, "check the user name and password") {
		t.Errorf("wrong password: exit %d: %s", code, stderr)
	}

	// The broker is down: the good lines are stored, the bad ones named,
	// and the command says what it could not deliver.
	b.Stop()
	_, stderr, code = run(t, append(common, "--mqtt-password-file", pwFile, "--publish-timeout", "1s", file)...)
	if code != exitFailure || !strings.Contains(stderr, file+":2: not a decision") || !strings.Contains(stderr, file+":4: not a decision") ||
		!strings.Contains(stderr, "nothing was published (connecting to MQTT broker") ||
		!strings.Contains(stderr, "2 event(s) not delivered") || !strings.Contains(stderr, "sent at the next start") {
		t.Errorf("broker down: exit %d: %s", code, stderr)
	}
	out, _, _ := run(t, "events", "status", "--state", state)
	if !strings.Contains(out, "2 event(s) waiting") || !strings.Contains(out, "visits published: 2 (new 2") {
		t.Errorf("status with the broker down: %s", out)
	}

	// Back up: the next run, with nothing new, delivers them.
	b.Restart()
	_, stderr, code = run(t, append(common, "--mqtt-password-file", pwFile, os.DevNull)...)
	if code != exitOK {
		t.Errorf("delivering the backlog: exit %d: %s", code, stderr)
	}
	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(visitEvents(t, m)) >= 2 })
	if !ok {
		t.Fatalf("%d events delivered, want 2", len(visitEvents(t, msgs)))
	}
	if out, _, _ := run(t, "events", "status", "--state", state); !strings.Contains(out, "0 event(s) waiting") {
		t.Errorf("status after delivery: %s", out)
	}

	// Usage errors.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "publish", file}, "needs --publish"},
		{[]string{"events", "publish", "--publish", b.URL(), file}, "needs --site"},
		{[]string{"events", "publish", "--publish", "http://x", "--site", "s", file}, "unknown scheme"},
		{[]string{"events", "publish", "--publish", b.URL(), "--site", "a/b", file}, "has '/'"},
		{[]string{"events", "publish", "--publish", b.URL(), "--site", "s", "--pseudonym-period", "never", file}, "want day, week, month or year"},
		{[]string{"replay", "--visits", file, "--publish", b.URL()}, "needs --site"},
	} {
		if _, stderr, code := run(t, c.args...); code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want usage error %q", c.args, code, stderr, c.want)
		}
	}
}

// A broker whose ACL drops the box's events acknowledges them all the
// same (MQTT 3.1.1): events publish finds out by the probe, publishes
// nothing, says what the ACL must allow and what waits, and exits 1.
// Once the ACL allows the box, the same command delivers.
func TestEventsPublishACL(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{ACL: "topic read joren/#\n"})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")
	dir := t.TempDir()
	file := filepath.Join(dir, "decisions.jsonl")
	os.WriteFile(file, []byte(`{"visit":"v1","time":"2026-05-14T10:00:00Z","visitor":"p1","new":true,"visits":1,"days":1,"regular":false,"confidence":0.9}
{"visit":"v2","time":"2026-05-14T10:05:00Z","visitor":"p2","new":true,"visits":1,"days":1,"regular":false,"confidence":0.8}
`), 0o644)
	state := filepath.Join(dir, "state")
	args := []string{"events", "publish", "--publish", b.URL(), "--site", "shop-1", "--device", "door-1", "--state", state, file}
	_, stderr, code := run(t, args...)
	for _, want := range []string{"ACL drops", "write joren/shop-1/door-1/#", "read joren/shop-1/door-1/probe", "nothing was published or stored", "0 event(s) from earlier runs wait in " + filepath.Join(state, "outbox.db")} {
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if n := len(visitEvents(t, sub.Messages())); n != 0 {
		t.Fatalf("%d events through a denying ACL", n)
	}
	b.SetACL("topic read joren/#\ntopic readwrite joren/shop-1/door-1/#\n")
	if _, stderr, code := run(t, args...); code != exitOK {
		t.Fatalf("after the ACL is fixed: exit %d: %s", code, stderr)
	}
	if _, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(visitEvents(t, m)) == 2 }); !ok {
		t.Errorf("%d of 2 events delivered after the fix", len(visitEvents(t, sub.Messages())))
	}
}

func TestEventsCommand(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	os.WriteFile(key, []byte("a shared command key\n"), 0o600)
	visitor := strings.Repeat("ab", 16)
	out, stderr, code := run(t, "events", "command", "--key-file", key, "forget", "--visitor", visitor, "--period", "2026-05")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	c, err := event.ParseCommand([]byte(out), []byte("a shared command key"), time.Now(), time.Minute)
	if err != nil || c.Name != event.Forget || c.Visitor != visitor {
		t.Errorf("the device would reject %s: %v", out, err)
	}
	if _, stderr, code := run(t, "events", "command", "--key-file", key, "forget"); code != exitUsage || !strings.Contains(stderr, "--visitor") {
		t.Errorf("forget without visitor: exit %d %s", code, stderr)
	}
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("short"), 0o600)
	if _, stderr, code := run(t, "events", "command", "--key-file", short, "stats"); code != exitFailure || !strings.Contains(stderr, "want at least 16") {
		t.Errorf("short key: exit %d %s", code, stderr)
	}
}

// recordingPin is a gpiotest pin that keeps every level written to it.
type recordingPin struct {
	*gpiotest.Pin
	mu     sync.Mutex
	levels []gpio.Level
}

func (r *recordingPin) Out(l gpio.Level) error {
	r.mu.Lock()
	r.levels = append(r.levels, l)
	r.mu.Unlock()
	return r.Pin.Out(l)
}

func TestIndicatorCommand(t *testing.T) {
	out, stderr, code := run(t, "indicator", "--indicator", "log", "regular")
	if code != exitOK || !strings.Contains(out, "regular: led+buzz 120ms, off 120ms, led 120ms, off 120ms, led 120ms") ||
		!strings.Contains(stderr, `msg=indicator kind=regular pattern="led+buzz 120ms`) {
		t.Errorf("log indicator: exit %d\n%s\n%s", code, out, stderr)
	}

	led := &recordingPin{Pin: &gpiotest.Pin{N: "GPIO17", Num: 17}}
	if err := gpioreg.Register(led); err != nil {
		t.Fatal(err)
	}
	defer gpioreg.Unregister("GPIO17")
	_, stderr, code = run(t, "indicator", "--led", "GPIO17", "--pattern", "regular=led 20ms, off 20ms, led 20ms", "regular")
	if code != exitOK {
		t.Fatalf("gpio indicator: exit %d: %s", code, stderr)
	}
	led.mu.Lock()
	got := fmt.Sprint(led.levels)
	led.mu.Unlock()
	// Off at open, two blinks, off at the end and at shutdown.
	if !strings.HasPrefix(got, "[Low High Low High Low") || led.Read() != gpio.Low {
		t.Errorf("LED levels %s", got)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"indicator", "--led", "GPIO99"}, exitFailure, `no GPIO pin named "GPIO99"`},
		{[]string{"indicator", "--indicator", "lamp"}, exitUsage, "want gpio or log"},
		{[]string{"indicator", "--pattern", "regular=blink"}, exitUsage, "want WHAT DURATION"},
		{[]string{"indicator", "--led", "GPIO17:sideways"}, exitUsage, "polarity"},
		{[]string{"indicator", "vip"}, exitUsage, `unknown kind "vip"`},
	} {
		if _, stderr, code := run(t, c.args...); code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %s; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
