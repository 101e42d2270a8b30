package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"joren/vocab"
)

// A visit carries the shop's local day and its offset from UTC at the
// visit's time, so that head office needs no map of shops to zones: a
// late-evening visit in New York is on the previous UTC day's date, an
// early-morning one in Tokyo on the next; summer time changes the offset.
func TestVisitLocalDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	kolkata := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name     string
		loc      *time.Location
		at       time.Time
		day, off string
	}{
		{"Tokyo early morning", tokyo, time.Date(2026, 5, 13, 23, 30, 0, 0, time.UTC), "2026-05-14", "+09:00"},
		{"New York in winter, evening", ny, time.Date(2026, 1, 15, 2, 0, 0, 0, time.UTC), "2026-01-14", "-05:00"},
		{"New York in summer", ny, time.Date(2026, 7, 15, 2, 0, 0, 0, time.UTC), "2026-07-14", "-04:00"},
		{"New York, the night clocks go forward", ny, time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), "2026-03-08", "-04:00"},
		{"UTC", time.UTC, time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC), "2026-05-14", "+00:00"},
		{"half-hour zone", kolkata, time.Date(2026, 5, 14, 18, 45, 0, 0, time.UTC), "2026-05-15", "+05:30"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewMaker(Config{Device: "door-1", Site: "s", Secret: secretOf(1), Location: c.loc})
			if err != nil {
				t.Fatal(err)
			}
			d := regularDecision()
			d.Time = c.at
			v, err := m.Visit(d)
			if err != nil {
				t.Fatal(err)
			}
			if v.Day != c.day || v.UTCOffset != c.off || v.LocalDay() != c.day {
				t.Errorf("day %q offset %q, want %q %q", v.Day, v.UTCOffset, c.day, c.off)
			}
			// What head office computes from the event agrees.
			off, err := ParseOffset(v.UTCOffset)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Time.In(off).Format(time.DateOnly); got != c.day {
				t.Errorf("time at the offset is on %s, want %s", got, c.day)
			}
		})
	}
}

// ParseVisit takes what head office receives: current events and those of
// schema 1 (no day: LocalDay falls back to the UTC date), ignores fields it
// does not know, and rejects what is inconsistent.
func TestParseVisit(t *testing.T) {
	m := testMaker(t, "door-1", secretOf(1))
	v, err := m.Visit(regularDecision())
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := json.Marshal(v)
	edit := func(f func(map[string]any)) []byte {
		var o map[string]any
		json.Unmarshal(cur, &o)
		f(o)
		b, _ := json.Marshal(o)
		return b
	}
	v1 := []byte(`{"schema":1,"id":"01KRJYVH801S99Q3EDP2C4W30Z","device":"door-1","site":"shibuya-1","time":"2026-05-14T23:30:00Z","period":"2026-05","visitor":"bd39861c589068b590bd8dc58920f5dd","kind":"returning","visits":5,"days":3,"regular":true,"became_regular":true,"confidence":0.9}`)
	got, err := ParseVisit(v1)
	if err != nil || got.Schema != 1 || got.LocalDay() != "2026-05-14" {
		t.Errorf("schema 1 event: %+v, %v", got, err)
	}
	if got, err := ParseVisit(cur); err != nil || got != v {
		t.Errorf("current event: %+v, %v; want %+v", got, err, v)
	}
	if _, err := ParseVisit(edit(func(o map[string]any) { o["future_field"] = []int{1} })); err != nil {
		t.Errorf("an unknown field was refused: %v", err)
	}
	for _, c := range []struct {
		name, want string
		payload    []byte
	}{
		{"no day", `utc_offset ""`, edit(func(o map[string]any) { delete(o, "day"); delete(o, "utc_offset") })},
		{"wrong day", "day 2026-05-15 is not the date of 2026-05-14T10:15:30Z at +09:00 (2026-05-14)", edit(func(o map[string]any) { o["day"] = "2026-05-15" })},
		{"day not a date", `day "14/05/2026"`, edit(func(o map[string]any) { o["day"] = "14/05/2026" })},
		{"offset without colon", `utc_offset "+0900"`, edit(func(o map[string]any) { o["utc_offset"] = "+0900" })},
		{"offset out of range", "outside -12:00..+14:00", edit(func(o map[string]any) { o["utc_offset"] = "+15:00" })},
		{"schema 3", "schema 3, want 1 or 2", edit(func(o map[string]any) { o["schema"] = 3 })},
		{"not JSON", "not a visit event", []byte("visit")},
	} {
		if _, err := ParseVisit(c.payload); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

// HealthOf passes head office the box's health with its times in UTC, and
// nothing the health does not have.
func TestHealthOf(t *testing.T) {
	since := time.Date(2026, 5, 14, 19, 0, 0, 500e6, tokyo)
	temp := 51.5
	h := vocab.Health{
		Status: vocab.StatusDegraded, Time: since, Version: "v1",
		Camera:       vocab.CameraHealth{State: vocab.CameraNoFrames, FPS: 0.3333333, LastFrameAgeS: 47.123456, Reason: "no frame for 47s: rtsp://cam:xxxxx@10.0.0.9/live"},
		Broker:       vocab.BrokerHealth{State: vocab.BrokerConnected, Since: since},
		Outbox:       vocab.OutboxHealth{Pending: 3, Max: 100000},
		Clock:        vocab.ClockHealth{Synchronised: true, Trusted: true},
		Disk:         &vocab.DiskHealth{FreeBytes: 1 << 30, TotalBytes: 8 << 30},
		TemperatureC: &temp,
		Problems:     []vocab.Problem{{Key: "camera", Reason: "no frame", Since: since}},
	}
	e := HealthOf(h)
	if e.Camera == nil || e.Camera.State != vocab.CameraNoFrames || e.Camera.FPS != 0.33 || e.Camera.LastFrameAgeS != 47.12 ||
		e.Clock == nil || !e.Clock.Trusted || e.Disk == nil || *e.TemperatureC != temp {
		t.Errorf("health %+v", e)
	}
	want := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	if e.Broker.Since != want || e.Problems[0].Since != want {
		t.Errorf("times %v %v, want %v (UTC, to the second)", e.Broker.Since, e.Problems[0].Since, want)
	}
	if h.Problems[0].Since != since {
		t.Error("HealthOf changed its argument")
	}
	b, _ := json.Marshal(e)
	if strings.Contains(string(b), `"time"`) || strings.Contains(string(b), `"version"`) {
		t.Errorf("health repeats what the message carries: %s", b)
	}
}
