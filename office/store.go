package office

import (
	"context"
	"encoding/json"
	"time"
)

// Store keeps what head office receives. Every implementation passes the
// shared suite (office/storetest); the joren-office binary opens one with
// office/sqlstore (SQLite or PostgreSQL).
//
// A Store may be shared by several collectors at once (processes of one
// shared-subscription group): Write is atomic and idempotent, so the
// rollups stay exactly the sums of the stored visits whatever the
// duplicates and however writers interleave.
type Store interface {
	// Write stores a batch in one transaction: the visits not stored
	// yet (by id) with their rollups, the quarantined messages, and the
	// boxes' status and stats. Visits older than the event retention are
	// quarantined instead. When Write returns nil everything is committed
	// and the messages may be acknowledged.
	Write(ctx context.Context, b *Batch) (WriteResult, error)

	// Zones returns the shops' zones (site -> IANA name); DefaultZone
	// is the zone of the shops without their own.
	Zones(ctx context.Context) (map[string]string, error)
	// SetZone sets the zone of a site (DefaultZone: of every site without
	// its own) and places the visits it concerns in it again, rollups
	// included, in one transaction. It returns how many visits moved to
	// another day or hour.
	SetZone(ctx context.Context, site, zone string) (moved int, err error)

	// EachDay calls fn with the rollup of every shop, box and day of r,
	// ordered by site, device and day.
	EachDay(ctx context.Context, r Range, fn func(DayRow) error) error
	// Sites returns the totals of every shop over r, ordered by site.
	Sites(ctx context.Context, r Range) ([]SiteTotal, error)
	// Timeline returns the totals of every day of r that has visits, over
	// the shops of r, ordered by day.
	Timeline(ctx context.Context, r Range) ([]DayTotal, error)
	// Devices returns every box ever heard of, ordered by site and device.
	Devices(ctx context.Context) ([]Device, error)
	// Quarantine returns the most recent quarantined messages (at most
	// limit) and how many distinct ones are kept.
	Quarantine(ctx context.Context, limit int) ([]Quarantined, int64, error)
	// Totals counts what is stored.
	Totals(ctx context.Context) (Totals, error)

	// Purge deletes what is older than the retention (Options of the
	// implementation) at now.
	Purge(ctx context.Context, now time.Time) (Purged, error)
	// Check recomputes the rollups of r's days from the stored visits,
	// and the monthly and chain-wide rollups from the daily ones, and
	// returns every difference (none, always: a difference is a bug). A
	// monthly rollup differing has its month as Day; a chain-wide one "*"
	// as Site and Device.
	Check(ctx context.Context, r Range) ([]Mismatch, error)

	Close() error
}

// Range selects days (From and To included, YYYY-MM-DD) and optionally
// shops and one box.
type Range struct {
	From, To string
	// Sites restricts to these shops (none: every shop).
	Sites []string
	// Device restricts to one box (with one site).
	Device string
	// NoHours leaves DayRow.Hours zero in EachDay: 24 columns less a
	// row, for what does not need them (the CSV report).
	NoHours bool
}

// Batch is what one transaction writes.
type Batch struct {
	Visits     []Visit
	Quarantine []Quarantined
	Status     []StatusUpdate
	Stats      []StatsUpdate
	// Seen are boxes heard from (any message), with when.
	Seen []Seen
}

// Empty tells whether b holds nothing.
func (b *Batch) Empty() bool {
	return len(b.Visits)+len(b.Quarantine)+len(b.Status)+len(b.Stats)+len(b.Seen) == 0
}

// Seen says a box was heard from at At.
type Seen struct {
	Site, Device string
	At           time.Time
}

// StatusUpdate is a status message (retained: online, offline, last will).
type StatusUpdate struct {
	Site, Device string
	// State is online or offline; Reason why offline.
	State, Reason string
	// Time is the message's own time (zero for the last will, which the
	// broker sends for a box that cannot); Received orders the updates:
	// the last received wins.
	Time, Received time.Time
	Version        string
	Payload        json.RawMessage
}

// StatsUpdate is a stats message. The latest by the box's Time wins.
type StatsUpdate struct {
	Site, Device string
	Time         time.Time
	// Day is the box's local day; Visits its count of that day.
	Day     string
	Visits  int64
	Payload json.RawMessage
}

// Quarantined is a message that was kept aside instead of stored: not
// valid against the schema, inconsistent with its topic, or too old.
// Identical messages are kept once (Hash) and counted (Times).
type Quarantined struct {
	Hash                string
	Topic               string
	Payload             []byte
	Reason              string
	FirstSeen, LastSeen time.Time
	Times               int64
}

// WriteResult says what a Write did.
type WriteResult struct {
	// Stored visits were new; Duplicates had been stored before (or
	// came twice in the batch); TooOld went to the quarantine because
	// their day is past the event retention.
	Stored, Duplicates, TooOld int
}

// SiteTotal is one shop's totals over a range.
type SiteTotal struct {
	Site string
	// Devices are the shop's boxes with visits in the range.
	Devices int
	Counts
}

// DayTotal is one day's totals over some shops.
type DayTotal struct {
	Day string
	Counts
	Hours Hours
}

// Device is what head office knows of a box.
type Device struct {
	Site, Device string
	// State is the retained status: online or offline ("" if none came);
	// Reason says why offline ("shutdown", "connection lost"); StatusAt
	// is when the status was received.
	State, Reason string
	StatusAt      time.Time
	Version       string
	// LastSeen is when any message of the box was last received;
	// LastVisit the time of its latest visit event.
	LastSeen, LastVisit time.Time
	// Status and Stats are the latest messages, as received (their
	// health fields, when the box sends them, are read from here).
	Status, Stats json.RawMessage
	StatsAt       time.Time
	// StatsDay and StatsVisits are the box's own count of its local day;
	// OfficeVisits is head office's count of the same day.
	StatsDay                  string
	StatsVisits, OfficeVisits int64
}

// Totals count what a store holds.
type Totals struct {
	Visits, Quarantined, Devices, Days int64
}

// Purged says what Purge deleted.
type Purged struct {
	Visits, Days, Quarantined int64
}

// Mismatch is a rollup that differs from the sum of its visits.
type Mismatch struct {
	Want, Got DayRow
}
