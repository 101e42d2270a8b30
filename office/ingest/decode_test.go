package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"joren/office"
)

const goodVisit = `{"schema":1,"id":"01KRJYVH801S99Q3EDP2C4W30Z","device":"door-1","site":"shibuya-1",
 "time":"2026-05-14T10:00:00Z","period":"2026-05","visitor":"bd39861c589068b590bd8dc58920f5dd",
 "kind":"returning","visits":5,"days":3,"regular":true,"became_regular":true,"confidence":0.9}`

func newDecoder(t testing.TB) decoder {
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	return decoder{v: v, maxPayload: 4096}
}

func TestDecode(t *testing.T) {
	d := newDecoder(t)
	at := time.Date(2026, 5, 14, 10, 0, 5, 0, time.UTC)
	withDay := strings.Replace(goodVisit, `"confidence":0.9}`, `"confidence":0.9,"day":"2026-05-14","utc_offset":"+09:00","future":{"x":1}}`, 1)
	withWest := strings.Replace(goodVisit, `"confidence":0.9}`, `"confidence":0.9,"day":"2026-05-14","utc_offset":"-04:00"}`, 1)
	status := `{"schema":1,"state":"online","device":"door-1","site":"shibuya-1","time":"2026-11-26T01:48:15Z","version":"v1.2.0","uptime_s":495}`
	stats := `{"schema":1,"device":"door-1","site":"shibuya-1","time":"2026-11-26T01:50:00Z","since":"2026-11-26T01:40:00Z","uptime_s":600,
 "day":"2026-11-26","today":{"visits":12,"new":5,"returning":7,"regulars":3,"became_regular":1},
 "total":{"visits":40,"new":20,"returning":20,"regulars":9,"became_regular":3},"outbox":{"pending":0,"delivered":12,"dropped":0},"commands":{"received":0,"rejected":0}}`
	for _, tc := range []struct {
		name, topic, payload, outcome, reason string
		check                                 func(t *testing.T, b *office.Batch)
	}{
		{"visit", "joren/shibuya-1/door-1/visit", goodVisit, "visit", "", func(t *testing.T, b *office.Batch) {
			v := b.Visits[0]
			if v.ID != "01KRJYVH801S99Q3EDP2C4W30Z" || v.New || !v.Regular || !v.BecameRegular || v.Visits != 5 || v.DeviceOffset != nil || v.DeviceDay != "" || !v.Time.Equal(at.Add(-5*time.Second)) {
				t.Errorf("%+v", v)
			}
			if len(b.Seen) != 1 || !b.Seen[0].At.Equal(at) {
				t.Errorf("seen %+v", b.Seen)
			}
		}},
		{"visit with its day and offset", "joren/shibuya-1/door-1/visit", withDay, "visit", "", func(t *testing.T, b *office.Batch) {
			v := b.Visits[0]
			if v.DeviceDay != "2026-05-14" || v.DeviceOffset == nil || *v.DeviceOffset != 9*time.Hour {
				t.Errorf("%+v", v)
			}
		}},
		{"offset west of UTC", "joren/shibuya-1/door-1/visit", withWest, "visit", "", func(t *testing.T, b *office.Batch) {
			if o := b.Visits[0].DeviceOffset; o == nil || *o != -4*time.Hour {
				t.Errorf("offset %v", o)
			}
		}},
		{"status", "joren/shibuya-1/door-1/status", status, "status", "", func(t *testing.T, b *office.Batch) {
			s := b.Status[0]
			if s.State != "online" || s.Version != "v1.2.0" || !s.Received.Equal(at) || string(s.Payload) != status {
				t.Errorf("%+v", s)
			}
		}},
		{"stats", "joren/shibuya-1/door-1/stats", stats, "stats", "", func(t *testing.T, b *office.Batch) {
			s := b.Stats[0]
			if s.Day != "2026-11-26" || s.Visits != 12 || s.Time.IsZero() {
				t.Errorf("%+v", s)
			}
		}},
		{"cleared status", "joren/shibuya-1/door-1/status", "", "cleared", "", nil},
		{"not JSON", "joren/shibuya-1/door-1/visit", "hello", "quarantined", "not JSON", nil},
		{"schema", "joren/shibuya-1/door-1/visit", strings.Replace(goodVisit, `"kind":"returning"`, `"kind":"maybe"`, 1), "quarantined", "not a valid visit message", nil},
		{"missing field", "joren/shibuya-1/door-1/stats", `{"schema":1}`, "quarantined", "not a valid stats message", nil},
		{"other box's topic", "joren/shibuya-1/door-2/visit", goodVisit, "quarantined", "came on the topic of shibuya-1/door-2", nil},
		{"bad day", "joren/shibuya-1/door-1/visit", strings.Replace(withDay, `"2026-05-14","utc`, `"14/05/2026","utc`, 1), "quarantined", "is not valid date", nil},
		{"bad offset", "joren/shibuya-1/door-1/visit", strings.Replace(withDay, `"+09:00"`, `"nine"`, 1), "quarantined", "utc_offset", nil},
		{"not UTF-8", "joren/shibuya-1/door-1/visit", "{\"x\":\"\xff\"}", "quarantined", "not UTF-8", nil},
		{"too large", "joren/shibuya-1/door-1/visit", `{"x":"` + strings.Repeat("a", 5000) + `"}`, "quarantined", "more than the 4096", func(t *testing.T, b *office.Batch) {
			if len(b.Quarantine[0].Payload) != 4096 {
				t.Errorf("kept %d bytes, want the first 4096", len(b.Quarantine[0].Payload))
			}
		}},
		{"bad topic", "joren/shibuya-1/visit", goodVisit, "quarantined", "is not joren/SITE/DEVICE/KIND", nil},
		{"bad name", "joren/shi buya/door-1/visit", goodVisit, "quarantined", "site name", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b office.Batch
			got := d.add(&b, message{topic: tc.topic, payload: []byte(tc.payload), at: at})
			if got != tc.outcome {
				t.Fatalf("outcome %q, want %q (%+v)", got, tc.outcome, b)
			}
			if tc.reason != "" {
				if len(b.Quarantine) != 1 || !strings.Contains(b.Quarantine[0].Reason, tc.reason) {
					t.Fatalf("quarantine %+v, want a reason with %q", b.Quarantine, tc.reason)
				}
				if q := b.Quarantine[0]; q.Topic != tc.topic || q.Hash != hash(tc.topic, []byte(tc.payload)) || q.Times != 1 {
					t.Errorf("quarantined %+v", q)
				}
			}
			if tc.check != nil {
				tc.check(t, &b)
			}
		})
	}
}

