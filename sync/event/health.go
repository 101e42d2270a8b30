package event

import (
	"math"
	"time"

	"joren/vocab"
)

// Health is the box's health as head office receives it in the status and
// stats messages: vocab.Health (what /healthz answers) without its time
// and version, which the message carries. Camera and Clock are absent
// when the events do not come from a camera box (joren replay --publish,
// joren events publish).
//
// Nothing in it identifies a visitor or is secret: a camera's Reason has
// the stream's password masked, and the box's own paths and addresses
// are all it names.
type Health struct {
	// Status is "ok", or "degraded" when Problems lists something that
	// needs a person.
	Status string              `json:"status"`
	Camera *vocab.CameraHealth `json:"camera,omitempty"`
	Broker vocab.BrokerHealth  `json:"broker"`
	Outbox vocab.OutboxHealth  `json:"outbox"`
	Clock  *vocab.ClockHealth  `json:"clock,omitempty"`
	Disk   *vocab.DiskHealth   `json:"disk,omitempty"`
	// TemperatureC is the SoC's temperature, where the board reports it.
	TemperatureC *float64        `json:"temperature_c,omitempty"`
	Problems     []vocab.Problem `json:"problems,omitempty"`
}

// HealthOf is h as head office receives it from a camera box, its times
// in UTC to the second like every time of the events.
func HealthOf(h vocab.Health) *Health {
	cam, clock := h.Camera, h.Clock
	out := &Health{
		Status:       h.Status,
		Camera:       &cam,
		Broker:       h.Broker,
		Outbox:       h.Outbox,
		Clock:        &clock,
		Disk:         h.Disk,
		TemperatureC: h.TemperatureC,
	}
	// Two decimals say all a dashboard can use and keep float noise out
	// of the payload.
	out.Camera.FPS = round2(cam.FPS)
	out.Camera.LastFrameAgeS = round2(cam.LastFrameAgeS)
	if t := h.TemperatureC; t != nil {
		r := round2(*t)
		out.TemperatureC = &r
	}
	out.Broker.Since = utc(out.Broker.Since)
	for _, p := range h.Problems {
		p.Since = utc(p.Since)
		out.Problems = append(out.Problems, p)
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// utc is t in UTC to the second (the zero time stays zero, so that
// omitzero leaves it out).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}
