package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction on the store. It must not be used after the function
// given to View or Update returns.
type Tx struct {
	tx          *bolt.Tx
	s           *Store
	meta        Meta
	metaChanged bool
}

// Meta is the store's description as of this transaction.
func (tx *Tx) Meta() Meta {
	if tx.metaChanged {
		return tx.meta
	}
	return tx.s.Meta()
}

// SetMaintained records the local day of the last completed maintenance.
func (tx *Tx) SetMaintained(day int32) {
	if !tx.metaChanged {
		tx.meta = tx.s.Meta()
	}
	tx.meta.Maintained = day
	tx.metaChanged = true
}

// Limits are the store's bounds.
func (tx *Tx) Limits() Limits { return tx.s.limits }

func (tx *Tx) counter(key []byte) int64 {
	return int64(u64(tx.tx.Bucket(bMeta).Get(key)))
}

func (tx *Tx) addCounter(key []byte, delta int64) error {
	v := tx.counter(key) + delta
	if v < 0 {
		v = 0
	}
	return tx.tx.Bucket(bMeta).Put(key, be64(uint64(v)))
}

// Bytes is the size of the records, as counted against Limits.MaxBytes.
func (tx *Tx) Bytes() int64 { return tx.counter(kBytes) }

// Count is the number of identities.
func (tx *Tx) Count() int { return int(tx.counter(kIdentities)) }

// NewID returns a fresh identity id: never one given before, even to an
// identity since deleted.
func (tx *Tx) NewID() (string, error) {
	n := tx.counter(kNext) + 1
	if err := tx.tx.Bucket(bMeta).Put(kNext, be64(uint64(n))); err != nil {
		return "", err
	}
	return fmt.Sprintf("p%06d", n), nil
}

// Identity returns the identity with id.
func (tx *Tx) Identity(id string) (Identity, bool, error) {
	v := tx.tx.Bucket(bIdentities).Get([]byte(id))
	if v == nil {
		return Identity{}, false, nil
	}
	rec, err := decodeIdentity(v)
	if err != nil {
		return Identity{}, false, fmt.Errorf("identity %s: %w", id, err)
	}
	return rec, true, nil
}

func seenKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

// PutIdentity writes id (a new one or a new version), keeping the indexes
// and counters right.
func (tx *Tx) PutIdentity(rec Identity) error {
	if rec.ID == "" {
		return errors.New("identity without id")
	}
	b := tx.tx.Bucket(bIdentities)
	key := []byte(rec.ID)
	val := encodeIdentity(rec)
	delta := int64(len(key) + len(val))
	if old := b.Get(key); old != nil {
		prev, err := decodeIdentity(old)
		if err != nil {
			return fmt.Errorf("identity %s: %w", rec.ID, err)
		}
		delta -= int64(len(key) + len(old))
		if err := tx.tx.Bucket(bSeen).Delete(seenKey(prev.LastSeen, prev.ID)); err != nil {
			return err
		}
	} else if err := tx.addCounter(kIdentities, 1); err != nil {
		return err
	}
	if err := b.Put(key, val); err != nil {
		return err
	}
	flag := []byte{0}
	if rec.EverRegular {
		flag[0] = 1
	}
	if err := tx.tx.Bucket(bSeen).Put(seenKey(rec.LastSeen, rec.ID), flag); err != nil {
		return err
	}
	return tx.addCounter(kBytes, delta)
}

