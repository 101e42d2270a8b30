package store

import (
	"cmp"
	"fmt"
	"joren/vocab"
	"time"
)

// Meta describes a store.
type Meta struct {
	// Schema is the layout version the file was last written with.
	Schema int `json:"schema"`
	// Model computed every descriptor in the store.
	Model vocab.Model `json:"model"`
	// Zone is the IANA time zone whose local days the store counts.
	Zone string `json:"zone"`
	// Created is when the store was made.
	Created time.Time `json:"created"`
	// Maintained is the local day (days since 1970-01-01) of the last
	// completed maintenance pass, 0 if none.
	Maintained int32 `json:"maintained"`
	// Clock is the latest time the identity service trusted its clock
	// at (a visit's or a maintenance pass's, to within minutes): the
	// reference its clock guard measures jumps from. Zero in stores made
	// before the guard.
	Clock time.Time `json:"clock,omitzero"`
	// Mode is what the store remembers: everyone (Counting) or only
	// enrolled customers (Consent).
	Mode Mode `json:"mode"`
	// Cipher is the encryption of the record values ("" when the store is
	// not encrypted) and KeyID the fingerprint of its key.
	Cipher string `json:"cipher,omitempty"`
	KeyID  string `json:"key_id,omitempty"`
}

// Mode is what a store remembers of the people who pass the door.
type Mode string

const (
	// Counting remembers everyone who passes: each may become a regular.
	Counting Mode = "counting"
	// Consent remembers only the customers who enrolled (and consented):
	// a visit that matches none of them leaves no identity behind.
	Consent Mode = "consent"
)

// ParseMode reads a mode's name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Counting, Consent:
		return Mode(s), nil
	}
	return "", fmt.Errorf("mode %q: want counting or consent", s)
}

// Identity is one visitor the store knows. Its size is bounded by the
// exemplar cap and the regular window, whatever its history.
type Identity struct {
	// ID is stable and never reused.
	ID string
	// Created is the first visit's time; LastSeen the last visit's start.
	Created, LastSeen time.Time
	// LastVisit is the id of the last visit and LastEnd its end: a passage
	// starting within the merge window after LastEnd is the same visit.
	LastVisit string
	LastEnd   time.Time
	// Visits counts visits (passages within the merge window count once)
	// since the identity was created; TotalDays the distinct days.
	Visits, TotalDays int
	// Days are the distinct local days with a visit still inside the
	// regular window, ascending.
	Days []int32
	// Regular is the status after the last visit; EverRegular is set once
	// the identity has been a regular (eviction keeps those longest).
	Regular, EverRegular bool
	// RegularSince is when the identity last became a regular.
	RegularSince time.Time
	// Exemplars are the most recent visits' descriptors (bounded).
	Exemplars []Exemplar
	// Apart lists identities seen at the same time as this one: they are
	// other people, and maintenance never merges them (bounded).
	Apart []string
	// Customer is the name of the enrolled customer this identity is
	// ("" for a visitor who never enrolled). Enrolled identities are
	// never evicted to make room, never merged with each other and never
	// split; retention applies to them as to everyone.
	Customer string
}

// Exemplar is one visit's evidence: the mean of its descriptors and how
// many there were. The mean and the count are all the matcher needs, and
// they keep an identity's size independent of how many frames a track had.
type Exemplar struct {
	Visit string
	Time  time.Time
	Day   int32
	Count int
	Mean  []float32
}

// Visit is the log record of one decided visit, kept for the retention
// period: it makes Observe idempotent (a replay skips visits already
// decided) and lets forget delete everything of an identity.
type Visit struct {
	ID string
	// Identity is the identity the visit belongs to now (empty for
	// staff): maintenance moves visits when it merges or splits.
	Identity string
	// Visitor is the identity the visit was attached to when decided.
	Visitor string
	// Staff is the staff member's name, if it was staff.
	Staff string
	Time  time.Time
	// Days, Visits, Regular, New, BecameRegular and Confidence repeat the
	// decision as it was made, so that it can be returned again.
	Days, Visits         int
	Regular, New, Became bool
	Confidence           float64
}

// Staff is one enrolled staff member.
type Staff struct {
	Name  string    `json:"name"`
	Added time.Time `json:"added"`
	// Sources name what each exemplar came from (image file names), for
	// listing; never the images.
	Sources []string `json:"sources"`
	// Exemplars are single descriptors, one per enrolled face.
	Exemplars [][]float32 `json:"exemplars"`
}

// Customer is a customer who enrolled, consenting to be recognised: the
// faces they gave and when they consented. Their visits are kept in their
// identity (Identity), like anyone's.
type Customer struct {
	Name string `json:"name"`
	// Note is free text for the shop (how consent was given, a
	// membership number); it is encrypted with the rest.
	Note string `json:"note,omitempty"`
	// Consented is when the customer enrolled.
	Consented time.Time `json:"consented"`
	// Identity is the id of the customer's identity.
	Identity string `json:"identity"`
	// Sources name what each exemplar came from (image file names);
	// never the images.
	Sources []string `json:"sources"`
	// Exemplars are single descriptors, one per enrolled face. They stay
	// as long as the customer does: the visits' exemplars come and go.
	Exemplars [][]float32 `json:"exemplars"`
}

// Limits bound a store. Zero fields take DefaultLimits' values.
type Limits struct {
	// MaxIdentities caps the number of known visitors.
	MaxIdentities int `json:"max_identities"`
	// MaxExemplars caps the exemplars (visits) kept per identity: the
	// oldest goes first.
	MaxExemplars int `json:"max_exemplars"`
	// MaxBytes caps the bytes of records (identities, visit log, staff);
	// the file itself stays within about twice that (bbolt's pages and
	// free list).
	MaxBytes int64 `json:"max_bytes"`
	// MaxApart caps the cannot-link list of an identity.
	MaxApart int `json:"max_apart"`
	// MaxStaff caps staff members, and MaxStaffExemplars their faces.
	MaxStaff          int `json:"max_staff"`
	MaxStaffExemplars int `json:"max_staff_exemplars"`
	// MaxCustomers caps enrolled customers, and MaxCustomerExemplars
	// their enrolled faces.
	MaxCustomers         int `json:"max_customers"`
	MaxCustomerExemplars int `json:"max_customer_exemplars"`
}

// DefaultLimits suit a few hundred new faces a day on an SD card: 50,000
// identities of 8 exemplars of 128 values take about 230 MB at most.
func DefaultLimits() Limits {
	return Limits{
		MaxIdentities:        50_000,
		MaxExemplars:         8,
		MaxBytes:             256 << 20,
		MaxApart:             16,
		MaxStaff:             200,
		MaxStaffExemplars:    32,
		MaxCustomers:         2000,
		MaxCustomerExemplars: 16,
	}
}

func (l Limits) fill() Limits {
	d := DefaultLimits()
	l.MaxIdentities = cmp.Or(l.MaxIdentities, d.MaxIdentities)
	l.MaxExemplars = cmp.Or(l.MaxExemplars, d.MaxExemplars)
	l.MaxBytes = cmp.Or(l.MaxBytes, d.MaxBytes)
	l.MaxApart = cmp.Or(l.MaxApart, d.MaxApart)
	l.MaxStaff = cmp.Or(l.MaxStaff, d.MaxStaff)
	l.MaxStaffExemplars = cmp.Or(l.MaxStaffExemplars, d.MaxStaffExemplars)
	l.MaxCustomers = cmp.Or(l.MaxCustomers, d.MaxCustomers)
	l.MaxCustomerExemplars = cmp.Or(l.MaxCustomerExemplars, d.MaxCustomerExemplars)
	return l
}
