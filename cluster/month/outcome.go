package month

import (
	"time"

	"joren/vocab"
)

// Outcome is what the identity store decided about one visit and, once
// scored, the truth beside it. It is the one record of a scored decision:
// a synthetic month's outcomes get their truth from the month's visits
// (Label), a door video's from its passages (appliance.Match), and Measure
// scores either.
//
// Its JSON is a line of `joren replay`'s output: the decision's visit,
// visitor, visits and regular flag only; the rest is the scorer's.
type Outcome struct {
	Visit   string `json:"visit"`
	Visitor string `json:"visitor"`
	// Staff is set (and Visitor empty) when the visit matched staff.
	Staff string `json:"staff,omitempty"`
	// Visits counts the visitor's visits so far (passages within the
	// merge window count once) and Days their distinct local days within
	// the regular window, this one included: vocab.Decision's Visits and
	// Days. Before Days existed, "visits" here meant the days.
	Visits  int  `json:"visits"`
	Days    int  `json:"days"`
	Regular bool `json:"regular"`
	// New is set on a visitor's first visit, BecameRegular on the visit
	// that made them a regular.
	New           bool `json:"-"`
	BecameRegular bool `json:"-"`
	// Time is when the visit began.
	Time time.Time `json:"-"`

	// The truth. Person is who the visitor really was; Day is their
	// distinct day (1 on their first) within the regular policy's window;
	// WantRegular tells whether the policy expects them to be a regular
	// by now.
	Person      string `json:"-"`
	Day         int    `json:"-"`
	WantRegular bool   `json:"-"`
	// Missed is set when no decision was made about the visit (a door
	// video's passage whose face was never good enough): only Time and
	// the truth are set.
	Missed bool `json:"-"`
}

// OutcomeOf is the outcome of a decision, its truth not set.
func OutcomeOf(d vocab.Decision) Outcome {
	return Outcome{
		Visit: d.Visit, Visitor: d.Visitor, Staff: d.Staff, Visits: d.Visits, Days: d.Days, Regular: d.Regular,
		New: d.New, BecameRegular: d.BecameRegular, Time: d.Time,
	}
}

// Right tells whether a decision was made and its regular flag is what
// the policy expected.
func (o Outcome) Right() bool { return !o.Missed && o.Regular == o.WantRegular }
