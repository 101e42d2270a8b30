package event

import (
	"fmt"
	"time"
)

// Period is how long a visitor keeps one pseudonym.
type Period string

const (
	// Day pseudonyms change at local midnight: head office can count
	// distinct visitors per day only.
	Day Period = "day"
	// Week pseudonyms change on Mondays (ISO weeks).
	Week Period = "week"
	// Month pseudonyms change on the 1st (the default).
	Month Period = "month"
	// Year pseudonyms change on the 1st of January.
	Year Period = "year"
)

// ParsePeriod parses day, week, month or year. There is deliberately no
// "never": a pseudonym that never changes becomes a lifelong identifier.
func ParsePeriod(s string) (Period, error) {
	switch p := Period(s); p {
	case Day, Week, Month, Year:
		return p, nil
	}
	return "", fmt.Errorf("pseudonym period %q: want day, week, month or year", s)
}

// Label names the period holding t in loc's calendar: "2026-05-14",
// "2026-W20", "2026-05" or "2026".
func (p Period) Label(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	switch p {
	case Day:
		return t.Format("2006-01-02")
	case Week:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Year:
		return t.Format("2006")
	default:
		return t.Format("2006-01")
	}
}
