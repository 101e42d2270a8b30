package dashboard

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"joren/office"
	"joren/office/ingest"
)

// box is one box as the fleet view shows it.
type box struct {
	Site, Device string
	// State is online, offline or unknown (no status received yet).
	State, Reason string
	LastSeen      time.Time
	LastVisit     time.Time
	Version       string
	// Pending and Dropped are the box's outbox (from its stats).
	Pending, Dropped *int64
	// Health are the scalar health fields the box reports (in its stats
	// or status "health" object), as sent.
	Health [][2]string
	// Day, BoxVisits and OfficeVisits compare the box's own count of its
	// day with head office's.
	Day                     string
	BoxVisits, OfficeVisits int64
	Alerts                  []alert
}

// alert is something wrong with a box.
type alert struct {
	// Kind is offline, silent, camera, backlog, dropped or zone.
	Kind string
	// Severity is error or warning.
	Severity string
	Text     string
}

type fleetReply struct {
	Now       time.Time
	Boxes     []box
	Alerts    int
	Collector *ingest.State
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	ds, err := s.cfg.Store.Devices(r.Context())
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	zones, err := s.cfg.Store.Zones(r.Context())
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	now := s.cfg.Now()
	out := fleetReply{Now: now, Boxes: make([]box, 0, len(ds))}
	for _, d := range ds {
		b := view(d, zones, now, s.cfg.SilentAfter)
		out.Alerts += len(b.Alerts)
		out.Boxes = append(out.Boxes, b)
	}
	// Boxes with alerts first, errors before warnings; then by name.
	rank := func(b box) int {
		switch {
		case slices.ContainsFunc(b.Alerts, func(a alert) bool { return a.Severity == "error" }):
			return 0
		case len(b.Alerts) > 0:
			return 1
		}
		return 2
	}
	sort.SliceStable(out.Boxes, func(i, j int) bool { return rank(out.Boxes[i]) < rank(out.Boxes[j]) })
	if s.cfg.Collector != nil {
		st := s.cfg.Collector()
		out.Collector = &st
	}
	s.reply(w, r, out, nil)
}

// message is what the fleet reads of a status or stats message: the
// fields it knows, and the health object whatever it holds.
type message struct {
	Time   time.Time `json:"time"`
	Day    string    `json:"day"`
	Outbox *struct {
		Pending *int64 `json:"pending"`
		Dropped *int64 `json:"dropped"`
	} `json:"outbox"`
	Health map[string]any `json:"health"`
}

// view makes the fleet's view of a box, with its alerts at now.
func view(d office.Device, zones map[string]string, now time.Time, silentAfter time.Duration) box {
	b := box{
		Site: d.Site, Device: d.Device, State: d.State, Reason: d.Reason, LastSeen: d.LastSeen, LastVisit: d.LastVisit,
		Version: d.Version, Day: d.StatsDay, BoxVisits: d.StatsVisits, OfficeVisits: d.OfficeVisits,
	}
	if b.State == "" {
		b.State = "unknown"
	}
	var status, stats message
	json.Unmarshal(d.Status, &status)
	json.Unmarshal(d.Stats, &stats)
	if stats.Outbox != nil {
		b.Pending, b.Dropped = stats.Outbox.Pending, stats.Outbox.Dropped
	}
	health := map[string]any{}
	for k, v := range status.Health {
		health[k] = v
	}
	for k, v := range stats.Health { // the latest stats win over the status
		health[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(health)) {
		switch v := health[k].(type) {
		case string, float64, bool:
			b.Health = append(b.Health, [2]string{k, fmt.Sprint(v)})
		}
	}
	add := func(kind, severity, format string, a ...any) {
		b.Alerts = append(b.Alerts, alert{Kind: kind, Severity: severity, Text: fmt.Sprintf(format, a...)})
	}
	switch {
	case d.State == "offline":
		sev := "error"
		if d.Reason == "shutdown" {
			sev = "warning"
		}
		add("offline", sev, "offline (%s) since %s", orDash(d.Reason), ago(now, d.StatusAt))
	case !d.LastSeen.IsZero() && now.Sub(d.LastSeen) > silentAfter:
		add("silent", "error", "silent: nothing heard for %s", ago(now, d.LastSeen))
	}
	online := d.State == "online"
	if cam, ok := health["camera"].(string); ok && online && !slices.Contains([]string{"ok", "running", "live", "streaming"}, strings.ToLower(cam)) {
		add("camera", "error", "camera: %s", cam)
	} else if fps, ok := health["fps"].(float64); ok && online && fps == 0 {
		add("camera", "error", "camera: no frames (0 frames/s)")
	} else if age, ok := health["last_frame_age_s"].(float64); ok && online && age > 60 {
		add("camera", "error", "camera: last frame %s ago", (time.Duration(age) * time.Second).String())
	}
	if b.Pending != nil && *b.Pending > 1000 {
		add("backlog", "warning", "%d events waiting on the box for the broker", *b.Pending)
	}
	if b.Dropped != nil && *b.Dropped > 0 {
		add("dropped", "error", "the box's full outbox dropped %d events", *b.Dropped)
	}
	if stats.Day != "" && !stats.Time.IsZero() {
		name := zones[d.Site]
		if name == "" {
			name = zones[office.DefaultZone]
		}
		if name == "" {
			name = "UTC"
		}
		if loc, err := office.LoadZone(name); err == nil && stats.Time.In(loc).Format(time.DateOnly) != stats.Day {
			add("zone", "warning", "the box's day (%s) is not the day in its shop's zone %s: set it with joren-office sites zone %s ZONE", stats.Day, name, d.Site)
		}
	}
	return b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago says how long before now t was, in words ("3 min ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

type quarantineReply struct {
	Total    int64
	Messages []quarantined
}

type quarantined struct {
	Topic, Reason, Payload string
	FirstSeen, LastSeen    time.Time
	Times                  int64
}

func (s *Server) quarantine(w http.ResponseWriter, r *http.Request) {
	q, n, err := s.cfg.Store.Quarantine(r.Context(), 100)
	out := quarantineReply{Total: n, Messages: []quarantined{}}
	for _, m := range q {
		p := strings.ToValidUTF8(string(m.Payload), "\uFFFD")
		if len(p) > 600 {
			p = p[:600] + "…"
		}
		out.Messages = append(out.Messages, quarantined{Topic: m.Topic, Reason: m.Reason, Payload: p, FirstSeen: m.FirstSeen, LastSeen: m.LastSeen, Times: m.Times})
	}
	s.reply(w, r, out, err)
}
