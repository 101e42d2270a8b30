package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"joren/vocab"
	"math"
	"strings"
	"time"
)

// SchemaVersion is the version of the messages a device sends: visit,
// status, stats and reply. It changes only when a field is removed,
// renamed, becomes required or changes meaning; a new optional field keeps
// it, so consumers must ignore fields they do not know.
//
// Version 2 (from version 1): a visit carries its local day and the zone
// offset (Day, UTCOffset, both required); status and stats carry the box's
// health (Health) and stats its version and zone offset; the stats counts
// count each decided visit once, however often it is published (version 1
// counted every publish, so a re-published visit was counted again).
// Consumers should accept both: ParseVisit does.
const SchemaVersion = 2

// CommandSchema is the version of the commands head office sends. Commands
// did not change with SchemaVersion 2, so devices of both versions accept
// the same commands.
const CommandSchema = 1

// Kind says whether a visit was the visitor's first.
type Kind string

const (
	// New is an identity's first visit.
	New Kind = "new"
	// Returning is any later visit.
	Returning Kind = "returning"
)

// Visit is the event published for one customer visit: counts and flags,
// and the visitor's pseudonym for the period. Nothing in it leads to a
// face, and only the device (its secret and its store) can tell whose the
// pseudonym is.
type Visit struct {
	// Schema is SchemaVersion.
	Schema int `json:"schema"`
	// ID is a ULID: unique, sortable by Time, the same for every delivery
	// of this event (deduplicate by it).
	ID string `json:"id"`
	// Device and Site name the camera box and its shop.
	Device string `json:"device"`
	Site   string `json:"site"`
	// Time is when the visit started, in UTC to the second.
	Time time.Time `json:"time"`
	// Day is the visit's local date where the shop is ("2026-05-14"),
	// and UTCOffset the shop's offset from UTC at Time ("+09:00"): what
	// head office groups days and hours by, without a map of shops to
	// zones. Schema 2 on; empty in schema 1 events.
	Day       string `json:"day,omitempty"`
	UTCOffset string `json:"utc_offset,omitempty"`
	// Period is the pseudonym's period, such as "2026-05" (monthly).
	Period string `json:"period"`
	// Visitor is the visitor's pseudonym within Period: 32 hex digits.
	Visitor string `json:"visitor"`
	// Kind is new or returning.
	Kind Kind `json:"kind"`
	// Visits counts the visitor's visits, this one included.
	Visits int `json:"visits"`
	// Days counts the distinct local days with a visit within the store's
	// regular window, this one included.
	Days int `json:"days"`
	// Regular is the visitor's status after this visit.
	Regular bool `json:"regular"`
	// BecameRegular is set on the visit that made the visitor a regular.
	BecameRegular bool `json:"became_regular"`
	// Confidence in [0, 1] that the visit was matched to the right visitor.
	Confidence float64 `json:"confidence"`
}

// Config says who publishes and how visitors are pseudonymised.
type Config struct {
	// Device and Site identify the box and the shop (see CheckName).
	Device string
	Site   string
	// Secret is the device's pseudonym key (LoadSecret).
	Secret Secret
	// Period is how often pseudonyms change (default Month).
	Period Period
	// Location is the calendar periods follow (default time.Local): a
	// month starts at local midnight on the 1st, where the shop is.
	Location *time.Location
}

// Maker turns identity-store decisions into visit events.
type Maker struct {
	cfg       Config
	pseudoKey []byte
	idKey     []byte
}

// NewMaker checks cfg and returns a Maker.
func NewMaker(cfg Config) (*Maker, error) {
	if err := CheckName("device", cfg.Device); err != nil {
		return nil, err
	}
	if err := CheckName("site", cfg.Site); err != nil {
		return nil, err
	}
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("event: device secret has %d bytes, want at least %d", len(cfg.Secret), MinSecretBytes)
	}
	if cfg.Period == "" {
		cfg.Period = Month
	}
	if _, err := ParsePeriod(string(cfg.Period)); err != nil {
		return nil, err
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	return &Maker{
		cfg: cfg,
		// Separate keys for separate uses, so that no published value
		// (a pseudonym, an event id) can be replayed as another.
		pseudoKey: cfg.Secret.derive("joren/visitor-pseudonym/v1"),
		idKey:     cfg.Secret.derive("joren/event-id/v1"),
	}, nil
}

