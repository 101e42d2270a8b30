package event

import (
	"encoding/json"
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
	cmd := Command{Schema: 1, ID: NewID(now), Time: now.Format(time.RFC3339), Name: Forget, Visitor: visits[0].Visitor, Period: "2026-05"}
	cmd.Sign([]byte("head-office-key"))
	good := map[string][]any{
		"status": {
			Status{Schema: 1, State: Online, Device: "door-1", Site: "s", Time: now, Version: "v0.3.0", Models: []string{vocab.DlibResNetName + "@0123456789ab"}, Since: now.Add(-time.Hour), Uptime: 3600},
			Status{Schema: 1, State: Offline, Device: "door-1", Site: "s", Reason: "connection lost"},
		},
		"stats": {Stats{Schema: 1, Device: "door-1", Site: "s", Time: now, Since: now, Day: "2026-05-14", Today: today, Total: today,
			Outbox: OutboxStats{Pending: 3, Delivered: 10, Dropped: 1}, Commands: CommandStats{Received: 2, Rejected: 1}}},
		"command": {cmd, Command{Schema: 1, ID: "c2", Time: now.Format(time.RFC3339), Name: PublishStats, Signature: strings.Repeat("ab", 32)}},
		"reply":   {Reply{Schema: 1, Time: now, Command: cmd.ID, OK: true, Forgotten: 1}, Reply{Schema: 1, Time: now, OK: false, Error: "not a command object"}},
	}
	for name, msgs := range good {
		for _, msg := range msgs {
			if err := validate(t, sch, name, msg); err != nil {
				t.Errorf("%s %+v: %v", name, msg, err)
			}
		}
	}

	// The schema is not a rubber stamp.
	bad := func(edit func(map[string]any)) map[string]any {
		b, _ := json.Marshal(visits[0])
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		return m
	}
	for name, msg := range map[string]map[string]any{
		"no id":           bad(func(m map[string]any) { delete(m, "id") }),
		"id not a ULID":   bad(func(m map[string]any) { m["id"] = "v00001" }),
		"raw visitor id":  bad(func(m map[string]any) { m["visitor"] = "id-000042" }),
		"kind":            bad(func(m map[string]any) { m["kind"] = "staff" }),
		"confidence":      bad(func(m map[string]any) { m["confidence"] = 1.2 }),
		"schema 2":        bad(func(m map[string]any) { m["schema"] = 2 }),
		"time not a date": bad(func(m map[string]any) { m["time"] = "yesterday" }),
	} {
		if err := validate(t, sch, "visit", msg); err == nil {
			t.Errorf("%s: accepted %v", name, msg)
		}
	}
	if err := validate(t, sch, "command", Command{Schema: 1, ID: "c3", Time: now.Format(time.RFC3339), Name: Forget, Signature: strings.Repeat("ab", 32)}); err == nil {
		t.Error("a forget without a visitor was accepted")
	}
}
