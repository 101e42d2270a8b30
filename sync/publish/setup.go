package publish

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"joren/sync/event"
	"joren/sync/outbox"
)

// The files of a device's event state, in Setup.StateDir.
const (
	OutboxFile = "outbox.db"
	SecretFile = "device-secret"
)

// DefaultSite names the shop of a device that has no broker yet: its
// events are kept in the outbox, never sent under this name (a broker
// needs a site).
const DefaultSite = "shop"

// Setup is a device's event stack as its owner describes it: where its
// state lives, which box and shop it is, how pseudonyms are made, and how
// to reach the broker. The appliance fills one from its configuration
// file, the joren commands from their flags; Open applies the defaults and
// builds the rest, so that both publish the same events the same way.
type Setup struct {
	// StateDir holds the outbox (OutboxFile) and the device secret
	// (SecretFile); made (mode 0700) if missing.
	StateDir string
	// Device names this box in topics and events (default: DefaultDevice).
	Device string
	// Site names the shop. Required with a broker; without one, events
	// are kept under DefaultSite until a broker is configured.
	Site string
	// Period is how long a visitor keeps one pseudonym: day, week, month
	// or year (default month), in Zone's calendar (default time.Local).
	Period string
	Zone   *time.Location
	// OutboxMax is the most events kept while the broker is unreachable
	// (default outbox.DefaultMax).
	OutboxMax int
	// PasswordFile, if set, holds the broker password (Config.Password):
	// the file's text without its line end.
	PasswordFile string
	// CommandKeyFile holds the command key when Config.Commands is on
	// (ReadCommandKey).
	CommandKeyFile string
	// Config is the rest: the broker, its user and TLS files, what the
	// status message says, commands, discovery, delivery.
	Config
}

// SetupField names a field of Setup in a SetupError.
type SetupField string

// The fields of Setup that Open can find wrong.
const (
	FieldStateDir       SetupField = "StateDir"
	FieldDevice         SetupField = "Device"
	FieldSite           SetupField = "Site"
	FieldPeriod         SetupField = "Period"
	FieldPasswordFile   SetupField = "PasswordFile"
	FieldCommandKeyFile SetupField = "CommandKeyFile"
	FieldBroker         SetupField = "Broker"
	FieldCommands       SetupField = "Commands"
	FieldDiscovery      SetupField = "Discovery"
	FieldCAFile         SetupField = "CAFile"
	FieldCertFile       SetupField = "CertFile"
	FieldKeyFile        SetupField = "KeyFile"
)

// A SetupError is a Setup field that cannot be used: Field says which, so
// that the appliance can name its configuration key and a command its
// flag.
type SetupError struct {
	Field SetupField
	Err   error
}

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

func setupError(field SetupField, err error) error { return &SetupError{Field: field, Err: err} }

// DefaultDevice is a box's name when none is given: its host name, made a
// valid name (event.DeviceName).
func DefaultDevice() string {
	host, _ := os.Hostname()
	return event.DeviceName(host)
}

// withDefaults returns s with its empty fields filled.
func (s Setup) withDefaults() Setup {
	if s.Device == "" {
		s.Device = DefaultDevice()
	}
	if s.Site == "" && s.Broker == "" {
		s.Site = DefaultSite
	}
	if s.Period == "" {
		s.Period = string(event.Month)
	}
	if s.Zone == nil {
		s.Zone = time.Local
	}
	return s
}

// Check tells what is wrong with s, if anything, without opening a file:
// for a command to refuse its flags before doing any work, and for the
// appliance's configuration check.
func (s Setup) Check() error {
	_, err := s.check()
	return err
}

func (s Setup) check() (event.Period, error) {
	s = s.withDefaults()
	var b broker
	if s.Broker != "" {
		var err error
		if b, err = parseBroker(s.Broker); err != nil {
			return "", setupError(FieldBroker, err)
		}
		if s.Site == "" {
			return "", setupError(FieldSite, errors.New("a broker needs the shop's name (site)"))
		}
	}
	if err := s.Config.checkUse(b); err != nil {
		return "", err
	}
	if err := event.CheckName("site", s.Site); err != nil {
		return "", setupError(FieldSite, err)
	}
	if err := event.CheckName("device", s.Device); err != nil {
		return "", setupError(FieldDevice, err)
	}
	period, err := event.ParsePeriod(s.Period)
	if err != nil {
		return "", setupError(FieldPeriod, err)
	}
	return period, nil
}

// Stack is a device's opened event stack: the outbox, the pseudonym maker
// and the publisher that delivers the one with the other. Close it when
// the publisher has stopped.
type Stack struct {
	*Publisher
	Outbox *outbox.Outbox
	Maker  *event.Maker
}

// Open checks s, opens the outbox and the device secret in s.StateDir
// (making them on first use) and returns the stack, ready to Run.
func Open(s Setup) (_ *Stack, err error) {
	period, err := s.check()
	if err != nil {
		return nil, err
	}
	s = s.withDefaults()
	cfg, err := s.readFiles()
	if err != nil {
		return nil, err
	}
	box, err := outbox.Open(filepath.Join(s.StateDir, OutboxFile), outbox.Options{Max: s.OutboxMax})
	if err != nil {
		return nil, setupError(FieldStateDir, err)
	}
	defer func() {
		if err != nil {
			box.Close()
		}
	}()
	secret, err := event.LoadSecret(filepath.Join(s.StateDir, SecretFile))
	if err != nil {
		return nil, setupError(FieldStateDir, err)
	}
	maker, err := event.NewMaker(event.Config{Device: s.Device, Site: s.Site, Secret: secret, Period: period, Location: s.Zone})
	if err != nil {
		return nil, err
	}
	p, err := New(cfg, maker, box)
	if err != nil {
		return nil, err
	}
	return &Stack{Publisher: p, Outbox: box, Maker: maker}, nil
}

// CheckFiles reads the files s names (the broker's password, the command
// key, the TLS files) as Open does, and says what is wrong with them, as
// a SetupError naming the field. It opens nothing else: the appliance's
// configuration check calls it, so that a configuration it passes is one
// Open accepts.
func (s Setup) CheckFiles() error {
	_, err := s.readFiles()
	return err
}

// readFiles returns s.Config with the secrets of the files s names.
func (s Setup) readFiles() (Config, error) {
	cfg := s.Config
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return cfg, setupError(FieldPasswordFile, fmt.Errorf("reading the MQTT password: %w", err))
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	if cfg.Commands {
		key, err := ReadCommandKey(s.CommandKeyFile)
		if err != nil {
			return cfg, setupError(FieldCommandKeyFile, err)
		}
		cfg.CommandKey = key
	}
	if b, err := parseBroker(cfg.Broker); err == nil && b.tls {
		if _, err := cfg.tlsConfig(); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// Close closes the outbox. Call it once Run has returned.
func (s *Stack) Close() error { return s.Outbox.Close() }

// MinCommandKeyBytes is the shortest command key accepted.
const MinCommandKeyBytes = 16

// ReadCommandKey reads the key that signs commands, shared by head office
// and the device: the file's text without surrounding white space (a line
// end, a stray space), at least MinCommandKeyBytes long. The device that
// checks and the command that signs read it here, so they agree on its
// bytes.
func ReadCommandKey(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no command key file given")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the command key: %w", err)
	}
	key := []byte(strings.TrimSpace(string(b)))
	if len(key) < MinCommandKeyBytes {
		return nil, fmt.Errorf("command key %s has %d bytes, want at least %d", path, len(key), MinCommandKeyBytes)
	}
	return key, nil
}
