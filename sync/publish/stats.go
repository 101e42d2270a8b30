package publish

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"joren/sync/event"
	"joren/vocab"
)

// Stats returns the current stats message.
func (p *Publisher) Stats() event.Stats {
	now := time.Now()
	local := now.In(p.maker.Location())
	day := local.Format(time.DateOnly)
	p.mu.Lock()
	today, total := p.tally.today(day), p.tally.Total
	p.mu.Unlock()
	return event.Stats{
		Schema:    event.SchemaVersion,
		Device:    p.maker.Device(),
		Site:      p.maker.Site(),
		Time:      now.UTC().Truncate(time.Second),
		Since:     p.start.UTC().Truncate(time.Second),
		Uptime:    uptime(p.start, now),
		Version:   p.cfg.Version,
		Day:       day,
		UTCOffset: local.Format("-07:00"),
		Today:     today,
		Total:     total,
		Outbox: event.OutboxStats{
			Pending:   p.box.Len(),
			Delivered: p.delivered.Load(),
			Dropped:   p.box.Dropped(),
		},
		Commands: event.CommandStats{Received: int(p.received.Load()), Rejected: int(p.rejected.Load())},
		Health:   p.health(),
	}
}

func uptime(start, now time.Time) float64 {
	return now.Sub(start).Truncate(time.Second).Seconds()
}

// health is the box's health as the status and stats messages carry it:
// Config.Health's, or without one (no camera: a replay) the publisher's
// own part, the broker and the outbox.
func (p *Publisher) health() *event.Health {
	if p.cfg.Health != nil {
		return event.HealthOf(p.cfg.Health())
	}
	h := event.HealthOf(vocab.Health{
		Status: vocab.StatusOK,
		Broker: p.Broker(),
		Outbox: vocab.OutboxHealth{Pending: p.box.Len(), Max: p.box.Max(), Dropped: p.box.Dropped()},
	})
	h.Camera, h.Clock = nil, nil
	return h
}

// healthKey is what a change of health is judged by: the status, the
// camera's state and which problems there are; not the numbers that move
// all the time (frames/s, ages, free bytes).
func healthKey(h *event.Health) string {
	if h == nil {
		return ""
	}
	k := []string{h.Status}
	if h.Camera != nil {
		k = append(k, "camera="+h.Camera.State)
	}
	var problems []string
	for _, pr := range h.Problems {
		problems = append(problems, pr.Key)
	}
	slices.Sort(problems)
	return strings.Join(append(k, problems...), " ")
}

// status returns the status message in state. An online status records
// the health it reports, which checkHealth compares with (it runs on
// deliver's goroutine, as every caller does).
func (p *Publisher) status(state, reason string) event.Status {
	s := event.Status{
		Schema:  event.SchemaVersion,
		State:   state,
		Device:  p.maker.Device(),
		Site:    p.maker.Site(),
		Reason:  reason,
		Version: p.cfg.Version,
		Models:  p.cfg.Models,
		Since:   p.start.UTC().Truncate(time.Second),
	}
	// The last will is made at connection time and published by the
	// broker later: it has no time, uptime or health to tell.
	if state == event.Online || reason == "shutdown" {
		now := time.Now()
		s.Time = now.UTC().Truncate(time.Second)
		s.Uptime = uptime(p.start, now)
		s.Health = p.health()
	}
	if state == event.Online {
		p.sentHealth = healthKey(s.Health)
	}
	return s
}

// sendStats publishes stats and refreshes the retained status (its
// uptime and health). Neither goes through the outbox: the next one
// supersedes it.
func (p *Publisher) sendStats(s *session) {
	p.sendCounts(s)
	on, _ := json.Marshal(p.status(event.Online, ""))
	s.client.Publish(p.topics.Status, 1, true, on)
}

// sendCounts publishes the stats message.
func (p *Publisher) sendCounts(s *session) {
	st, _ := json.Marshal(p.Stats())
	s.client.Publish(p.topics.Stats, 1, false, st)
}

// checkHealth publishes the status and stats at once when the health
// changed since the last status (a camera that stopped, a disk filling):
// head office learns it in seconds, not at the next stats period.
func (p *Publisher) checkHealth(s *session) {
	if healthKey(p.health()) != p.sentHealth {
		p.sendStats(s)
	}
}

// goodbye ends a session at shutdown: the last stats (so that what was
// published just before, a replay's visits, is counted where head office
// and Home Assistant look), then the offline status and the disconnect.
// QoS 1 acknowledgements keep order on one connection, so close's wait
// for the status covers the stats.
func (p *Publisher) goodbye(s *session) {
	p.sendCounts(s)
	s.close(p, "shutdown")
}
