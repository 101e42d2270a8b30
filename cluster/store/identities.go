package store

import (
	"errors"
	"fmt"
	"time"
)

// Identities are stored under their ids. The last-seen index orders them
// for retention and eviction: its entries carry flags, so that eviction
// can choose without decoding identities.

// Flags of the last-seen index.
const (
	seenEverRegular = 1 << iota
	seenEnrolled
)

func seenFlags(rec Identity) byte {
	var f byte
	if rec.EverRegular {
		f |= seenEverRegular
	}
	if rec.Customer != "" {
		f |= seenEnrolled
	}
	return f
}

// identityOf decodes the identity opened from under key k.
func identityOf(k, p []byte) (Identity, error) {
	rec, err := decodeIdentity(p)
	if err != nil {
		return Identity{}, fmt.Errorf("identity %s: %w", printable(k), err)
	}
	return rec, nil
}

// identityAt returns the identity stored under k and its record's size
// (0 if there is none).
func (tx *Tx) identityAt(k []byte) (Identity, int64, error) {
	p, size, err := tx.get(bIdentities, k)
	if err != nil || p == nil {
		return Identity{}, 0, err
	}
	rec, err := identityOf(k, p)
	return rec, size, err
}

// Identity returns the identity with id.
func (tx *Tx) Identity(id string) (Identity, bool, error) {
	rec, size, err := tx.identityAt([]byte(id))
	if err != nil || size == 0 {
		return Identity{}, false, err
	}
	return rec, true, nil
}

// PutIdentity writes id (a new one or a new version), keeping the indexes
// and counters right.
func (tx *Tx) PutIdentity(rec Identity) error {
	if rec.ID == "" {
		return errors.New("identity without id")
	}
	k := []byte(rec.ID)
	prev, old, err := tx.identityAt(k)
	if err != nil {
		return err
	}
	if old > 0 {
		if err := tx.deleteSeen(prev); err != nil {
			return err
		}
	} else if err := tx.addCounter(kIdentities, 1); err != nil {
		return err
	}
	if err := tx.putSeen(rec); err != nil {
		return err
	}
	return tx.put(bIdentities, k, encodeIdentity(rec), old)
}

// DeleteIdentity deletes an identity with everything of it: its visit log,
// its place in maintenance's to-do list, the aliases that led to it, and
// its enrolment if it was a customer's.
func (tx *Tx) DeleteIdentity(id string) (bool, error) {
	k := []byte(id)
	rec, freed, err := tx.identityAt(k)
	if err != nil || freed == 0 {
		return false, err
	}
	if err := tx.tx.Bucket(bIdentities).Delete(k); err != nil {
		return false, err
	}
	if err := tx.deleteSeen(rec); err != nil {
		return false, err
	}
	if err := tx.ClearDirty(id); err != nil {
		return false, err
	}
	n, err := tx.deleteVisits(tx.visitsOf(id))
	if err != nil {
		return false, err
	}
	freed += n
	// Aliases that led to it go too (they are few: one per merge).
	n, err = tx.deleteAliases(id)
	if err != nil {
		return false, err
	}
	freed += n
	if rec.Customer != "" {
		n, err := tx.deleteCustomer(rec.Customer)
		if err != nil {
			return false, err
		}
		freed += n
	}
	if err := tx.addCounter(kIdentities, -1); err != nil {
		return false, err
	}
	return true, tx.addCounter(kBytes, -freed)
}

// ForEachIdentity calls fn for every identity, in id order.
func (tx *Tx) ForEachIdentity(fn func(Identity) error) error {
	return tx.each(bIdentities, func(k, p []byte) error {
		rec, err := identityOf(k, p)
		if err != nil {
			return err
		}
		return fn(rec)
	})
}

// BySeen calls fn with every identity id from the least recently seen,
// with its last-seen time and whether it was ever a regular, until fn
// returns false. In an encrypted store the order is by day only (the
// exact times are sealed): identities last seen on one day come in no
// particular order.
func (tx *Tx) BySeen(fn func(id string, lastSeen time.Time, everRegular bool) (bool, error)) error {
	return tx.eachSeen(func(id string, t time.Time, flags byte) (bool, error) {
		return fn(id, t, flags&seenEverRegular != 0)
	})
}

// seenKeyOf is the last-seen index key of identity id last seen at t.
func (tx *Tx) seenKeyOf(t time.Time, id string) []byte { return tx.s.keys.seenKey(t, id) }

// putSeen adds an identity's last-seen index entry. The index is not a
// record: its size is not counted.
func (tx *Tx) putSeen(rec Identity) error {
	k := tx.seenKeyOf(rec.LastSeen, rec.ID)
	_, err := tx.set(bSeen, k, tx.s.keys.seenValue(rec.LastSeen, rec.ID, seenFlags(rec)))
	return err
}

func (tx *Tx) deleteSeen(rec Identity) error {
	return tx.tx.Bucket(bSeen).Delete(tx.seenKeyOf(rec.LastSeen, rec.ID))
}

// seenEntry reads the last-seen index entry stored under k.
func (tx *Tx) seenEntry(k, v []byte) (id string, t time.Time, flags byte, err error) {
	p, err := tx.open(bSeen, k, v)
	if err != nil {
		return "", time.Time{}, 0, err
	}
	b, t, flags, err := tx.s.keys.seen(k, p)
	return string(b), t, flags, err
}

// eachSeen calls fn with the last-seen index entries in key order, until
// fn returns false.
func (tx *Tx) eachSeen(fn func(id string, t time.Time, flags byte) (bool, error)) error {
	c := tx.tx.Bucket(bSeen).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		id, t, flags, err := tx.seenEntry(k, v)
		if err != nil {
			return err
		}
		more, err := fn(id, t, flags)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
