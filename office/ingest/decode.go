package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"joren/office"
	"joren/sync/event"
)

// message is what the collector took from the broker.
type message struct {
	topic   string
	payload []byte
	at      time.Time // received
	ack     func()
}

// decoder turns messages into a batch.
type decoder struct {
	v          *validator
	maxPayload int
}

// add puts m into b as a visit, a status, stats or a quarantined
// message; it returns the outcome, for the metrics.
func (d *decoder) add(b *office.Batch, m message) string {
	quarantine := func(why string) string {
		payload := m.payload
		if len(payload) > d.maxPayload {
			payload = payload[:d.maxPayload]
		}
		b.Quarantine = append(b.Quarantine, office.Quarantined{
			Hash: hash(m.topic, m.payload), Topic: m.topic, Payload: payload, Reason: why,
			FirstSeen: m.at, LastSeen: m.at, Times: 1,
		})
		return "quarantined"
	}
	site, device, kind, err := parseTopic(m.topic)
	if err != nil {
		return quarantine(err.Error())
	}
	if len(m.payload) == 0 && kind == "status" {
		// Someone cleared the retained status (mosquitto_pub -r -n):
		// nothing to store.
		return "cleared"
	}
	if len(m.payload) > d.maxPayload {
		return quarantine(fmt.Sprintf("payload of %d bytes, more than the %d a %s message may have", len(m.payload), d.maxPayload, kind))
	}
	if !utf8.Valid(m.payload) {
		return quarantine("payload is not UTF-8 text")
	}
	if err := d.v.validate(kind, m.payload); err != nil {
		return quarantine(err.Error())
	}
	mismatch := func(s, dev string) error {
		if s != site || dev != device {
			return fmt.Errorf("the message is from %s/%s but came on the topic of %s/%s", s, dev, site, device)
		}
		return nil
	}
	seen := office.Seen{Site: site, Device: device, At: m.at}
	switch kind {
	case "visit":
		var w event.Visit
		if err := json.Unmarshal(m.payload, &w); err != nil {
			return quarantine("not a visit event: " + err.Error())
		}
		if err := mismatch(w.Site, w.Device); err != nil {
			return quarantine(err.Error())
		}
		if w.Day != "" {
			if err := office.CheckDay("day", w.Day); err != nil {
				return quarantine(err.Error())
			}
		}
		v := office.Visit{
			ID: w.ID, Site: w.Site, Device: w.Device, Time: w.Time.UTC().Truncate(time.Second), DeviceDay: w.Day,
			Period: w.Period, Visitor: w.Visitor, New: w.Kind == event.New, Visits: w.Visits, Days: w.Days,
			Regular: w.Regular, BecameRegular: w.BecameRegular, Confidence: w.Confidence, Schema: w.Schema,
		}
		if w.UTCOffset != "" {
			// Schema 2 carries the shop's offset; schema 1 boxes are
			// placed on the day of the site's zone instead.
			loc, err := event.ParseOffset(w.UTCOffset)
			if err != nil {
				return quarantine(err.Error())
			}
			_, sec := time.Time{}.In(loc).Zone()
			off := time.Duration(sec) * time.Second
			v.DeviceOffset = &off
		}
		b.Visits = append(b.Visits, v)
		b.Seen = append(b.Seen, seen)
		return "visit"
	case "status":
		var s event.Status
		if err := json.Unmarshal(m.payload, &s); err != nil {
			return quarantine("not a status message: " + err.Error())
		}
		if err := mismatch(s.Site, s.Device); err != nil {
			return quarantine(err.Error())
		}
		b.Status = append(b.Status, office.StatusUpdate{
			Site: site, Device: device, State: s.State, Reason: s.Reason, Time: s.Time, Received: m.at,
			Version: s.Version, Payload: json.RawMessage(m.payload),
		})
		return "status"
	default: // stats
		var s event.Stats
		if err := json.Unmarshal(m.payload, &s); err != nil {
			return quarantine("not a stats message: " + err.Error())
		}
		if err := mismatch(s.Site, s.Device); err != nil {
			return quarantine(err.Error())
		}
		b.Stats = append(b.Stats, office.StatsUpdate{
			Site: site, Device: device, Time: s.Time, Day: s.Day, Visits: int64(s.Today.Visits), Payload: json.RawMessage(m.payload),
		})
		b.Seen = append(b.Seen, seen)
		return "stats"
	}
}

// parseTopic reads joren/SITE/DEVICE/KIND for the kinds collected.
func parseTopic(topic string) (site, device, kind string, err error) {
	parts := strings.Split(topic, "/")
	if len(parts) != 4 || parts[0] != "joren" {
		return "", "", "", fmt.Errorf("topic %q is not joren/SITE/DEVICE/KIND", topic)
	}
	site, device, kind = parts[1], parts[2], parts[3]
	switch kind {
	case "visit", "status", "stats":
	default:
		return "", "", "", fmt.Errorf("topic %q: the collector reads visit, status and stats, not %q", topic, kind)
	}
	if err := event.CheckName("site", site); err != nil {
		return "", "", "", fmt.Errorf("topic %q: %w", topic, err)
	}
	if err := event.CheckName("device", device); err != nil {
		return "", "", "", fmt.Errorf("topic %q: %w", topic, err)
	}
	return site, device, kind, nil
}

// hash identifies a quarantined message: the same message delivered
// again is kept once and counted.
func hash(topic string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(payload)
	return hex.EncodeToString(h.Sum(nil)[:16])
}
