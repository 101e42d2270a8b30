package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"joren/office"
	"joren/office/ingest"
	"joren/vocab"
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
	// Health is the box's latest health (from its stats or status,
	// whichever is newer) as name and value pairs for the table.
	Health [][2]string
	// Day, BoxVisits and OfficeVisits compare the box's own count of its
	// day with head office's.
	Day                     string
	BoxVisits, OfficeVisits int64
	Alerts                  []alert
}

// alert is something wrong with a box.
type alert struct {
	// Kind is offline, silent, camera, problem (one the box reports in
	// its health), backlog, dropped or zone.
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

// message is what the fleet reads of a status or stats message.
type message struct {
	Time   time.Time `json:"time"`
	Day    string    `json:"day"`
	Outbox *struct {
		Pending *int64 `json:"pending"`
		Dropped *int64 `json:"dropped"`
	} `json:"outbox"`
	Health *vocab.Health `json:"health"`
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
	health := stats.Health // the newer of the two wins
	if health == nil || status.Health != nil && status.Health.Time.After(health.Time) {
		health = status.Health
	}
	if health != nil {
		b.Health = healthPairs(health)
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
	if health != nil && online {
		switch c := health.Camera; c.State {
		case vocab.CameraOK, vocab.CameraStarting, "":
		default:
			add("camera", "error", "camera: %s", strings.TrimSpace(c.State+": "+c.Reason))
		}
		for _, p := range health.Problems {
			if p.Key != "camera" { // the camera's alert says it already
				add("problem", "warning", "%s: %s", p.Key, p.Reason)
			}
		}
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

// healthPairs is what the fleet's table shows of a box's health.
func healthPairs(h *vocab.Health) [][2]string {
	out := [][2]string{{"status", h.Status}, {"camera", h.Camera.State},
		{"fps", strconv.FormatFloat(h.Camera.FPS, 'f', 1, 64)},
		{"last frame", fmt.Sprintf("%.0f s ago", h.Camera.LastFrameAgeS)},
		{"broker", h.Broker.State}}
	if h.Clock.Synchronised {
		out = append(out, [2]string{"clock", "synchronised"})
	} else {
		out = append(out, [2]string{"clock", "not synchronised"})
	}
	if h.Disk != nil {
		out = append(out, [2]string{"disk free", fmt.Sprintf("%.1f GB", float64(h.Disk.FreeBytes)/1e9)})
	}
	if h.TemperatureC != nil {
		out = append(out, [2]string{"temperature", fmt.Sprintf("%.0f °C", *h.TemperatureC)})
	}
	return out
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