// DeleteIdentity deletes an identity with everything of it: its visit log,
// its place in maintenance's to-do list, and the aliases that led to it.
func (tx *Tx) DeleteIdentity(id string) (bool, error) {
	b := tx.tx.Bucket(bIdentities)
	old := b.Get([]byte(id))
	if old == nil {
		return false, nil
	}
	rec, err := decodeIdentity(old)
	if err != nil {
		return false, fmt.Errorf("identity %s: %w", id, err)
	}
	freed := int64(len(id) + len(old))
	if err := b.Delete([]byte(id)); err != nil {
		return false, err
	}
	if err := tx.tx.Bucket(bSeen).Delete(seenKey(rec.LastSeen, id)); err != nil {
		return false, err
	}
	if err := tx.tx.Bucket(bDirty).Delete([]byte(id)); err != nil {
		return false, err
	}
	visits, err := tx.visitsOf(id)
	if err != nil {
		return false, err
	}
	for _, v := range visits {
		n, err := tx.deleteVisit(v)
		if err != nil {
			return false, err
		}
		freed += n
	}
	// Aliases pointing at it go too (they are few: one per merge).
	ab := tx.tx.Bucket(bAliases)
	var dead [][]byte
	if err := ab.ForEach(func(k, v []byte) error {
		if string(aliasTarget(v)) == id {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return false, err
	}
	for _, k := range dead {
		freed += int64(len(k) + len(ab.Get(k)))
		if err := ab.Delete(k); err != nil {
			return false, err
		}
	}
	if err := tx.addCounter(kIdentities, -1); err != nil {
		return false, err
	}
	return true, tx.addCounter(kBytes, -freed)
}

// ForEachIdentity calls fn for every identity, in id order.
func (tx *Tx) ForEachIdentity(fn func(Identity) error) error {
	return tx.tx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
		rec, err := decodeIdentity(v)
		if err != nil {
			return fmt.Errorf("identity %s: %w", k, err)
		}
		return fn(rec)
	})
}

// BySeen calls fn with every identity id from the least recently seen,
// with its last-seen time and whether it was ever a regular, until fn
// returns false.
func (tx *Tx) BySeen(fn func(id string, lastSeen time.Time, everRegular bool) (bool, error)) error {
	c := tx.tx.Bucket(bSeen).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) < 8 {
			return fmt.Errorf("seen index: bad key %x", k)
		}
		t := time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()
		more, err := fn(string(k[8:]), t, len(v) > 0 && v[0] == 1)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Visit returns the log record of a decided visit.
func (tx *Tx) Visit(id string) (Visit, bool, error) {
	v := tx.tx.Bucket(bVisits).Get([]byte(id))
	if v == nil {
		return Visit{}, false, nil
	}
	rec, err := decodeVisit(v)
	if err != nil {
		return Visit{}, false, fmt.Errorf("visit %s: %w", id, err)
	}
	return rec, true, nil
}

func byIdentityKey(identity, visit string) []byte {
	k := make([]byte, 0, len(identity)+1+len(visit))
	k = append(k, identity...)
	k = append(k, 0)
	return append(k, visit...)
}

// PutVisit logs a decided visit.
func (tx *Tx) PutVisit(v Visit) error {
	if v.ID == "" {
		return errors.New("visit without id")
	}
	b := tx.tx.Bucket(bVisits)
	key := []byte(v.ID)
	val := encodeVisit(v)
	delta := int64(len(key) + len(val))
	if old := b.Get(key); old != nil {
		prev, err := decodeVisit(old)
		if err != nil {
			return fmt.Errorf("visit %s: %w", v.ID, err)
		}
		delta -= int64(len(key) + len(old))
		if prev.Identity != "" {
			if err := tx.tx.Bucket(bByIdentity).Delete(byIdentityKey(prev.Identity, v.ID)); err != nil {
				return err
			}
		}
	}
	if err := b.Put(key, val); err != nil {
		return err
	}
	if v.Identity != "" {
		if err := tx.tx.Bucket(bByIdentity).Put(byIdentityKey(v.Identity, v.ID), nil); err != nil {
			return err
		}
	}
	return tx.addCounter(kBytes, delta)
}

func (tx *Tx) visitsOf(identity string) ([]string, error) {
	prefix := append([]byte(identity), 0)
	var out []string
	c := tx.tx.Bucket(bByIdentity).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out, nil
}

