package identity

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"joren/cluster/store"
)

// CheckStaffName tells what is wrong with a staff member's name.
func CheckStaffName(name string) error { return checkName("staff", name) }

// CheckCustomerName tells what is wrong with a customer's name.
func CheckCustomerName(name string) error { return checkName("customer", name) }

func checkName(kind, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%s name is empty", kind)
	case len(name) > 64:
		return fmt.Errorf("%s name %.20q... is longer than 64 bytes", kind, name)
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%s name %q has unprintable characters", kind, name)
	}
	return nil
}

// AddStaff enrols faces of a staff member (one descriptor per face, named
// by its source, an image file name). Faces add to those already enrolled
// under the name, the oldest dropped beyond the cap. Nothing is stored if
// any descriptor is invalid.
func (s *Service) AddStaff(name string, sources []string, descs [][]float32, now time.Time) (store.Staff, error) {
	if err := CheckStaffName(name); err != nil {
		return store.Staff{}, err
	}
	if len(descs) == 0 || len(descs) != len(sources) {
		return store.Staff{}, fmt.Errorf("staff %s: %d faces for %d sources", name, len(descs), len(sources))
	}
	for i, d := range descs {
		if err := s.model.Check(d); err != nil {
			return store.Staff{}, fmt.Errorf("staff %s, %s: %w", name, sources[i], err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var m store.Staff
	err := s.st.Update(func(tx *store.Tx) error {
		old, ok, err := tx.Staff(name)
		if err != nil {
			return err
		}
		lim := tx.Limits()
		if !ok && tx.StaffCount() >= lim.MaxStaff {
			return fmt.Errorf("the store already holds %d staff members, the most it keeps: remove one first (joren staff remove NAME)", lim.MaxStaff)
		}
		m = old
		if !ok {
			m = store.Staff{Name: name, Added: now.UTC()}
		}
		m.Sources, m.Exemplars = addFaces(m.Sources, m.Exemplars, sources, descs, lim.MaxStaffExemplars)
		if err := tx.PutStaff(m); err != nil {
			return err
		}
		return s.loadStaff(tx)
	})
	if err != nil {
		return store.Staff{}, fmt.Errorf("adding staff %s: %w", name, err)
	}
	return m, nil
}

// RemoveStaff deletes a staff member; false if there was none of that name.
func (s *Service) RemoveStaff(name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ok bool
	err := s.st.Update(func(tx *store.Tx) error {
		var err error
		if ok, err = tx.DeleteStaff(name); err != nil {
			return err
		}
		return s.loadStaff(tx)
	})
	if err != nil {
		return false, fmt.Errorf("removing staff %s: %w", name, err)
	}
	return ok, nil
}

// Staff lists the staff members, by name.
func (s *Service) Staff() ([]store.Staff, error) {
	var out []store.Staff
	err := s.st.View(func(tx *store.Tx) error {
		return tx.ForEachStaff(func(m store.Staff) error {
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

// Match is what the store makes of some descriptors of one face.
type Match struct {
	// Visitor is the identity they would be attached to ("" if nobody),
	// with its visits and days, and the enrolled customer it is, if any;
	// Staff the staff member if it is one.
	Visitor      string
	Visits, Days int
	Customer     string
	Staff        string
	// LastSeen is when the visitor was last seen (zero if nobody).
	LastSeen time.Time
	// LogOdds is the evidence for the best identity, prior included (> 0:
	// Observe would attach to it).
	LogOdds float64
	// Nearest is the best identity even when below the bar.
	Nearest string
}

// Match tells whom descriptors (of one face) match, with the same
// evidence and bar as Observe, without changing anything.
func (s *Service) Match(descs [][]float32) (Match, error) {
	if len(descs) == 0 {
		return Match{}, errors.New("no descriptors to match")
	}
	for i, d := range descs {
		if err := s.model.Check(d); err != nil {
			return Match{}, fmt.Errorf("descriptor %d: %w", i+1, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.q
	q.reset(s.sc.feature(mean(descs), s.feat), len(descs))
	prior := s.prior()
	var m Match
	m.LogOdds = math.Inf(-1)
	top := s.idx.top(q, 1, nil)
	best := math.Inf(-1)
	if len(top) > 0 {
		best = top[0].llr
		m.Nearest = top[0].id
		m.LogOdds = top[0].llr + prior
	}
	if name, llr, ok := s.matchStaff(q, nil); ok && llr >= best {
		m.Staff = name
		return m, nil
	}
	if m.LogOdds > 0 {
		m.Visitor = m.Nearest
		err := s.st.View(func(tx *store.Tx) error {
			rec, ok, err := tx.Identity(m.Visitor)
			if ok {
				m.Visits, m.Days, m.Customer, m.LastSeen = rec.Visits, rec.TotalDays, rec.Customer, rec.LastSeen
			}
			return err
		})
		if err != nil {
			return Match{}, err
		}
	}
	return m, nil
}

// Forgotten describes a deleted identity.
type Forgotten struct {
	ID           string
	Visits, Days int
	// Logged is how many visit log records went with it.
	Logged int
	// Customer is the enrolled customer it was ("" if none): their
	// enrolment went with it.
	Customer string
}

// Forget deletes the identity id (or the one it was merged into) with all
// its data: exemplars, history, visit log, and an enrolled customer's
// enrolment. ok is false if there is none. The records are gone at once;
// the file's free pages are overwritten by the next compaction (Compact,
// and every maintenance pass).
func (s *Service) Forget(id string) (Forgotten, bool, error) {
	return s.forgetting("forgetting "+id, func(tx *store.Tx) (Forgotten, bool, error) {
		now, err := tx.Resolve(id)
		if err != nil {
			return Forgotten{}, false, err
		}
		return forget(tx, now)
	})
}

// forgetting runs one way of forgetting (who chooses whom, and deletes
// them) in one transaction, and drops whom it deleted from memory; what
// names it in errors.
func (s *Service) forgetting(what string, who func(*store.Tx) (Forgotten, bool, error)) (Forgotten, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		f  Forgotten
		ok bool
	)
	err := s.st.Update(func(tx *store.Tx) error {
		var err error
		f, ok, err = who(tx)
		return err
	})
	if err != nil {
		return Forgotten{}, false, fmt.Errorf("%s: %w", what, err)
	}
	if ok {
		s.unload(f.ID)
	}
	return f, ok, nil
}

// forget deletes identity id with all its data and says what was kept
// (ok is false if there is no such identity). Forget and RemoveCustomer
// share it, so that forgetting reports the same whoever asks.
func forget(tx *store.Tx, id string) (f Forgotten, ok bool, err error) {
	f.ID = id
	rec, found, err := tx.Identity(id)
	if err != nil || !found {
		return f, false, err
	}
	logged, err := tx.VisitsOf(id)
	if err != nil {
		return f, false, err
	}
	f.Visits, f.Days, f.Logged, f.Customer = rec.Visits, rec.TotalDays, len(logged), rec.Customer
	ok, err = tx.DeleteIdentity(id)
	return f, ok, err
}
