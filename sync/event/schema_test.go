package event

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/sync/schematest"
	"joren/vocab"
)

func validate(t *testing.T, s *schematest.Validator, kind string, msg any) error {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(kind, b)
}

// testHealth is a camera box's health with something wrong.
func testHealth(now time.Time) *Health {
	temp := 48.2
	return HealthOf(vocab.Health{
		Status: vocab.StatusDegraded, Time: now,
		Camera: vocab.CameraHealth{State: vocab.CameraNoFrames, FPS: 0, LastFrameAgeS: 47.5, Reconnects: 3, Reason: "no frame for 47s (3 reconnections): /dev/video0 does not exist"},
		Broker: vocab.BrokerHealth{State: vocab.BrokerConnected, Since: now.Add(-time.Hour)},
		Outbox: vocab.OutboxHealth{Pending: 2, Max: 100000},
		Clock:  vocab.ClockHealth{Trusted: true, Reason: "not synchronised to network time"},
		Disk:   &vocab.DiskHealth{FreeBytes: 5 << 30, TotalBytes: 16 << 30}, TemperatureC: &temp,
		Problems: []vocab.Problem{{Key: "camera", Reason: "no frame for 47s", Since: now.Add(-47 * time.Second)}},
	})
}

// Every message the device produces validates against the published
// schema, and the schema really rejects what it must.
func TestMessagesMatchSchema(t *testing.T) {
	sch := schematest.New(t)
	m := testMaker(t, "door-1", secretOf(1))
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	regular, err := m.Visit(regularDecision())
	if err != nil {
		t.Fatal(err)
	}
	visits := []Visit{regular}
	nd := regularDecision()
	nd.New, nd.Visits, nd.Days, nd.Regular, nd.Visit = true, 1, 1, false, "v-new"
	v, err := m.Visit(nd)
	if err != nil {
		t.Fatal(err)
	}
	visits = append(visits, v)
	for _, p := range []Period{Day, Week, Year} {
		pm, _ := NewMaker(Config{Device: "d", Site: "s", Secret: secretOf(3), Period: p})
		v, _ := pm.Visit(regularDecision())
		visits = append(visits, v)
	}
	for _, v := range visits {
		if err := validate(t, sch, "visit", v); err != nil {
			t.Errorf("visit %+v: %v", v, err)
		}
	}
	var today Counts
	for _, v := range visits {
		today.Add(v)
	}
	cmd := Command{Schema: CommandSchema, ID: NewID(now), Time: now.Format(time.RFC3339), Name: Forget, Visitor: visits[0].Visitor, Period: "2026-05"}
	cmd.Sign([]byte("head-office-key"))
	replay := HealthOf(vocab.Health{Status: vocab.StatusOK, Broker: vocab.BrokerHealth{State: vocab.BrokerConnected, Since: now}, Outbox: vocab.OutboxHealth{Max: 100}})
	replay.Camera, replay.Clock = nil, nil
	stats := Stats{Schema: SchemaVersion, Device: "door-1", Site: "s", Time: now, Since: now, Version: "v0.3.0", Day: "2026-05-14", UTCOffset: "+09:00", Today: today, Total: today,
		Outbox: OutboxStats{Pending: 3, Delivered: 10, Dropped: 1}, Commands: CommandStats{Received: 2, Rejected: 1}, Health: testHealth(now)}
	replayStats := stats
	replayStats.Health = replay
	good := map[string][]any{
		"status": {
			Status{Schema: SchemaVersion, State: Online, Device: "door-1", Site: "s", Time: now, Version: "v0.3.0", Models: []string{vocab.DlibResNetName + "@0123456789ab"}, Since: now.Add(-time.Hour), Uptime: 3600, Health: testHealth(now)},
			Status{Schema: SchemaVersion, State: Online, Device: "door-1", Site: "s", Time: now, Health: replay},
			Status{Schema: SchemaVersion, State: Offline, Device: "door-1", Site: "s", Time: now, Reason: "shutdown", Health: testHealth(now)},
			Status{Schema: SchemaVersion, State: Offline, Device: "door-1", Site: "s", Reason: "connection lost"}, // the last will
		},
		"stats":   {stats, replayStats},
		"command": {cmd, Command{Schema: CommandSchema, ID: "c2", Time: now.Format(time.RFC3339), Name: PublishStats, Signature: strings.Repeat("ab", 32)}},
		"reply":   {Reply{Schema: SchemaVersion, Time: now, Command: cmd.ID, OK: true, Forgotten: 1}, Reply{Schema: SchemaVersion, Time: now, OK: false, Error: "not a command object"}},
	}
	for name, msgs := range good {
		for _, msg := range msgs {
			if err := validate(t, sch, name, msg); err != nil {
				t.Errorf("%s %+v: %v", name, msg, err)
			}
		}
	}

	// The schema is not a rubber stamp.
	edit := func(msg any, f func(map[string]any)) map[string]any {
		b, _ := json.Marshal(msg)
		var m map[string]any
		json.Unmarshal(b, &m)
		f(m)
		return m
	}
	health := func(f func(h map[string]any)) func(map[string]any) {
		return func(m map[string]any) { f(m["health"].(map[string]any)) }
	}
	for _, c := range []struct {
		name, kind string
		msg        map[string]any
	}{
		{"no id", "visit", edit(visits[0], func(m map[string]any) { delete(m, "id") })},
		{"id not a ULID", "visit", edit(visits[0], func(m map[string]any) { m["id"] = "v00001" })},
		{"raw visitor id", "visit", edit(visits[0], func(m map[string]any) { m["visitor"] = "id-000042" })},
		{"kind", "visit", edit(visits[0], func(m map[string]any) { m["kind"] = "staff" })},
		{"confidence", "visit", edit(visits[0], func(m map[string]any) { m["confidence"] = 1.2 })},
		{"schema 3", "visit", edit(visits[0], func(m map[string]any) { m["schema"] = 3 })},
		{"time not a date", "visit", edit(visits[0], func(m map[string]any) { m["time"] = "yesterday" })},
		{"schema 2 without day", "visit", edit(visits[0], func(m map[string]any) { delete(m, "day") })},
		{"schema 2 without offset", "visit", edit(visits[0], func(m map[string]any) { delete(m, "utc_offset") })},
		{"day not a date", "visit", edit(visits[0], func(m map[string]any) { m["day"] = "14 May" })},
		{"offset in minutes", "visit", edit(visits[0], func(m map[string]any) { m["utc_offset"] = 540 })},
		{"offset without colon", "visit", edit(visits[0], func(m map[string]any) { m["utc_offset"] = "+0900" })},
		{"online without health", "status", edit(good["status"][0], func(m map[string]any) { delete(m, "health") })},
		{"health status", "status", edit(good["status"][0], health(func(h map[string]any) { h["status"] = "fine" }))},
		{"health without broker", "status", edit(good["status"][0], health(func(h map[string]any) { delete(h, "broker") }))},
		{"camera without fps", "status", edit(good["status"][0], health(func(h map[string]any) { delete(h["camera"].(map[string]any), "fps") }))},
		{"negative frame age", "status", edit(good["status"][0], health(func(h map[string]any) { h["camera"].(map[string]any)["last_frame_age_s"] = -1 }))},
		{"problem without reason", "status", edit(good["status"][0], health(func(h map[string]any) { delete(h["problems"].([]any)[0].(map[string]any), "reason") }))},
		{"stats without health", "stats", edit(stats, func(m map[string]any) { delete(m, "health") })},
		{"stats without offset", "stats", edit(stats, func(m map[string]any) { delete(m, "utc_offset") })},
		{"stats outbox", "stats", edit(stats, health(func(h map[string]any) { h["outbox"].(map[string]any)["pending"] = -1 }))},
		{"command schema 2", "command", edit(cmd, func(m map[string]any) { m["schema"] = 2 })},
	} {
		if err := sch.Validate(c.kind, mustJSON(t, c.msg)); err == nil {
			t.Errorf("%s: a %s was accepted: %v", c.name, c.kind, c.msg)
		}
	}
	if err := validate(t, sch, "command", Command{Schema: CommandSchema, ID: "c3", Time: now.Format(time.RFC3339), Name: Forget, Signature: strings.Repeat("ab", 32)}); err == nil {
		t.Error("a forget without a visitor was accepted")
	}
}

// What devices of schema 1 sent (and outboxes may still hold) stays
// valid: head office must accept old events.
func TestSchema1StillValid(t *testing.T) {
	sch := schematest.New(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "schema1", "*.json"))
	kinds := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kind, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), "-")
		kinds[kind] = true
		if err := sch.Validate(kind, b); err != nil {
			t.Errorf("%s: a schema 1 %s is refused: %v", f, kind, err)
		}
		if kind == "visit" {
			if _, err := ParseVisit(b); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	for _, k := range []string{"visit", "status", "stats", "reply"} {
		if !kinds[k] {
			t.Errorf("no schema 1 %s in testdata/schema1", k)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