// Device returns the device name events carry.
func (m *Maker) Device() string { return m.cfg.Device }

// Site returns the site name events carry.
func (m *Maker) Site() string { return m.cfg.Site }

// Location returns the calendar of periods and days.
func (m *Maker) Location() *time.Location { return m.cfg.Location }

// ErrStaff is returned by Visit for a staff member's decision: staff are
// not customers, and where staff are is not head office's business.
var ErrStaff = errors.New("staff visit: not published")

// ErrUnknown is returned by Visit for an unknown visitor in consent mode:
// nothing is remembered of them, so there is nobody to report a visit of.
var ErrUnknown = errors.New("unknown visitor in consent mode: not published")

// Visit makes the event of decision d. It returns ErrStaff for staff,
// ErrUnknown for an unknown visitor in consent mode, and an error naming
// the visit for a decision that is not consistent.
func (m *Maker) Visit(d vocab.Decision) (Visit, error) {
	if d.Staff != "" {
		return Visit{}, ErrStaff
	}
	if d.Unknown {
		return Visit{}, ErrUnknown
	}
	if d.Visitor == "" {
		return Visit{}, fmt.Errorf("event: decision for visit %q has no visitor id", d.Visit)
	}
	if d.Time.IsZero() {
		return Visit{}, fmt.Errorf("event: decision for visit %q has no time", d.Visit)
	}
	period := m.cfg.Period.Label(d.Time, m.cfg.Location)
	local := d.Time.In(m.cfg.Location)
	kind := Returning
	if d.New {
		kind = New
	}
	v := Visit{
		Schema:        SchemaVersion,
		ID:            m.eventID(d),
		Device:        m.cfg.Device,
		Site:          m.cfg.Site,
		Time:          d.Time.UTC().Truncate(time.Second),
		Day:           local.Format(time.DateOnly),
		UTCOffset:     local.Format(offsetLayout),
		Period:        period,
		Visitor:       pseudonym(m.pseudoKey, period, d.Visitor),
		Kind:          kind,
		Visits:        d.Visits,
		Days:          d.Days,
		Regular:       d.Regular,
		BecameRegular: d.BecameRegular,
		// Three decimals say all a consumer can use and keep float
		// noise out of the payload.
		Confidence: math.Round(d.Confidence*1000) / 1000,
	}
	if err := v.Check(); err != nil {
		return Visit{}, fmt.Errorf("event: decision for visit %q: %w", d.Visit, err)
	}
	return v, nil
}

// Pseudonym returns the pseudonym of the internal visitor id at time t, and
// its period: what a Visit at t would carry.
func (m *Maker) Pseudonym(visitor string, t time.Time) (pseudo, period string) {
	period = m.cfg.Period.Label(t, m.cfg.Location)
	return pseudonym(m.pseudoKey, period, visitor), period
}

// PseudonymIn returns the pseudonym of the internal visitor id in the
// given period label (as published in Visit.Period).
func (m *Maker) PseudonymIn(visitor, period string) string {
	return pseudonym(m.pseudoKey, period, visitor)
}

// offsetLayout formats a zone offset as UTCOffset carries it.
const offsetLayout = "-07:00"

