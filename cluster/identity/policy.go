package identity

import (
	"cmp"
	"fmt"
	"time"
)

// Policy is when a visitor counts as a regular, and how long the store
// remembers them.
type Policy struct {
	// RegularDays (N): a visitor is a regular once seen on at least this
	// many distinct local days within the last Window days.
	RegularDays int
	// Window (W), in days, today included.
	Window int
	// MergeWindow (M): passages of one identity less than this apart are
	// one visit (someone stepping out and back in, or a track that broke).
	MergeWindow time.Duration
	// Retention (R), in days: identities unseen for longer are deleted.
	Retention int
	// Zone is the shop's time zone: days are its local days, so a visit at
	// 00:30 belongs to the day that just began there.
	Zone *time.Location
}

// Policy defaults, from issue 3.
const (
	DefaultRegularDays = 3
	DefaultWindow      = 30
	DefaultMergeWindow = 10 * time.Minute
	DefaultRetention   = 90
)

// DefaultPolicy returns the default policy in zone (nil: UTC).
func DefaultPolicy(zone *time.Location) Policy {
	if zone == nil {
		zone = time.UTC
	}
	return Policy{
		RegularDays: DefaultRegularDays,
		Window:      DefaultWindow,
		MergeWindow: DefaultMergeWindow,
		Retention:   DefaultRetention,
		Zone:        zone,
	}
}

// MaxWindow bounds Window and Retention: an identity keeps one entry per
// distinct day of its window, so the window bounds its size.
const MaxWindow = 366

// Validate tells what is wrong with p, if anything.
func (p Policy) Validate() error {
	switch {
	case p.RegularDays < 1:
		return fmt.Errorf("regular days must be at least 1, got %d", p.RegularDays)
	case p.Window < 1 || p.Window > MaxWindow:
		return fmt.Errorf("window must be 1 to %d days, got %d", MaxWindow, p.Window)
	case p.RegularDays > p.Window:
		return fmt.Errorf("regular days (%d) cannot exceed the window (%d days)", p.RegularDays, p.Window)
	case p.MergeWindow < 0:
		return fmt.Errorf("merge window must not be negative, got %v", p.MergeWindow)
	case p.Retention < 1 || p.Retention > 10*MaxWindow:
		return fmt.Errorf("retention must be 1 to %d days, got %d", 10*MaxWindow, p.Retention)
	case p.Retention < p.Window:
		return fmt.Errorf("retention (%d days) must be at least the window (%d days): a regular would be forgotten while still regular", p.Retention, p.Window)
	case p.Zone == nil:
		return fmt.Errorf("no time zone")
	}
	return nil
}

// Day is t's local date in the policy's zone, as days since 1970-01-01.
func (p Policy) Day(t time.Time) int32 {
	y, m, d := t.In(p.Zone).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// InWindow tells whether day still counts on day today.
func (p Policy) InWindow(day, today int32) bool {
	return day <= today && today-day < int32(p.Window)
}

// fill sets zero fields from the defaults (the zone excepted).
func (p Policy) fill() Policy {
	d := DefaultPolicy(p.Zone)
	p.RegularDays = cmp.Or(p.RegularDays, d.RegularDays)
	p.Window = cmp.Or(p.Window, d.Window)
	p.MergeWindow = cmp.Or(p.MergeWindow, d.MergeWindow)
	p.Retention = cmp.Or(p.Retention, d.Retention)
	return p
}

// daysIn counts the days within the window as of today.
func daysIn(days []int32, today int32, pol Policy) int {
	n := 0
	for _, d := range days {
		if pol.InWindow(d, today) {
			n++
		}
	}
	return n
}
