package vocab

import "time"

// Decision is what the identity store concluded about one visit: who it
// was (as a stable internal id that never leaves the device), how often
// they have been here, and whether they are a regular. The indicator and
// the event publisher act on decisions; events carry a pseudonym of the
// visitor, never Visitor itself.
type Decision struct {
	// Visit is the visit's id.
	Visit string `json:"visit"`
	// Time is when the visit started.
	Time time.Time `json:"time"`
	// Visitor is the stable internal id of the identity the visit was
	// attached to (empty for staff, and for an unknown visitor).
	Visitor string `json:"visitor,omitempty"`
	// Staff is the staff member's name when the visit matched staff; staff
	// are never counted as customers.
	Staff string `json:"staff,omitempty"`
	// New is set on an identity's first visit.
	New bool `json:"new"`
	// Visits counts the identity's visits (passages within the merge window
	// count once), this one included.
	Visits int `json:"visits"`
	// Days counts the distinct local days with a visit within the regular
	// window, this one included.
	Days int `json:"days"`
	// Regular is the identity's status after this visit.
	Regular bool `json:"regular"`
	// BecameRegular is set on the visit that made the identity a regular.
	BecameRegular bool `json:"became_regular,omitempty"`
	// Confidence in [0, 1] that the visit was attached to the right
	// identity (for a new identity or an unknown visitor: that it is
	// nobody known).
	Confidence float64 `json:"confidence"`
	// Unknown is set, in consent mode, for a visitor who matches no
	// enrolled customer: nothing is remembered of them (no identity, no
	// descriptor), Visitor and Staff are empty, New, Visits, Days and
	// Regular are zero, and the visit only counts as an anonymous passage.
	// Consumers that act on Visitor must skip such decisions, as they skip
	// staff.
	Unknown bool `json:"unknown,omitempty"`
}
