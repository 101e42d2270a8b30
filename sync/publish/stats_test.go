package publish

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/vocab"
)

// healthSource is a box whose health the test changes.
type healthSource struct {
	mu sync.Mutex
	h  vocab.Health
}

func (s *healthSource) get() vocab.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.h
	h.Time = time.Now()
	return h
}

func (s *healthSource) set(edit func(*vocab.Health)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(&s.h)
}

// statuses decodes the status messages among msgs, in order.
func statuses(msgs []mosquittotest.Message) []event.Status {
	var out []event.Status
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "/status") {
			var s event.Status
			json.Unmarshal(m.Payload, &s)
			out = append(out, s)
		}
	}
	return out
}

func lastStats(msgs []mosquittotest.Message) (event.Stats, int) {
	var st event.Stats
	n := 0
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "/stats") {
			st = event.Stats{}
			json.Unmarshal(m.Payload, &st)
			n++
		}
	}
	return st, n
}

// The status and stats carry the box's health: at connect, at once when
// it changes (a camera that stops sending frames), not when only its
// numbers move, and at shutdown, where the last stats precede the offline
// status. The birth says the broker is connected.
func TestHealthInStatusAndStats(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	temp := 52.0
	src := &healthSource{h: vocab.Health{
		Status: vocab.StatusOK, Version: "test",
		Camera: vocab.CameraHealth{State: vocab.CameraOK, FPS: 9.5, LastFrameAgeS: 0.1},
		Outbox: vocab.OutboxHealth{Max: 100000},
		Clock:  vocab.ClockHealth{Synchronised: true, Trusted: true},
		Disk:   &vocab.DiskHealth{FreeBytes: 3 << 30, TotalBytes: 16 << 30}, TemperatureC: &temp,
	}}
	var h *harness
	h = newHarness(t, b, func(c *Config) {
		c.StatsEvery = time.Hour // never, in this test: what arrives is health's doing
		c.HealthEvery = 50 * time.Millisecond
		c.Health = func() vocab.Health {
			hh := src.get()
			hh.Broker = h.p.Broker() // as the appliance's Health does
			return hh
		}
	})
	stop := h.run(nil)
	defer stop()

	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool {
		_, n := lastStats(m)
		return len(statuses(m)) > 0 && n > 0
	})
	if !ok {
		t.Fatal("no status and stats at connect")
	}
	birth := statuses(msgs)[0]
	if birth.State != event.Online || birth.Health == nil || birth.Health.Camera == nil || birth.Health.Camera.FPS != 9.5 ||
		birth.Health.Broker.State != vocab.BrokerConnected || birth.Health.Clock == nil || !birth.Health.Clock.Synchronised ||
		birth.Health.TemperatureC == nil || *birth.Health.TemperatureC != 52 || birth.Health.Status != vocab.StatusOK {
		t.Errorf("birth status %+v, health %+v", birth, birth.Health)
	}
	if st, _ := lastStats(msgs); st.Health == nil || st.Health.Camera == nil || st.Version != "test" || st.UTCOffset != "+00:00" {
		t.Errorf("stats at connect %+v", st)
	}

	// The camera stops: head office learns it at once.
	lost := time.Now()
	src.set(func(h *vocab.Health) {
		h.Camera = vocab.CameraHealth{State: vocab.CameraNoFrames, LastFrameAgeS: 31, Reconnects: 2, Reason: "no frame for 31s (2 reconnections): check the camera and its cable"}
		h.Add(vocab.Problem{Key: "camera", Reason: h.Camera.Reason, Since: lost})
	})
	msgs, ok = sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool {
		s := statuses(m)
		last := s[len(s)-1]
		return last.Health != nil && last.Health.Camera != nil && last.Health.Camera.State == vocab.CameraNoFrames
	})
	if !ok {
		t.Fatal("a dead camera was not published before the next stats period")
	}
	s := statuses(msgs)
	dead := s[len(s)-1]
	if dead.State != event.Online || dead.Health.Status != vocab.StatusDegraded || len(dead.Health.Problems) != 1 || dead.Health.Problems[0].Key != "camera" {
		t.Errorf("status with a dead camera %+v, health %+v", dead, dead.Health)
	}
	if st, _ := lastStats(msgs); st.Health == nil || st.Health.Status != vocab.StatusDegraded {
		t.Errorf("stats with a dead camera: %+v", st.Health)
	}

	// Shutdown: the last stats, then the offline status, both with health.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	msgs, ok = sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool {
		s := statuses(m)
		return s[len(s)-1].State == event.Offline
	})
	if !ok {
		t.Fatal("no offline status at shutdown")
	}
	s = statuses(msgs)
	off := s[len(s)-1]
	if off.Reason != "shutdown" || off.Health == nil || off.Health.Camera == nil || off.Time.IsZero() {
		t.Errorf("offline status %+v", off)
	}
	if last := msgs[len(msgs)-1]; !strings.HasSuffix(last.Topic, "/status") || !strings.HasSuffix(msgs[len(msgs)-2].Topic, "/stats") {
		t.Errorf("at shutdown %s then %s, want stats then status", msgs[len(msgs)-2].Topic, last.Topic)
	}
	checkSchema(t, msgs, "status", "stats")
}

// Without a health source (a replay: no camera), the messages carry the
// publisher's part: the broker and the outbox, and no camera or clock.
func TestHealthWithoutCamera(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := b.Subscribe(t, "head-office", "joren/#")
	h := newHarnessMax(t, b, 500)
	stop := h.run(nil)
	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool {
		_, n := lastStats(m)
		return n > 0
	})
	if !ok {
		t.Fatal("no stats at connect")
	}
	stop()
	st, _ := lastStats(msgs)
	hh := st.Health
	if hh == nil || hh.Camera != nil || hh.Clock != nil || hh.Status != vocab.StatusOK || hh.Broker.State != vocab.BrokerConnected || hh.Broker.Since.IsZero() || hh.Outbox.Max != 500 {
		t.Errorf("health without a camera: %+v", hh)
	}
	checkSchema(t, sub.Messages(), "status", "stats")
}

// A change of health is judged by what needs a person, not by the numbers
// that move all the time.
func TestHealthKey(t *testing.T) {
	base := func() *event.Health {
		return event.HealthOf(vocab.Health{
			Status: vocab.StatusOK,
			Camera: vocab.CameraHealth{State: vocab.CameraOK, FPS: 9.5, LastFrameAgeS: 0.1},
			Disk:   &vocab.DiskHealth{FreeBytes: 3 << 30, TotalBytes: 16 << 30},
		})
	}
	for _, c := range []struct {
		name    string
		edit    func(h *event.Health)
		changed bool
	}{
		{"frames/s and frame age", func(h *event.Health) { h.Camera.FPS, h.Camera.LastFrameAgeS = 3.1, 2 }, false},
		{"free space", func(h *event.Health) { h.Disk.FreeBytes -= 1 << 20 }, false},
		{"outbox", func(h *event.Health) { h.Outbox.Pending = 40 }, false},
		{"camera state", func(h *event.Health) { h.Camera.State = vocab.CameraNoFrames }, true},
		{"a problem", func(h *event.Health) {
			h.Status = vocab.StatusDegraded
			h.Problems = []vocab.Problem{{Key: "disk", Reason: "60 MB free"}}
		}, true},
	} {
		h := base()
		c.edit(h)
		if got := healthKey(h) != healthKey(base()); got != c.changed {
			t.Errorf("%s: changed %v, want %v (%q)", c.name, got, c.changed, healthKey(h))
		}
	}
}
