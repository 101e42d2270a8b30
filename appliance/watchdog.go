package appliance

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells the service manager how the service is doing.
type Notifier interface {
	// Ready: started, serving.
	Ready()
	// Alive: not stuck (the watchdog).
	Alive()
	// Stopping: shutting down.
	Stopping()
	// WatchdogInterval is how often Alive must be called (0: never).
	WatchdogInterval() time.Duration
}

// systemdNotifier speaks sd_notify when the service manager asked for it
// (NOTIFY_SOCKET), and does nothing otherwise.
type systemdNotifier struct{}

func (systemdNotifier) Ready()    { daemon.SdNotify(false, daemon.SdNotifyReady) }
func (systemdNotifier) Alive()    { daemon.SdNotify(false, daemon.SdNotifyWatchdog) }
func (systemdNotifier) Stopping() { daemon.SdNotify(false, daemon.SdNotifyStopping) }
func (systemdNotifier) WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}

// stuckAfter is how long the pipeline may make no progress at all (no
// frame, no reconnection attempt) before the watchdog stops vouching for
// the process and systemd restarts it.
const stuckAfter = 2 * time.Minute

// watchdog updates the frame-rate metrics every second and, when systemd
// runs a watchdog, pings it at half its interval as long as the pipeline
// makes progress: frames are processed, or the camera is being
// reconnected. A hung stage stops the pings; systemd then restarts joren.
func (a *Appliance) watchdog(ctx context.Context) error {
	const every = time.Second
	interval := a.o.Notifier.WatchdogInterval()
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		lastPing     time.Time
		reconnects   = a.src.Stats().Reconnects
		lastProgress = time.Now()
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			a.metrics.tick(now, every)
			if r := a.src.Stats().Reconnects; r != reconnects || a.metrics.frameAge() < every*2 {
				reconnects, lastProgress = r, now
			}
			if interval > 0 && now.Sub(lastPing) >= interval/2 && now.Sub(lastProgress) < stuckAfter {
				a.o.Notifier.Alive()
				lastPing = now
			}
		}
	}
}
