package office

import (
	"fmt"
	"time"
)

// Retention says how long head office keeps what, in days (0: forever).
type Retention struct {
	// Events are the visits one by one, with their pseudonyms: what
	// distinct-visitor counts and re-placing a shop in another zone
	// need. A visit whose day is older is not stored (it goes to the
	// quarantine), so that a late redelivery cannot be counted twice
	// after its first copy was deleted.
	Events int
	// Rollups are the daily counts per shop, box and day: anonymous
	// numbers, kept for year-on-year comparisons.
	Rollups int
	// Quarantine is messages that could not be stored.
	Quarantine int
}

// DefaultRetention keeps visits for 13 months (a month compared with the
// same month a year before), rollups forever and the quarantine for 30
// days.
func DefaultRetention() Retention { return Retention{Events: 400, Rollups: 0, Quarantine: 30} }

// Check rejects negative numbers and rollups kept shorter than events
// (the rollups of stored visits must stay).
func (r Retention) Check() error {
	switch {
	case r.Events < 0 || r.Rollups < 0 || r.Quarantine < 0:
		return fmt.Errorf("retention: negative days (events %d, rollups %d, quarantine %d)", r.Events, r.Rollups, r.Quarantine)
	case r.Rollups > 0 && (r.Events == 0 || r.Rollups < r.Events):
		return fmt.Errorf("retention: rollups kept %d days, less than the events they sum (%d days, 0 = forever)", r.Rollups, r.Events)
	}
	return nil
}

// Cutoff is the first day kept when keeping days days at now ("" when
// days is 0: everything is kept). Days are compared as local days; the
// cutoff is taken in UTC, so a day is kept at most one day longer.
func Cutoff(now time.Time, days int) string {
	if days <= 0 {
		return ""
	}
	return now.UTC().AddDate(0, 0, -days).Format(time.DateOnly)
}
