package appliance

import (
	"errors"
	"fmt"
	"time"

	"joren/sync/publish"
)

// eventKey names the configuration key that sets a field of publish.Setup.
func eventKey(field publish.SetupField) string {
	switch field {
	case publish.FieldStateDir:
		return "device.data_dir"
	case publish.FieldDevice:
		return "device.id"
	case publish.FieldSite:
		return "device.site"
	case publish.FieldPeriod:
		return "events.pseudonym_period"
	case publish.FieldPasswordFile:
		return "events.password_file"
	case publish.FieldCommandKeyFile:
		return "events.command_key_file"
	case publish.FieldBroker:
		return "events.broker"
	}
	return "events"
}

// eventSetup is the configuration's event stack: the one place that maps
// the events section (and the device's name, shop and zone) to it.
func (a *Appliance) eventSetup() publish.Setup {
	c := a.cfg
	s := publish.Setup{
		StateDir:       a.dataDir,
		Device:         c.Device.ID,
		Site:           c.Device.Site,
		Period:         c.Events.PseudonymPeriod,
		Zone:           a.zone,
		OutboxMax:      c.Events.OutboxMax,
		PasswordFile:   c.Events.PasswordFile,
		CommandKeyFile: c.Events.CommandKeyFile,
		Config: publish.Config{
			Broker:    c.Events.Broker,
			Username:  c.Events.User,
			CAFile:    c.Events.CAFile,
			CertFile:  c.Events.CertFile,
			KeyFile:   c.Events.KeyFile,
			Version:   a.o.Version,
			Models:    []string{a.model.ID()},
			Discovery: c.Events.Discovery,
			Commands:  c.Events.Commands,
			// Let shutdown deliver what it can, then leave the rest for the
			// next start.
			DrainTimeout: 5 * time.Second,
			Log:          a.log,
		},
	}
	if c.Events.Commands {
		s.Identities = forgetter{a.svc}
		s.Config.PageOn = func() error { return a.TurnPageOn("head office's page command") }
	}
	return s
}

func (a *Appliance) openEvents() error {
	ev, err := publish.Open(a.eventSetup())
	var se *publish.SetupError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %w", eventKey(se.Field), se.Err)
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