// VisitsOf lists the logged visits of an identity.
func (tx *Tx) VisitsOf(identity string) ([]Visit, error) {
	ids, err := tx.visitsOf(identity)
	if err != nil {
		return nil, err
	}
	out := make([]Visit, 0, len(ids))
	for _, id := range ids {
		v, ok, err := tx.Visit(id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// MoveVisits re-attaches logged visits (all of from's when visits is nil)
// to identity to: after a merge or a split.
func (tx *Tx) MoveVisits(from, to string, visits []string) error {
	if visits == nil {
		var err error
		if visits, err = tx.visitsOf(from); err != nil {
			return err
		}
	}
	for _, id := range visits {
		v, ok, err := tx.Visit(id)
		if err != nil {
			return err
		}
		if !ok || v.Identity != from {
			continue
		}
		v.Identity = to
		if err := tx.PutVisit(v); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) deleteVisit(id string) (int64, error) {
	b := tx.tx.Bucket(bVisits)
	old := b.Get([]byte(id))
	if old == nil {
		return 0, nil
	}
	v, err := decodeVisit(old)
	if err != nil {
		return 0, fmt.Errorf("visit %s: %w", id, err)
	}
	n := int64(len(id) + len(old))
	if err := b.Delete([]byte(id)); err != nil {
		return 0, err
	}
	if v.Identity != "" {
		if err := tx.tx.Bucket(bByIdentity).Delete(byIdentityKey(v.Identity, id)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// ForEachVisit calls fn for every logged visit, in id order.
func (tx *Tx) ForEachVisit(fn func(Visit) error) error {
	return tx.tx.Bucket(bVisits).ForEach(func(k, v []byte) error {
		rec, err := decodeVisit(v)
		if err != nil {
			return fmt.Errorf("visit %s: %w", k, err)
		}
		return fn(rec)
	})
}

// Visits is the number of logged visits.
func (tx *Tx) Visits() int { return count(tx.tx.Bucket(bVisits)) }

// PruneVisits deletes logged visits older than before and returns how many.
func (tx *Tx) PruneVisits(before time.Time) (int, error) {
	var dead []string
	if err := tx.ForEachVisit(func(v Visit) error {
		if v.Time.Before(before) {
			dead = append(dead, v.ID)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	var freed int64
	for _, id := range dead {
		n, err := tx.deleteVisit(id)
		if err != nil {
			return 0, err
		}
		freed += n
	}
	return len(dead), tx.addCounter(kBytes, -freed)
}

// PruneVisitsOf deletes the logged visits of one identity older than
// before, and returns how many.
func (tx *Tx) PruneVisitsOf(identity string, before time.Time) (int, error) {
	vs, err := tx.VisitsOf(identity)
	if err != nil {
		return 0, err
	}
	var freed int64
	n := 0
	for _, v := range vs {
		if v.Time.Before(before) {
			b, err := tx.deleteVisit(v.ID)
			if err != nil {
				return 0, err
			}
			freed += b
			n++
		}
	}
	return n, tx.addCounter(kBytes, -freed)
}

// Staff returns a staff member by name.
func (tx *Tx) Staff(name string) (Staff, bool, error) {
	v := tx.tx.Bucket(bStaff).Get([]byte(name))
	if v == nil {
		return Staff{}, false, nil
	}
	var s Staff
	if err := json.Unmarshal(v, &s); err != nil {
		return Staff{}, false, fmt.Errorf("staff %s: %w", name, err)
	}
	return s, true, nil
}

// PutStaff adds or replaces a staff member.
func (tx *Tx) PutStaff(s Staff) error {
	if s.Name == "" {
		return errors.New("staff member without a name")
	}
	b := tx.tx.Bucket(bStaff)
	val, err := json.Marshal(s)
	if err != nil {
		return err
	}
	delta := int64(len(s.Name) + len(val))
	if old := b.Get([]byte(s.Name)); old != nil {
		delta -= int64(len(s.Name) + len(old))
	}
	if err := b.Put([]byte(s.Name), val); err != nil {
		return err
	}
	return tx.addCounter(kBytes, delta)
}

// DeleteStaff removes a staff member.
func (tx *Tx) DeleteStaff(name string) (bool, error) {
	b := tx.tx.Bucket(bStaff)
	old := b.Get([]byte(name))
	if old == nil {
		return false, nil
	}
	if err := b.Delete([]byte(name)); err != nil {
		return false, err
	}
	return true, tx.addCounter(kBytes, -int64(len(name)+len(old)))
}

// ForEachStaff calls fn for every staff member, by name.
func (tx *Tx) ForEachStaff(fn func(Staff) error) error {
	return tx.tx.Bucket(bStaff).ForEach(func(k, v []byte) error {
		var s Staff
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("staff %s: %w", k, err)
		}
		return fn(s)
	})
}

// StaffCount is the number of staff members.
func (tx *Tx) StaffCount() int { return count(tx.tx.Bucket(bStaff)) }

// count counts a bucket's keys (bbolt's Stats can lag behind changes made
// in the same transaction).
func count(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// MarkDirty puts an identity on maintenance's to-do list.
func (tx *Tx) MarkDirty(id string) error { return tx.tx.Bucket(bDirty).Put([]byte(id), nil) }

// ClearDirty takes an identity off the to-do list.
func (tx *Tx) ClearDirty(id string) error { return tx.tx.Bucket(bDirty).Delete([]byte(id)) }

// Dirty lists up to limit identities on the to-do list (all if limit <= 0).
func (tx *Tx) Dirty(limit int) []string {
	var out []string
	c := tx.tx.Bucket(bDirty).Cursor()
	for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}

func aliasTarget(v []byte) []byte {
	if len(v) < 8 {
		return v
	}
	return v[8:]
}

// PutAlias records that identity from was merged into to at time at, so
// that the old id still finds its visitor (forget --visitor OLD).
func (tx *Tx) PutAlias(from, to string, at time.Time) error {
	b := tx.tx.Bucket(bAliases)
	// Earlier aliases that led to from now lead to to.
	var moved [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if string(aliasTarget(v)) == from {
			moved = append(moved, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	val := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	val = append(val, to...)
	for _, k := range append(moved, []byte(from)) {
		delta := int64(len(k) + len(val))
		if old := b.Get(k); old != nil {
			delta -= int64(len(k) + len(old))
		}
		if err := b.Put(k, val); err != nil {
			return err
		}
		if err := tx.addCounter(kBytes, delta); err != nil {
			return err
		}
	}
	return nil
}

// Resolve follows merge aliases: the id under which identity id lives now
// (id itself if it was never merged away).
func (tx *Tx) Resolve(id string) string {
	if v := tx.tx.Bucket(bAliases).Get([]byte(id)); v != nil {
		return string(aliasTarget(v))
	}
	return id
}

// PruneAliases deletes aliases made before t.
func (tx *Tx) PruneAliases(before time.Time) error {
	b := tx.tx.Bucket(bAliases)
	var dead [][]byte
	var freed int64
	if err := b.ForEach(func(k, v []byte) error {
		if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < before.UnixNano() {
			dead = append(dead, bytes.Clone(k))
			freed += int64(len(k) + len(v))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return tx.addCounter(kBytes, -freed)
}

// checkRecords decodes every record and checks the indexes against them.
func (tx *Tx) checkRecords() error {
	var errs []error
	seen := map[string]bool{}
	n := 0
	var total int64
	if err := tx.tx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
		n++
		total += int64(len(k) + len(v))
		rec, err := decodeIdentity(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("identity %s: %w", k, err))
			return nil
		}
		if string(k) != rec.ID {
			errs = append(errs, fmt.Errorf("identity under key %s has id %s", k, rec.ID))
		}
		if tx.tx.Bucket(bSeen).Get(seenKey(rec.LastSeen, rec.ID)) == nil {
			errs = append(errs, fmt.Errorf("identity %s missing from the last-seen index", rec.ID))
		}
		seen[rec.ID] = true
		return nil
	}); err != nil {
		return err
	}
	if err := tx.tx.Bucket(bSeen).ForEach(func(k, v []byte) error {
		if len(k) < 8 || !seen[string(k[8:])] {
			errs = append(errs, fmt.Errorf("last-seen index entry %x has no identity", k))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := tx.tx.Bucket(bVisits).ForEach(func(k, v []byte) error {
		total += int64(len(k) + len(v))
		rec, err := decodeVisit(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("visit %s: %w", k, err))
			return nil
		}
		if rec.Identity != "" && !seen[rec.Identity] {
			errs = append(errs, fmt.Errorf("visit %s belongs to identity %s, which does not exist", k, rec.Identity))
		}
		if rec.Identity != "" && tx.tx.Bucket(bByIdentity).Get(byIdentityKey(rec.Identity, rec.ID)) == nil {
			errs = append(errs, fmt.Errorf("visit %s missing from the by-identity index", k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, b := range [][]byte{bStaff, bAliases} {
		tx.tx.Bucket(b).ForEach(func(k, v []byte) error {
			total += int64(len(k) + len(v))
			return nil
		})
	}
	if c := tx.Count(); c != n {
		errs = append(errs, fmt.Errorf("identity count %d, but %d identities", c, n))
	}
	if b := tx.Bytes(); b != total {
		errs = append(errs, fmt.Errorf("byte count %d, but records take %d", b, total))
	}
	if len(errs) > 0 {
		return fmt.Errorf("identity store %s is inconsistent: %w", tx.s.dir, errors.Join(errs...))
	}
	return nil
}
