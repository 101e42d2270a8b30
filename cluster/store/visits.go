package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// The visit log keeps every decided visit for the retention period, under
// its visit id (a keyed hash of it in an encrypted store). The
// by-identity index lists the visits of each identity: its keys are the
// identity's prefix, then the visit's stored key; its values are empty.

// visitOf decodes the visit opened from under key k.
func visitOf(k, p []byte) (Visit, error) {
	rec, err := decodeVisit(p)
	if err != nil {
		return Visit{}, fmt.Errorf("visit %s: %w", printable(k), err)
	}
	return rec, nil
}

// visitAt returns the visit stored under key k and its record's size (0
// if there is none).
func (tx *Tx) visitAt(k []byte) (Visit, int64, error) {
	p, size, err := tx.get(bVisits, k)
	if err != nil || p == nil {
		return Visit{}, 0, err
	}
	rec, err := visitOf(k, p)
	return rec, size, err
}

// Visit returns the log record of a decided visit.
func (tx *Tx) Visit(id string) (Visit, bool, error) {
	v, size, err := tx.visitAt(tx.name(bVisits, id))
	if err != nil || size == 0 {
		return Visit{}, false, err
	}
	return v, true, nil
}

// byIdentityKey is the by-identity index key of a visit stored under vk.
func (tx *Tx) byIdentityKey(identity string, vk []byte) []byte {
	return tx.s.keys.byIdentity(identity, vk)
}

// PutVisit logs a decided visit.
func (tx *Tx) PutVisit(v Visit) error {
	if v.ID == "" {
		return errors.New("visit without id")
	}
	k := tx.name(bVisits, v.ID)
	prev, old, err := tx.visitAt(k)
	if err != nil {
		return err
	}
	by := tx.tx.Bucket(bByIdentity)
	if old > 0 && prev.Identity != "" {
		if err := by.Delete(tx.byIdentityKey(prev.Identity, k)); err != nil {
			return err
		}
	}
	if v.Identity != "" {
		if err := by.Put(tx.byIdentityKey(v.Identity, k), nil); err != nil {
			return err
		}
	}
	return tx.put(bVisits, k, encodeVisit(v), old)
}

// visitsOf lists the stored keys of an identity's logged visits.
func (tx *Tx) visitsOf(identity string) [][]byte {
	prefix := tx.s.keys.byIdentity(identity, nil)
	var out [][]byte
	c := tx.tx.Bucket(bByIdentity).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, bytes.Clone(k[len(prefix):]))
	}
	return out
}

// VisitsOf lists the logged visits of an identity.
func (tx *Tx) VisitsOf(identity string) ([]Visit, error) {
	keys := tx.visitsOf(identity)
	out := make([]Visit, 0, len(keys))
	for _, k := range keys {
		v, size, err := tx.visitAt(k)
		if err != nil {
			return nil, err
		}
		if size > 0 {
			out = append(out, v)
		}
	}
	return out, nil
}

// MoveVisits re-attaches logged visits (all of from's when visits is nil)
// to identity to: after a merge or a split.
func (tx *Tx) MoveVisits(from, to string, visits []string) error {
	var keys [][]byte
	if visits == nil {
		keys = tx.visitsOf(from)
	}
	for _, id := range visits {
		keys = append(keys, tx.name(bVisits, id))
	}
	for _, k := range keys {
		v, size, err := tx.visitAt(k)
		if err != nil {
			return err
		}
		if size == 0 || v.Identity != from {
			continue
		}
		v.Identity = to
		if err := tx.PutVisit(v); err != nil {
			return err
		}
	}
	return nil
}

// forEachVisit calls fn with every logged visit and its stored key, in
// key order (visit id order in a plain store, no order in an encrypted
// one).
func (tx *Tx) forEachVisit(fn func(k []byte, v Visit) error) error {
	return tx.each(bVisits, func(k, p []byte) error {
		rec, err := visitOf(k, p)
		if err != nil {
			return err
		}
		return fn(k, rec)
	})
}

// ForEachVisit calls fn for every logged visit: in id order in a plain
// store, in no particular order in an encrypted one.
func (tx *Tx) ForEachVisit(fn func(Visit) error) error {
	return tx.forEachVisit(func(_ []byte, v Visit) error { return fn(v) })
}

// Visits is the number of logged visits.
func (tx *Tx) Visits() int { return count(tx.tx.Bucket(bVisits)) }

// PruneVisits deletes logged visits older than before and returns how many.
func (tx *Tx) PruneVisits(before time.Time) (int, error) {
	var dead [][]byte
	if err := tx.forEachVisit(func(k []byte, v Visit) error {
		if v.Time.Before(before) {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	freed, err := tx.deleteVisits(dead)
	if err != nil {
		return 0, err
	}
	return len(dead), tx.addCounter(kBytes, -freed)
}

// PruneVisitsOf deletes the logged visits of one identity older than
// before, and returns how many.
func (tx *Tx) PruneVisitsOf(identity string, before time.Time) (int, error) {
	var dead [][]byte
	for _, k := range tx.visitsOf(identity) {
		v, size, err := tx.visitAt(k)
		if err != nil {
			return 0, err
		}
		if size > 0 && v.Time.Before(before) {
			dead = append(dead, k)
		}
	}
	freed, err := tx.deleteVisits(dead)
	if err != nil {
		return 0, err
	}
	return len(dead), tx.addCounter(kBytes, -freed)
}

// deleteVisits deletes the visits stored under keys, with their index
// entries, and returns the bytes freed, for the caller to count.
func (tx *Tx) deleteVisits(keys [][]byte) (int64, error) {
	var freed int64
	for _, k := range keys {
		v, size, err := tx.visitAt(k)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			continue
		}
		if err := tx.tx.Bucket(bVisits).Delete(k); err != nil {
			return 0, err
		}
		if v.Identity != "" {
			if err := tx.tx.Bucket(bByIdentity).Delete(tx.byIdentityKey(v.Identity, k)); err != nil {
				return 0, err
			}
		}
		freed += size
	}
	return freed, nil
}
