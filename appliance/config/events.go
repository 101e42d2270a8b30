package config

import "joren/sync/publish"

// EventSetup is the configuration's event stack as package publish takes
// it: the one place that maps the events section (and the device's name,
// shop and data directory) to it. The appliance adds what only it knows
// (the time zone it resolved, its version and model, the identity store
// that commands forget from, its log); the configuration's check asks
// the same Setup what it would refuse.
func (c Config) EventSetup() publish.Setup {
	return publish.Setup{
		StateDir:       c.Device.DataDir,
		Device:         c.Device.ID,
		Site:           c.Device.Site,
		Period:         c.Events.PseudonymPeriod,
		OutboxMax:      c.Events.OutboxMax,
		PasswordFile:   c.Events.PasswordFile,
		CommandKeyFile: c.Events.CommandKeyFile,
		Config: publish.Config{
			Broker:    c.Events.Broker,
			Username:  c.Events.User,
			CAFile:    c.Events.CAFile,
			CertFile:  c.Events.CertFile,
			KeyFile:   c.Events.KeyFile,
			Discovery: c.Events.Discovery,
			Commands:  c.Events.Commands,
		},
	}
}

// EventKey names the configuration key that sets a field of
// publish.Setup, for its SetupErrors.
func EventKey(field publish.SetupField) string {
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
	case publish.FieldCommands:
		return "events.commands"
	case publish.FieldDiscovery:
		return "events.ha_discovery"
	case publish.FieldCAFile:
		return "events.ca_file"
	case publish.FieldCertFile:
		return "events.cert_file"
	case publish.FieldKeyFile:
		return "events.key_file"
	}
	return "events"
}
