package appliance

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"joren/cluster/store"
	"joren/vocab"
)

// thermalZone is where Linux reports the SoC temperature (millidegrees).
const thermalZone = "/sys/class/thermal/thermal_zone0/temp"

const (
	// cameraGrace is how long a live camera may go without a frame
	// before the box reports itself degraded: long enough for a camera to
	// start or a stream to reconnect.
	cameraGrace = 30 * time.Second
	// brokerGrace is how long the broker may be unreachable before that
	// needs a person: a shop's network drops for minutes at a time, and
	// the outbox keeps everything meanwhile.
	brokerGrace = 5 * time.Minute
	// hotC is the SoC temperature past which the box says it overheats
	// (a Raspberry Pi throttles from 80 °C).
	hotC = 80
	// lowDisk is the free space on the data partition below which the
	// box warns (the store and the outbox need room to grow and to be
	// compacted).
	lowDisk = 64 << 20
)

// Health reads the box's health now: what /healthz answers, the box's
// page shows and the status events carry.
func (a *Appliance) Health() vocab.Health {
	now := time.Now()
	h := vocab.Health{Status: vocab.StatusOK, Time: now, Version: a.o.Version}
	a.cameraHealth(&h, now)
	a.rejectedConfig(&h)
	h.Broker = a.pub.Broker()
	switch {
	case h.Broker.State == vocab.BrokerRefused:
		h.Add(vocab.Problem{Key: "events.broker", Reason: h.Broker.Reason, Since: h.Broker.Since})
	case h.Broker.State == vocab.BrokerConnecting && !h.Broker.Since.IsZero() && now.Sub(h.Broker.Since) > brokerGrace:
		h.Add(vocab.Problem{Key: "events.broker", Reason: fmt.Sprintf("not connected for %s: %s", now.Sub(h.Broker.Since).Round(time.Second), h.Broker.Reason), Since: h.Broker.Since})
	}
	h.Outbox = vocab.OutboxHealth{Pending: a.box.Len(), Max: a.cfg.Events.OutboxMax, Dropped: a.box.Dropped()}
	if max := h.Outbox.Max; max > 0 && h.Outbox.Pending > max*9/10 {
		h.Add(vocab.Problem{Key: "outbox", Reason: fmt.Sprintf("%d of %d events waiting: the broker has been unreachable for long, and the oldest events are dropped when the outbox is full", h.Outbox.Pending, max)})
	}
	if err := a.st.View(func(*store.Tx) error { return nil }); err != nil {
		h.Add(vocab.Problem{Key: "store", Reason: err.Error()})
	}
	if a.ctlErr != nil {
		h.Add(vocab.Problem{Key: "control.socket", Reason: a.ctlErr.Error()})
	}
	h.Clock = clockHealth()
	a.clockTrust(&h)
	if d, err := diskHealth(a.dataDir); err == nil {
		h.Disk = &d
		if d.FreeBytes < lowDisk {
			h.Add(vocab.Problem{Key: "disk", Reason: fmt.Sprintf("%d MB free on the data partition (%s)", d.FreeBytes>>20, a.dataDir)})
		}
	}
	if t, err := cpuTemperature(); err == nil {
		h.TemperatureC = &t
		if t > hotC {
			h.Add(vocab.Problem{Key: "temperature", Reason: fmt.Sprintf("%.0f °C: the box is overheating; give it air or shade", t)})
		}
	}
	return h
}

// cameraHealth fills in the camera's part.
func (a *Appliance) cameraHealth(h *vocab.Health, now time.Time) {
	m := a.metrics
	age, fps, frames := m.frameState(now)
	st := a.src.Stats()
	c := vocab.CameraHealth{State: vocab.CameraOK, FPS: fps, LastFrameAgeS: age.Seconds(), Reconnects: st.Reconnects}
	grace := a.cameraGrace
	if grace <= 0 {
		grace = cameraGrace
	}
	switch {
	case !a.src.Live() || age <= grace:
		if frames == 0 {
			c.State = vocab.CameraStarting
			c.Reason = st.Problem
		}
	default:
		c.State = vocab.CameraNoFrames
		c.Reason = fmt.Sprintf("no frame for %s (%d reconnections)", age.Round(time.Second), st.Reconnects)
		if st.Problem != "" {
			c.Reason += ": " + st.Problem
		} else {
			c.Reason += ": check the camera and its cable"
		}
		h.Add(vocab.Problem{Key: "camera", Reason: c.Reason, Since: now.Add(-age)})
	}
	h.Camera = c
}

// clockHealth asks the kernel whether the clock is synchronised to
// network time (adjtimex's STA_UNSYNC is clear while NTP disciplines it).
// Whether the clock is trusted is the identity service's to say
// (clockTrust).
func clockHealth() vocab.ClockHealth {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	switch {
	case err != nil:
		return vocab.ClockHealth{Reason: fmt.Sprintf("cannot read the clock's state: %v", err)}
	case state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0:
		return vocab.ClockHealth{Reason: "not synchronised to network time: check the network and its time server"}
	}
	return vocab.ClockHealth{Synchronised: true}
}

// diskHealth reads the free space of the file system holding dir.
func diskHealth(dir string) (vocab.DiskHealth, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return vocab.DiskHealth{}, err
	}
	return vocab.DiskHealth{FreeBytes: fs.Bavail * uint64(fs.Bsize), TotalBytes: fs.Blocks * uint64(fs.Bsize)}, nil
}

func cpuTemperature() (float64, error) {
	b, err := os.ReadFile(thermalZone)
	if err != nil {
		return 0, err
	}
	milli, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return milli / 1000, err
}
