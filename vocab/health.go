package vocab

import (
	"slices"
	"time"
)

// Health is the box's state as each of its people sees it: the installer
// on the box's page and at /healthz, head office in the status and stats
// events. Every part says what is wrong in words a person can act on
// ("no frame for 47 s: /dev/video0 does not exist"), never only a code.
//
// Nothing in it identifies a visitor, and nothing in it is secret: a
// stream's password is masked before it reaches a Reason.
type Health struct {
	// Status is StatusOK when nothing needs a person, StatusDegraded
	// otherwise (Problems says what).
	Status string `json:"status"`
	// Time is when the health was read.
	Time time.Time `json:"time"`
	// Version is the firmware's version (stamped at build).
	Version string       `json:"version,omitempty"`
	Camera  CameraHealth `json:"camera"`
	Broker  BrokerHealth `json:"broker"`
	Outbox  OutboxHealth `json:"outbox"`
	Clock   ClockHealth  `json:"clock"`
	Disk    *DiskHealth  `json:"disk,omitempty"`
	// TemperatureC is the SoC's temperature, where the board reports it.
	TemperatureC *float64 `json:"temperature_c,omitempty"`
	// Problems lists everything that needs a person, most important
	// first: a dead camera, a configuration that was rejected, a damaged
	// file moved aside, a clock that cannot be trusted.
	Problems []Problem `json:"problems,omitempty"`
}

// Health statuses.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
)

// CameraHealth is the camera's part of Health.
type CameraHealth struct {
	// State is CameraOK, CameraNoFrames, CameraStarting or CameraEnded.
	State string `json:"state"`
	// FPS is the rate the pipeline processes frames at, over the last
	// seconds.
	FPS float64 `json:"fps"`
	// LastFrameAgeS is how many seconds ago the pipeline last processed
	// a frame.
	LastFrameAgeS float64 `json:"last_frame_age_s"`
	// Reconnects counts the times the camera was reopened after a loss.
	Reconnects int64 `json:"reconnects"`
	// Reason says what is wrong when State is not CameraOK.
	Reason string `json:"reason,omitempty"`
}

// Camera states.
const (
	CameraOK       = "ok"
	CameraStarting = "starting"  // no frame yet, within the grace time
	CameraNoFrames = "no frames" // a live camera sends nothing
	CameraEnded    = "ended"     // a recording ended
)

// BrokerHealth is the connection to head office's MQTT broker.
type BrokerHealth struct {
	// State is BrokerConnected, BrokerConnecting, BrokerRefused or
	// BrokerNone.
	State string `json:"state"`
	// Reason says why the broker is not connected, or what it refuses.
	Reason string `json:"reason,omitempty"`
	// Since is when State last changed.
	Since time.Time `json:"since,omitzero"`
}

// Broker states.
const (
	BrokerConnected  = "connected"
	BrokerConnecting = "connecting"     // not connected yet, or lost and retrying
	BrokerRefused    = "refused"        // the broker refuses the box (credentials, ACL)
	BrokerNone       = "not configured" // events wait in the outbox
)

// OutboxHealth is the queue of events waiting for the broker.
type OutboxHealth struct {
	Pending int `json:"pending"`
	Max     int `json:"max"`
	// Dropped counts events discarded, oldest first, because the outbox
	// was full.
	Dropped uint64 `json:"dropped"`
}

// ClockHealth is what the box knows of its clock: a Raspberry Pi has no
// real-time clock, so until the network time is synchronised the clock
// may be anything.
type ClockHealth struct {
	// Synchronised is set when the kernel's clock is disciplined by
	// network time (adjtimex says so).
	Synchronised bool `json:"synchronised"`
	// Trusted is set while the identity store accepts the clock for
	// counting days and running retention (it has not jumped).
	Trusted bool `json:"trusted"`
	// Reason says why the clock is not synchronised or not trusted.
	Reason string `json:"reason,omitempty"`
}

// DiskHealth is the data partition's space.
type DiskHealth struct {
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// Problem is one thing that needs a person.
type Problem struct {
	// Key names what is wrong: a configuration key ("events.broker"), a
	// part of the box ("camera", "store", "clock").
	Key string `json:"key"`
	// Reason says what is wrong and, where it can, what to do.
	Reason string `json:"reason"`
	// Since is when the problem was first seen, if known.
	Since time.Time `json:"since,omitzero"`
}

// Add records a problem and marks the health degraded.
func (h *Health) Add(p Problem) {
	h.Problems = append(h.Problems, p)
	h.Status = StatusDegraded
}

// Problem returns the problem with key k, if any.
func (h Health) Problem(k string) (Problem, bool) {
	i := slices.IndexFunc(h.Problems, func(p Problem) bool { return p.Key == k })
	if i < 0 {
		return Problem{}, false
	}
	return h.Problems[i], true
}
