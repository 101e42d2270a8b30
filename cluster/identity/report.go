package identity

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"joren/cluster/store"
)

// Stats summarise a store.
type Stats struct {
	Dir     string    `json:"dir"`
	Schema  int       `json:"schema"`
	Model   string    `json:"model"`
	Dim     int       `json:"dim"`
	Zone    string    `json:"zone"`
	Created time.Time `json:"created"`
	// Mode is counting or consent; Cipher the encryption of the records
	// ("" when not encrypted).
	Mode   string `json:"mode"`
	Cipher string `json:"cipher,omitempty"`
	// Identities known; Regulars among them as of now (N days within the
	// window); EverRegular ever were.
	Identities  int `json:"identities"`
	Regulars    int `json:"regulars"`
	EverRegular int `json:"ever_regular"`
	Staff       int `json:"staff"`
	// Customers enrolled (consented).
	Customers int `json:"customers"`
	// LoggedVisits are the decisions kept (retention period); Passages
	// those of unknown visitors (consent mode), of whom nothing else is
	// kept.
	LoggedVisits int `json:"logged_visits"`
	Passages     int `json:"passages"`
	// Bytes of records against the cap, and the file's size.
	Bytes    int64        `json:"bytes"`
	FileSize int64        `json:"file_size"`
	Limits   store.Limits `json:"limits"`
	// ToCheck identities wait for maintenance; LastMaintenance is the day
	// of the last completed pass ("" if none).
	ToCheck         int    `json:"to_check"`
	LastMaintenance string `json:"last_maintenance,omitempty"`
	// LeastRecent and MostRecent last-seen times.
	LeastRecent time.Time `json:"least_recent,omitzero"`
	MostRecent  time.Time `json:"most_recent,omitzero"`
}

func dayString(d int32) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// Summarise reads a store's statistics as of now under the regular policy
// (whose zone is the store's).
func Summarise(st *store.Store, pol Policy, now time.Time) (Stats, error) {
	meta := st.Meta()
	zone, err := st.Zone()
	if err != nil {
		return Stats{}, err
	}
	pol.Zone = zone
	pol = pol.fill()
	today := pol.Day(now)
	s := Stats{Dir: st.Dir(), Schema: meta.Schema, Model: meta.Model.ID(), Dim: meta.Model.Dim, Zone: meta.Zone, Created: meta.Created,
		Mode: string(meta.Mode), Cipher: meta.Cipher, Limits: st.Limits()}
	if meta.Maintained > 0 {
		s.LastMaintenance = dayString(meta.Maintained)
	}
	err = st.View(func(tx *store.Tx) error {
		s.Bytes, s.Staff, s.LoggedVisits, s.ToCheck = tx.Bytes(), tx.StaffCount(), tx.Visits(), len(tx.Dirty(0))
		s.Customers = tx.CustomerCount()
		if err := tx.ForEachVisit(func(v store.Visit) error {
			if v.Visitor == "" && v.Staff == "" {
				s.Passages++
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEachIdentity(func(rec store.Identity) error {
			s.Identities++
			if daysIn(rec.Days, today, pol) >= pol.RegularDays {
				s.Regulars++
			}
			if rec.EverRegular {
				s.EverRegular++
			}
			if s.LeastRecent.IsZero() || rec.LastSeen.Before(s.LeastRecent) {
				s.LeastRecent = rec.LastSeen
			}
			if rec.LastSeen.After(s.MostRecent) {
				s.MostRecent = rec.LastSeen
			}
			return nil
		})
	})
	if err != nil {
		return Stats{}, fmt.Errorf("reading identity store %s: %w", st.Dir(), err)
	}
	if s.FileSize, err = st.FileSize(); err != nil {
		return Stats{}, err
	}
	return s, nil
}

// ExportLine is one line of an export: a visitor, an enrolled customer or
// a staff member.
// Descriptors are left out unless asked for: an export is for inspection
// and audits, and descriptors are biometric data.
type ExportLine struct {
	Kind string `json:"kind"` // "visitor", "customer" or "staff"
	// Visitors.
	Visitor      string     `json:"visitor,omitempty"`
	Created      *time.Time `json:"created,omitempty"`
	LastSeen     *time.Time `json:"last_seen,omitempty"`
	Visits       int        `json:"visits,omitempty"`
	TotalDays    int        `json:"total_days,omitempty"`
	Days         []string   `json:"days,omitempty"`
	Regular      bool       `json:"regular,omitempty"`
	EverRegular  bool       `json:"ever_regular,omitempty"`
	RegularSince *time.Time `json:"regular_since,omitempty"`
	Exemplars    int        `json:"exemplars,omitempty"`
	// Customers (their visits are on their visitor line).
	Customer  string     `json:"customer,omitempty"`
	Note      string     `json:"note,omitempty"`
	Consented *time.Time `json:"consented,omitempty"`
	// Staff.
	Staff   string     `json:"staff,omitempty"`
	Added   *time.Time `json:"added,omitempty"`
	Sources []string   `json:"sources,omitempty"`
	// With descriptors: the model and the exemplar descriptors.
	Model       string      `json:"model,omitempty"`
	Descriptors [][]float32 `json:"descriptors,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Export writes every visitor, then every enrolled customer, then every
// staff member, one JSON object a line; Regular is the status as of now.
// It is what `joren store export` prints, and what answers a person's
// request for the data kept about them.
func Export(st *store.Store, pol Policy, now time.Time, w io.Writer, withDescriptors bool) error {
	zone, err := st.Zone()
	if err != nil {
		return err
	}
	pol.Zone = zone
	pol = pol.fill()
	today := pol.Day(now)
	model := st.Meta().Model.ID()
	enc := json.NewEncoder(w)
	return st.View(func(tx *store.Tx) error {
		if err := tx.ForEachIdentity(func(rec store.Identity) error {
			l := ExportLine{
				Kind: "visitor", Visitor: rec.ID, Customer: rec.Customer, Created: timePtr(rec.Created), LastSeen: timePtr(rec.LastSeen),
				Visits: rec.Visits, TotalDays: rec.TotalDays,
				Regular: daysIn(rec.Days, today, pol) >= pol.RegularDays, EverRegular: rec.EverRegular,
				RegularSince: timePtr(rec.RegularSince), Exemplars: len(rec.Exemplars),
			}
			for _, d := range rec.Days {
				l.Days = append(l.Days, dayString(d))
			}
			if withDescriptors {
				l.Model = model
				for _, e := range rec.Exemplars {
					l.Descriptors = append(l.Descriptors, e.Mean)
				}
			}
			return enc.Encode(l)
		}); err != nil {
			return err
		}
		if err := tx.ForEachCustomer(func(c store.Customer) error {
			l := ExportLine{Kind: "customer", Customer: c.Name, Visitor: c.Identity, Note: c.Note, Consented: timePtr(c.Consented), Sources: c.Sources, Exemplars: len(c.Exemplars)}
			if withDescriptors {
				l.Model = model
				l.Descriptors = c.Exemplars
			}
			return enc.Encode(l)
		}); err != nil {
			return err
		}
		return tx.ForEachStaff(func(m store.Staff) error {
			l := ExportLine{Kind: "staff", Staff: m.Name, Added: timePtr(m.Added), Sources: m.Sources, Exemplars: len(m.Exemplars)}
			if withDescriptors {
				l.Model = model
				l.Descriptors = m.Exemplars
			}
			return enc.Encode(l)
		})
	})
}