// Check reports every field of v that no consumer should accept. It
// accepts schema 1 events (without Day and UTCOffset) as well as the
// current ones.
func (v Visit) Check() error {
	var errs []string
	switch v.Schema {
	case 1:
	case SchemaVersion:
		errs = append(errs, v.checkDay()...)
	default:
		errs = append(errs, fmt.Sprintf("schema %d, want 1 or %d", v.Schema, SchemaVersion))
	}
	if !isULID(v.ID) {
		errs = append(errs, fmt.Sprintf("id %q is not a ULID", v.ID))
	}
	if err := CheckName("device", v.Device); err != nil {
		errs = append(errs, err.Error())
	}
	if err := CheckName("site", v.Site); err != nil {
		errs = append(errs, err.Error())
	}
	if v.Time.IsZero() {
		errs = append(errs, "no time")
	}
	if !isPseudonym(v.Visitor) {
		errs = append(errs, fmt.Sprintf("visitor %q is not a pseudonym", v.Visitor))
	}
	if v.Period == "" {
		errs = append(errs, "no period")
	}
	if v.Kind != New && v.Kind != Returning {
		errs = append(errs, fmt.Sprintf("kind %q, want new or returning", v.Kind))
	}
	if v.Visits < 1 {
		errs = append(errs, fmt.Sprintf("visits %d, want at least 1", v.Visits))
	}
	if v.Days < 1 {
		errs = append(errs, fmt.Sprintf("days %d, want at least 1", v.Days))
	}
	// How visits and days relate is the identity store's business: an
	// odd combination is still a visit head office must count.
	if v.BecameRegular && !v.Regular {
		errs = append(errs, "became regular but is not regular")
	}
	if !(v.Confidence >= 0 && v.Confidence <= 1) {
		errs = append(errs, fmt.Sprintf("confidence %v outside [0, 1]", v.Confidence))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// ParseVisit decodes a visit event as head office receives it, of schema
// 1 or 2, and checks it (Check). Fields it does not know are ignored, as
// the schema's rule says.
func ParseVisit(payload []byte) (Visit, error) {
	var v Visit
	if err := json.Unmarshal(payload, &v); err != nil {
		return Visit{}, fmt.Errorf("not a visit event: %w", err)
	}
	if err := v.Check(); err != nil {
		return v, fmt.Errorf("visit event %s: %w", v.ID, err)
	}
	return v, nil
}

// checkDay checks Day and UTCOffset: present, well formed, and Day is
// Time's date at that offset.
func (v Visit) checkDay() []string {
	off, err := ParseOffset(v.UTCOffset)
	if err != nil {
		return []string{err.Error()}
	}
	if _, err := time.Parse(time.DateOnly, v.Day); err != nil {
		return []string{fmt.Sprintf("day %q is not a date (YYYY-MM-DD)", v.Day)}
	}
	if want := v.Time.In(off).Format(time.DateOnly); !v.Time.IsZero() && v.Day != want {
		return []string{fmt.Sprintf("day %s is not the date of %s at %s (%s)", v.Day, v.Time.Format(time.RFC3339), v.UTCOffset, want)}
	}
	return nil
}

// LocalDay is the visit's local date: Day, or for a schema 1 event (which
// has none) the UTC date of Time.
func (v Visit) LocalDay() string {
	if v.Day != "" {
		return v.Day
	}
	return v.Time.UTC().Format(time.DateOnly)
}

// ParseOffset reads a zone offset as UTCOffset carries it: "+09:00",
// "-05:30", "+00:00". It returns a fixed zone of that offset.
func ParseOffset(s string) (*time.Location, error) {
	t, err := time.Parse(offsetLayout, s)
	if err != nil || len(s) != len(offsetLayout) {
		return nil, fmt.Errorf("utc_offset %q is not an offset such as +09:00", s)
	}
	_, sec := t.Zone()
	if sec < -12*3600 || sec > 14*3600 {
		return nil, fmt.Errorf("utc_offset %q is outside -12:00..+14:00", s)
	}
	return time.FixedZone(s, sec), nil
}

// DeviceName makes a host name a device name CheckName accepts: its first
// label, other characters replaced by '-', at most 64 characters ("joren"
// if nothing is left). It is the default name of a box.
func DeviceName(host string) string {
	host, _, _ = strings.Cut(host, ".")
	var b strings.Builder
	for _, r := range host {
		if b.Len() == 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "joren"
	}
	return b.String()
}

// CheckName checks a device or site name: it becomes an MQTT topic level
// and part of Home Assistant ids, so it is 1 to 64 letters, digits, '-',
// '_' or '.', and what says which one is wrong.
func CheckName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s name is empty", what)
	}
	if len(name) > 64 {
		return fmt.Errorf("%s name %q is longer than 64 characters", what, name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("%s name %q has %q: use letters, digits, '-', '_' or '.'", what, name, r)
		}
	}
	return nil
}
