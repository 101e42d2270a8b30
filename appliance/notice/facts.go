package notice

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"joren/appliance/config"
	"joren/cluster/store"
	"joren/sync/event"
)

// Limits of the contact, so that the sign stays one page in both languages
// at a size people can read.
const (
	MaxContactLines = 4
	MaxContactChars = 240
)

// Facts are what the sign says about this box, taken from its
// configuration.
type Facts struct {
	// Site and Device name the shop and the box (printed small, for the
	// contact to know which box a request is about). Either may be empty.
	Site, Device string
	// Mode is the store's mode: counting or consent.
	Mode store.Mode
	// RetentionDays is how long a visitor who does not come back is kept.
	RetentionDays int
	// RegularDays within WindowDays make a regular.
	RegularDays, WindowDays int
	// Encrypted is set when the store is encrypted at rest
	// (store.key_file).
	Encrypted bool
	// Signal is how staff learn that a regular came in: Light (the LED,
	// with or without the buzzer), Beep (the buzzer alone) or NoSignal.
	Signal Signal
	// HeadOffice is set when visit events leave the shop (events.broker);
	// Period is then how often their pseudonyms change.
	HeadOffice bool
	Period     event.Period
	// Contact is who runs the box and answers customers: up to
	// MaxContactLines lines.
	Contact string
}

// Signal is what staff see or hear when a regular walks in.
type Signal string

// Signals.
const (
	Light    Signal = "light"
	Beep     Signal = "beep"
	NoSignal Signal = ""
)

// FromConfig takes the sign's facts from a loaded configuration.
func FromConfig(c config.Config) Facts {
	period, err := event.ParsePeriod(c.Events.PseudonymPeriod)
	if err != nil {
		period = "" // Check says so
	}
	return Facts{
		Site:          c.Device.Site,
		Device:        c.Device.ID,
		Mode:          store.Mode(c.Store.Mode),
		RetentionDays: c.Store.RetentionDays,
		RegularDays:   c.Regular.Days,
		WindowDays:    c.Regular.WindowDays,
		Encrypted:     c.Store.KeyFile != "",
		Signal:        signalOf(c.Indicator),
		HeadOffice:    c.Events.Broker != "",
		Period:        period,
		Contact:       strings.TrimSpace(c.Device.Contact),
	}
}

// signalOf is what the staff indicator shows: only GPIO pins light or
// sound anything ("log" prints to the journal).
func signalOf(c config.Indicator) Signal {
	switch {
	case c.Kind != "gpio":
		return NoSignal
	case c.LED != "":
		return Light
	case c.Buzzer != "":
		return Beep
	}
	return NoSignal
}

// Check tells everything that would make a wrong or unusable sign, naming
// the configuration key to fix.
func (f Facts) Check() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if f.Mode != store.Counting && f.Mode != store.Consent {
		bad("store.mode", "%q: want counting or consent", f.Mode)
	}
	if f.RetentionDays < 1 {
		bad("store.retention_days", "%d: want at least 1", f.RetentionDays)
	}
	if f.RegularDays < 1 || f.WindowDays < f.RegularDays {
		bad("regular", "%d days within %d: want at least 1 day, within at least as many", f.RegularDays, f.WindowDays)
	}
	if f.Signal != Light && f.Signal != Beep && f.Signal != NoSignal {
		bad("indicator", "signal %q: want light, beep or none", f.Signal)
	}
	if f.HeadOffice {
		if _, err := event.ParsePeriod(string(f.Period)); err != nil {
			bad("events.pseudonym_period", "%v", err)
		}
	}
	if err := checkContact(f.Contact); err != nil {
		bad("device.contact", "%v", err)
	}
	return errors.Join(errs...)
}

// checkContact wants a contact a customer can use, that fits the sign.
func checkContact(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("empty: the sign must say who runs the camera and how to reach them (the shop or company, its address, an e-mail or phone number)")
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > MaxContactChars {
		return fmt.Errorf("%d characters, at most %d fit on the sign", n, MaxContactChars)
	}
	lines := strings.Split(s, "\n")
	if len(lines) > MaxContactLines {
		return fmt.Errorf("%d lines, at most %d fit on the sign", len(lines), MaxContactLines)
	}
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			return fmt.Errorf("has the control character %U", r)
		}
	}
	return nil
}

// contactLines are the contact's lines, trimmed, without empty ones.
func (f Facts) contactLines() []string {
	var out []string
	for l := range strings.SplitSeq(strings.TrimSpace(f.Contact), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
