package appliance

import (
	"context"
	"time"

	"joren/vocab"
)

// The identity service guards the clock that dates the visits
// (cluster/identity: ClockState): no day is counted, nobody becomes a
// regular and retention waits while it does not trust it. On a box the
// visits are dated by the wall clock, which the service also reads
// between visits, so that health says at once when the clock is wrong
// (a Raspberry Pi without network time boots at its last saved time) and
// when it is right again.

// clockEvery is how often the wall clock is read between visits.
const clockEvery = time.Minute

// wallClock tells whether visits are dated by the wall clock: a live
// camera without camera.clock (a recording's own timeline, for the demo
// and tests, whose simulated days mean nothing to the wall clock).
func (a *Appliance) wallClock() bool { return a.cfg.Camera.Clock == "" && a.src.Live() }

// watchClock reads the wall clock every clockEvery until ctx is done.
func (a *Appliance) watchClock(ctx context.Context) error {
	if !a.wallClock() {
		return nil
	}
	t := time.NewTicker(clockEvery)
	defer t.Stop()
	for {
		a.svc.ReadClock(time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// clockTrust adds the identity service's trust in the clock to h, and a
// problem while it does not trust it.
func (a *Appliance) clockTrust(h *vocab.Health) {
	g := a.svc.Clock()
	h.Clock.Trusted = g.Trusted
	if g.Trusted {
		return
	}
	if h.Clock.Reason != "" {
		h.Clock.Reason = g.Reason + "; " + h.Clock.Reason
	} else {
		h.Clock.Reason = g.Reason
	}
	h.Add(vocab.Problem{Key: "clock", Reason: g.Reason})
}
