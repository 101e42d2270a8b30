package identity

import (
	"context"
	"fmt"
	"slices"
	"time"

	"joren/cluster/store"
)

// Enrolment is what AddCustomer did.
type Enrolment struct {
	Customer store.Customer
	// New is set when the customer was not enrolled before (otherwise
	// the faces were added to theirs).
	New bool
	// Adopted is the visitor (counting mode) whose faces these are: their
	// history became the customer's. Visits and Days are that history.
	Adopted      string
	Visits, Days int
}

// AddCustomer enrols a customer who consented to be recognised: one
// descriptor per face, named by its source (an image file name), and a
// note (how consent was given, for instance). Faces add to those of a
// customer already enrolled under the name, the oldest dropped beyond the
// cap; the consent date is that of the first enrolment.
//
// In counting mode, a new customer whose faces match a visitor the store
// already knows becomes that visitor: their visits so far count. Faces that
// match another enrolled customer are refused (one person, one
// enrolment). Nothing is stored if anything is wrong.
func (s *Service) AddCustomer(name, note string, sources []string, descs [][]float32, now time.Time) (Enrolment, error) {
	if err := CheckCustomerName(name); err != nil {
		return Enrolment{}, err
	}
	if len(descs) == 0 || len(descs) != len(sources) {
		return Enrolment{}, fmt.Errorf("customer %s: %d faces for %d sources", name, len(descs), len(sources))
	}
	for i, d := range descs {
		if err := s.model.Check(d); err != nil {
			return Enrolment{}, fmt.Errorf("customer %s, %s: %w", name, sources[i], err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		e   Enrolment
		rec store.Identity
	)
	err := s.st.Update(func(tx *store.Tx) error {
		e = Enrolment{}
		c, ok, err := tx.Customer(name)
		if err != nil {
			return err
		}
		lim := tx.Limits()
		if ok {
			if rec, ok, err = tx.Identity(c.Identity); err != nil || !ok {
				return fmt.Errorf("customer %s has no identity %s: run `joren store check`: %v", name, c.Identity, err)
			}
		} else {
			if tx.CustomerCount() >= lim.MaxCustomers {
				return fmt.Errorf("the store already holds %d enrolled customers, the most it keeps: remove one first (joren customers remove NAME)", lim.MaxCustomers)
			}
			e.New = true
			c = store.Customer{Name: name, Consented: now.UTC()}
			// Whom do these faces show?
			q := s.sc.query(s.sc.feature(mean(descs), nil), len(descs))
			top := s.idx.top(q, 1, nil)
			prior := s.prior()
			if len(top) > 0 && top[0].llr+prior > 0 {
				known, ok, err := tx.Identity(top[0].id)
				if err != nil {
					return err
				}
				switch {
				case ok && known.Customer != "":
					return fmt.Errorf("these faces match customer %s, already enrolled: one person enrols once (add the faces to %s, or `joren customers remove %s` first)", known.Customer, known.Customer, known.Customer)
				case ok:
					rec = known
					e.Adopted, e.Visits, e.Days = rec.ID, rec.Visits, rec.TotalDays
				}
			}
			if rec.ID == "" {
				id, err := tx.NewID()
				if err != nil {
					return err
				}
				// Enrolment counts as being seen: retention runs from
				// here until the first visit.
				rec = store.Identity{ID: id, Created: now.UTC(), LastSeen: now.UTC()}
			}
			rec.Customer = name
			c.Identity = rec.ID
			if err := tx.PutIdentity(rec); err != nil {
				return err
			}
			if _, err := tx.MakeRoom(0, 0, rec.ID); err != nil {
				return err
			}
		}
		if note != "" {
			c.Note = note
		}
		c.Sources, c.Exemplars = addFaces(c.Sources, c.Exemplars, sources, descs, lim.MaxCustomerExemplars)
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		e.Customer = c
		return nil
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrolling customer %s: %w", name, err)
	}
	s.enrolled[rec.ID] = enrolExemplars(e.Customer.Exemplars)
	feat, n := s.featureOf(rec, nil)
	s.idx.put(rec.ID, feat, n)
	return e, nil
}

// RemoveCustomer deletes an enrolled customer with everything kept about
// them: enrolment, identity, visit history, visit log (consent withdrawn).
// false if there is no customer of that name. As with Forget, the file's
// free pages are overwritten by the next compaction.
func (s *Service) RemoveCustomer(name string) (Forgotten, bool, error) {
	return s.forgetting("removing customer "+name, func(tx *store.Tx) (Forgotten, bool, error) {
		c, found, err := tx.Customer(name)
		if err != nil || !found {
			return Forgotten{}, false, err
		}
		if f, ok, err := forget(tx, c.Identity); err != nil || ok {
			return f, ok, err
		}
		// An enrolment without its identity (only a damaged store has
		// one): the enrolment goes alone.
		ok, err := tx.DeleteCustomer(name)
		return Forgotten{ID: c.Identity, Customer: name}, ok, err
	})
}

// CustomerStatus is an enrolled customer and what the store knows of their
// visits.
type CustomerStatus struct {
	store.Customer
	// Visits and Days since enrolment (or since the visitor they were
	// adopted from was first seen); LastVisit is zero before the first.
	Visits, Days int
	LastVisit    time.Time
	// Regular is the status as of now.
	Regular bool
}

// Customers lists the enrolled customers, by name, as of now.
func (s *Service) Customers(now time.Time) ([]CustomerStatus, error) {
	pol := s.Policy()
	var out []CustomerStatus
	err := s.st.View(func(tx *store.Tx) error {
		return tx.ForEachCustomer(func(c store.Customer) error {
			cs := CustomerStatus{Customer: c}
			rec, ok, err := tx.Identity(c.Identity)
			if err != nil {
				return err
			}
			if ok {
				cs.Visits, cs.Days = rec.Visits, rec.TotalDays
				if rec.LastVisit != "" {
					cs.LastVisit = rec.LastSeen
				}
				cs.Regular = daysIn(rec.Days, pol.Day(now), pol) >= pol.RegularDays
			}
			out = append(out, cs)
			return nil
		})
	})
	return out, err
}

// ModeChange is what SetMode did.
type ModeChange struct {
	From, To store.Mode
	// Forgotten visitors (who had not enrolled); Customers kept.
	Forgotten, Customers int
	// FileBefore and FileAfter are the file's sizes around the
	// compaction that ends a switch to consent mode.
	FileBefore, FileAfter int64
}

// Pending says what switching to mode would do, without doing it: the
// number of visitors it would forget and of customers it keeps.
func (s *Service) Pending(mode store.Mode) (forget, keep int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep = len(s.enrolled)
	if mode == store.Consent && s.mode != store.Consent {
		forget = s.idx.len() - keep
	}
	return max(forget, 0), keep
}

// SetMode switches the store's mode. Switching to consent mode forgets
// every visitor who did not enrol, with all their data, and compacts the
// file so that nothing of them is left in it; enrolled customers and staff
// stay. Switching to counting mode keeps everything. The mode is recorded
// first: if the switch is interrupted, nobody is remembered in the
// meantime, and the next New finishes forgetting.
func (s *Service) SetMode(ctx context.Context, mode store.Mode) (ModeChange, error) {
	if _, err := store.ParseMode(string(mode)); err != nil {
		return ModeChange{}, err
	}
	s.mu.Lock()
	ch := ModeChange{From: s.mode, To: mode}
	if mode == s.mode {
		ch.Customers = len(s.enrolled)
		s.mu.Unlock()
		return ch, nil
	}
	err := s.st.Update(func(tx *store.Tx) error { return tx.SetMode(mode) })
	if err == nil {
		s.mode = mode
		if mode == store.Consent {
			// From now on nobody who did not enrol is matched, even
			// before forgetOthers has deleted them.
			for _, id := range slices.Clone(s.idx.ids) {
				if _, ok := s.enrolled[id]; !ok {
					s.idx.remove(id)
				}
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return ch, fmt.Errorf("switching identity store %s to %s mode: %w", s.st.Dir(), mode, err)
	}
	if mode == store.Consent {
		if ch.Forgotten, err = s.forgetOthers(ctx); err != nil {
			return ch, fmt.Errorf("switching identity store %s to consent mode (the store is in consent mode; forgetting resumes when it is next opened): %w", s.st.Dir(), err)
		}
		if ch.FileBefore, ch.FileAfter, err = s.st.Compact(); err != nil {
			return ch, err
		}
	}
	ch.Customers = len(s.enrolled)
	s.log.Info("identity store mode switched", "from", ch.From, "to", ch.To, "forgotten", ch.Forgotten, "customers", ch.Customers)
	return ch, nil
}

// forgetOthers deletes every identity that is not an enrolled customer's,
// a batch per transaction (memory stays bounded whatever the store's
// size), and returns how many.
func (s *Service) forgetOthers(ctx context.Context) (int, error) {
	var ids []string
	err := s.st.View(func(tx *store.Tx) error {
		return tx.ForEachIdentity(func(rec store.Identity) error {
			if rec.Customer == "" {
				ids = append(ids, rec.ID)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	const batch = 500
	total := 0
	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := min(batch, len(ids))
		s.mu.Lock()
		err := s.st.Update(func(tx *store.Tx) error {
			for _, id := range ids[:n] {
				if _, err := tx.DeleteIdentity(id); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, id := range ids[:n] {
				s.idx.remove(id)
			}
		}
		s.mu.Unlock()
		if err != nil {
			return total, err
		}
		total += n
		ids = ids[n:]
	}
	return total, nil
}

// Compact rewrites the store's file with only its live records (see
// store.Store.Compact): after forgetting someone, for instance, to be sure
// nothing of them is left in it before the next maintenance pass.
func (s *Service) Compact() (before, after int64, err error) { return s.st.Compact() }