func TestParseBroker(t *testing.T) {
	for _, tc := range []struct{ in, paho, display, err string }{
		{"mqtt://h", "tcp://h:1883", "mqtt://h:1883", ""},
		{"mqtts://u:secret@h:9000", "ssl://h:9000", "mqtts://h:9000", ""},
		{"tcp://127.0.0.1:1884", "tcp://127.0.0.1:1884", "mqtt://127.0.0.1:1884", ""},
		{"http://h", "", "", `unknown scheme "http"`},
		{"mqtt://u:secret@/x", "", "", "no host"},
		{"mqtt://h/path", "", "", "unexpected path"},
	} {
		b, err := parseBroker(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: %v, want %q without the password", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b.paho != tc.paho || b.display != tc.display {
			t.Errorf("%s: %+v, %v", tc.in, b, err)
		}
	}
}

// FuzzDecode: whatever a box (or anyone allowed on the broker) sends, the
// decoder files it as one outcome and never panics.
func FuzzDecode(f *testing.F) {
	f.Add("joren/shibuya-1/door-1/visit", []byte(goodVisit))
	f.Add("joren/shibuya-1/door-1/status", []byte(`{"schema":1,"state":"offline","device":"door-1","site":"shibuya-1","uptime_s":0}`))
	f.Add("joren/a/b/stats", []byte(`{"schema":1}`))
	f.Add("joren/a/b/visit", []byte(`{"utc_offset":"+99:99"}`))
	d := newDecoder(f)
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		var b office.Batch
		out := d.add(&b, message{topic: topic, payload: payload, at: time.Unix(0, 0)})
		n := len(b.Visits) + len(b.Status) + len(b.Stats) + len(b.Quarantine)
		if (out == "cleared") != (n == 0) || n > 1 {
			t.Fatalf("outcome %q with %+v", out, b)
		}
		for _, v := range b.Visits {
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
	})
}
