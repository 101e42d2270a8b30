package appliance

import (
	"errors"
	"fmt"
	"time"

	"joren/appliance/config"
	"joren/sync/publish"
)

// eventSetup is the configuration's event stack (config.EventSetup) with
// what only the running appliance knows.
func (a *Appliance) eventSetup() publish.Setup {
	s := a.cfg.EventSetup()
	s.StateDir = a.dataDir
	s.Zone = a.zone
	s.Version = a.o.Version
	s.Models = []string{a.model.ID()}
	// Let shutdown deliver what it can, then leave the rest for the next
	// start.
	s.DrainTimeout = 5 * time.Second
	s.Log = a.log
	// The status and stats events carry what /healthz answers.
	s.Health = a.Health
	if a.cfg.Events.Commands {
		s.Identities = forgetter{a.svc}
		s.Config.PageOn = func() error { return a.TurnPageOn("head office's page command") }
	}
	return s
}

func (a *Appliance) openEvents() error {
	ev, err := publish.Open(a.eventSetup())
	var se *publish.SetupError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %w", config.EventKey(se.Field), se.Err)
	}
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	a.onClose(ev.Close)
	a.pub, a.box, a.maker, a.device = ev.Publisher, ev.Outbox, ev.Maker, ev.Maker.Device()
	if a.cfg.Events.Broker == "" {
		a.log.Warn("no MQTT broker configured (events.broker): visit events are kept in the outbox until one is", "outbox", a.box.Path(), "pending", a.box.Len())
	}
	return nil
}
