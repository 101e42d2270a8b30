package office

import (
	"fmt"
	"time"
)

// Visit is one visit event as head office keeps it: the fields of the
// event (docs/events.md) and where it falls on the shop's calendar.
type Visit struct {
	// ID is the event id (a ULID): the same on every delivery.
	ID string
	// Site and Device name the shop and the box.
	Site, Device string
	// Time is the start of the visit, UTC, to the second.
	Time time.Time
	// DeviceDay and DeviceOffset are the local day ("2026-05-14") and
	// the offset from UTC that the box itself reported. Events of schema
	// version 1 carry neither: the day then comes from the shop's zone as
	// head office knows it (Place).
	DeviceDay    string
	DeviceOffset *time.Duration
	// Period and Visitor: the pseudonym and its period. A pseudonym means
	// nothing outside its period and its box.
	Period, Visitor string
	// New is kind "new": the first visit the box has seen of this person.
	New bool
	// Visits and Days are the box's counts for the visitor after this
	// visit; Regular and BecameRegular its regular status.
	Visits, Days           int
	Regular, BecameRegular bool
	Confidence             float64
	// Schema is the event's schema version.
	Schema int

	// Day and Hour are the local day and hour of Time (set by Place);
	// Zone is the IANA zone they were computed in, or "" when the box
	// reported both its day and its offset.
	Day  string
	Hour int
	Zone string
}

// DefaultZone is the key of the zone used for shops without their own
// (joren-office sites zone '*' ZONE); until it is set, UTC.
const DefaultZone = "*"

// Place sets v's local Day, Hour and Zone: from what the box reported
// when it reported it (schema 2 events), otherwise in the shop's zone
// loc (named zone). A box's own day wins over head office's map because
// the box's clock and TZ decided its stats' "today"; the office's zone map
// is the fallback for older events.
func (v *Visit) Place(zone string, loc *time.Location) {
	switch {
	case v.DeviceOffset != nil:
		local := v.Time.Add(*v.DeviceOffset).UTC()
		v.Hour, v.Zone = local.Hour(), ""
		v.Day = local.Format(time.DateOnly)
		if v.DeviceDay != "" {
			v.Day = v.DeviceDay
		}
	default:
		local := v.Time.In(loc)
		v.Hour, v.Zone = local.Hour(), zone
		v.Day = local.Format(time.DateOnly)
		if v.DeviceDay != "" {
			v.Day = v.DeviceDay
		}
	}
}

// CheckDay checks a day as the office writes it: YYYY-MM-DD.
func CheckDay(what, day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("%s %q is not a day (want YYYY-MM-DD)", what, day)
	}
	return nil
}

// LoadZone loads an IANA zone name ("Asia/Tokyo", "UTC"); the error says
// what is expected.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q: want an IANA name such as Asia/Tokyo or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: not a known IANA zone name (such as Asia/Tokyo or UTC)", name)
	}
	return loc, nil
}
