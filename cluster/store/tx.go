package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// name is the stored key of a record whose natural key is logical: the
// natural key itself in a plain store, a keyed hash in an encrypted one
// (for the buckets whose natural keys tell something).
func (tx *Tx) name(bucket []byte, logical string) []byte {
	if tx.s.key == nil {
		return []byte(logical)
	}
	return tx.s.key.name(bucket, []byte(logical))
}

// get returns the value of a record, opened (nil if there is none).
func (tx *Tx) get(bucket, k []byte) ([]byte, int, error) {
	v := tx.tx.Bucket(bucket).Get(k)
	if v == nil {
		return nil, 0, nil
	}
	p, err := tx.open(bucket, k, v)
	return p, len(v), err
}

// open opens a stored value (as it is in a plain store).
func (tx *Tx) open(bucket, k, v []byte) ([]byte, error) {
	if tx.s.key == nil {
		return v, nil
	}
	p, err := tx.s.key.open(bucket, k, v)
	if err != nil {
		return nil, &AuthError{Dir: tx.s.dir, Bucket: string(bucket), Key: printable(k)}
	}
	return p, nil
}

// set stores a record's value, sealed in an encrypted store, and returns
// its stored size.
func (tx *Tx) set(bucket, k, plain []byte) (int, error) {
	v := plain
	if tx.s.key != nil {
		v = tx.s.key.seal(bucket, k, plain)
	}
	return len(v), tx.tx.Bucket(bucket).Put(k, v)
}

// Identity returns the identity with id.
func (tx *Tx) Identity(id string) (Identity, bool, error) {
	v, _, err := tx.get(bIdentities, []byte(id))
	if err != nil || v == nil {
		return Identity{}, false, err
	}
	rec, err := decodeIdentity(v)
	if err != nil {
		return Identity{}, false, fmt.Errorf("identity %s: %w", id, err)
	}
	return rec, true, nil
}

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

// seenKey is a plain store's last-seen index key: the time, then the id.
func seenKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

// dayOf is t's UTC day number.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

// sealedSeen is an encrypted store's last-seen index entry: only the day
// is in the clear (retention needs the order), then a keyed hash of the
// id; the exact time, the flags and the id are sealed.
func sealedSeen(key *Key, t time.Time, id string, flags byte) (k, v []byte) {
	k = binary.BigEndian.AppendUint32(nil, uint32(dayOf(t)+1<<31))
	k = append(k, key.name(bSeen, []byte(id))[:8]...)
	p := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	p = append(p, flags)
	p = append(p, id...)
	return k, key.seal(bSeen, k, p)
}

func (tx *Tx) seenKeyOf(t time.Time, id string) []byte {
	if tx.s.key == nil {
		return seenKey(t, id)
	}
	k, _ := sealedSeen(tx.s.key, t, id, 0)
	return k
}

func (tx *Tx) putSeen(rec Identity) error {
	if tx.s.key == nil {
		return tx.tx.Bucket(bSeen).Put(seenKey(rec.LastSeen, rec.ID), []byte{seenFlags(rec)})
	}
	k, v := sealedSeen(tx.s.key, rec.LastSeen, rec.ID, seenFlags(rec))
	return tx.tx.Bucket(bSeen).Put(k, v)
}

func (tx *Tx) deleteSeen(rec Identity) error {
	return tx.tx.Bucket(bSeen).Delete(tx.seenKeyOf(rec.LastSeen, rec.ID))
}

// eachSeen calls fn with the last-seen index entries in key order, until
// fn returns false.
func (tx *Tx) eachSeen(fn func(id string, t time.Time, flags byte) (bool, error)) error {
	c := tx.tx.Bucket(bSeen).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var (
			id    string
			t     time.Time
			flags byte
		)
		if tx.s.key == nil {
			if len(k) < 8 {
				return fmt.Errorf("seen index: bad key %x", k)
			}
			t = time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()
			id = string(k[8:])
			if len(v) > 0 {
				flags = v[0]
			}
		} else {
			p, err := tx.open(bSeen, k, v)
			if err != nil {
				return err
			}
			if len(p) < 9 {
				return fmt.Errorf("seen index: bad entry %x", k)
			}
			t = time.Unix(0, int64(binary.BigEndian.Uint64(p))).UTC()
			flags, id = p[8], string(p[9:])
		}
		more, err := fn(id, t, flags)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// PutIdentity writes id (a new one or a new version), keeping the indexes
// and counters right.
func (tx *Tx) PutIdentity(rec Identity) error {
	if rec.ID == "" {
		return errors.New("identity without id")
	}
	key := []byte(rec.ID)
	old, oldSize, err := tx.get(bIdentities, key)
	if err != nil {
		return err
	}
	delta := int64(0)
	if old != nil {
		prev, err := decodeIdentity(old)
		if err != nil {
			return fmt.Errorf("identity %s: %w", rec.ID, err)
		}
		delta -= int64(len(key) + oldSize)
		if err := tx.deleteSeen(prev); err != nil {
			return err
		}
	} else if err := tx.addCounter(kIdentities, 1); err != nil {
		return err
	}
	n, err := tx.set(bIdentities, key, encodeIdentity(rec))
	if err != nil {
		return err
	}
	delta += int64(len(key) + n)
	if err := tx.putSeen(rec); err != nil {
		return err
	}
	return tx.addCounter(kBytes, delta)
}

// DeleteIdentity deletes an identity with everything of it: its visit log,
// its place in maintenance's to-do list, the aliases that led to it, and
// its enrolment if it was a customer's.
func (tx *Tx) DeleteIdentity(id string) (bool, error) {
	old, oldSize, err := tx.get(bIdentities, []byte(id))
	if err != nil || old == nil {
		return false, err
	}
	rec, err := decodeIdentity(old)
	if err != nil {
		return false, fmt.Errorf("identity %s: %w", id, err)
	}
	freed := int64(len(id) + oldSize)
	if err := tx.tx.Bucket(bIdentities).Delete([]byte(id)); err != nil {
		return false, err
	}
	if err := tx.deleteSeen(rec); err != nil {
		return false, err
	}
	if err := tx.tx.Bucket(bDirty).Delete([]byte(id)); err != nil {
		return false, err
	}
	for _, k := range tx.visitsOf(id) {
		n, err := tx.deleteVisit(k)
		if err != nil {
			return false, err
		}
		freed += n
	}
	// Aliases pointing at it go too (they are few: one per merge).
	ab := tx.tx.Bucket(bAliases)
	var dead [][]byte
	if err := ab.ForEach(func(k, v []byte) error {
		p, err := tx.open(bAliases, k, v)
		if err != nil {
			return err
		}
		if string(aliasTarget(p)) == id {
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
	return tx.tx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
		p, err := tx.open(bIdentities, k, v)
		if err != nil {
			return err
		}
		rec, err := decodeIdentity(p)
		if err != nil {
			return fmt.Errorf("identity %s: %w", k, err)
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

// Visit returns the log record of a decided visit.
func (tx *Tx) Visit(id string) (Visit, bool, error) {
	return tx.visitAt(tx.name(bVisits, id))
}

// visitAt returns the visit stored under key k.
func (tx *Tx) visitAt(k []byte) (Visit, bool, error) {
	v, _, err := tx.get(bVisits, k)
	if err != nil || v == nil {
		return Visit{}, false, err
	}
	rec, err := decodeVisit(v)
	if err != nil {
		return Visit{}, false, fmt.Errorf("visit %s: %w", printable(k), err)
	}
	return rec, true, nil
}

// byIdentityPrefix starts the by-identity keys of an identity.
func (tx *Tx) byIdentityPrefix(identity string) []byte {
	if tx.s.key == nil {
		return append([]byte(identity), 0)
	}
	return tx.s.key.name(bByIdentity, []byte(identity))
}

// byIdentityKey is the by-identity index key of a visit stored under vk.
func (tx *Tx) byIdentityKey(identity string, vk []byte) []byte {
	return append(tx.byIdentityPrefix(identity), vk...)
}

// PutVisit logs a decided visit.
func (tx *Tx) PutVisit(v Visit) error {
	if v.ID == "" {
		return errors.New("visit without id")
	}
	key := tx.name(bVisits, v.ID)
	old, oldSize, err := tx.get(bVisits, key)
	if err != nil {
		return err
	}
	delta := int64(0)
	if old != nil {
		prev, err := decodeVisit(old)
		if err != nil {
			return fmt.Errorf("visit %s: %w", v.ID, err)
		}
		delta -= int64(len(key) + oldSize)
		if prev.Identity != "" {
			if err := tx.tx.Bucket(bByIdentity).Delete(tx.byIdentityKey(prev.Identity, key)); err != nil {
				return err
			}
		}
	}
	n, err := tx.set(bVisits, key, encodeVisit(v))
	if err != nil {
		return err
	}
	delta += int64(len(key) + n)
	if v.Identity != "" {
		if err := tx.tx.Bucket(bByIdentity).Put(tx.byIdentityKey(v.Identity, key), nil); err != nil {
			return err
		}
	}
	return tx.addCounter(kBytes, delta)
}

// visitsOf lists the stored keys of an identity's logged visits.
func (tx *Tx) visitsOf(identity string) [][]byte {
	prefix := tx.byIdentityPrefix(identity)
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
		v, ok, err := tx.visitAt(k)
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
	var keys [][]byte
	if visits == nil {
		keys = tx.visitsOf(from)
	}
	for _, id := range visits {
		keys = append(keys, tx.name(bVisits, id))
	}
	for _, k := range keys {
		v, ok, err := tx.visitAt(k)
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

// deleteVisit deletes the visit stored under k and returns the bytes
// freed.
func (tx *Tx) deleteVisit(k []byte) (int64, error) {
	old, oldSize, err := tx.get(bVisits, k)
	if err != nil || old == nil {
		return 0, err
	}
	v, err := decodeVisit(old)
	if err != nil {
		return 0, fmt.Errorf("visit %s: %w", printable(k), err)
	}
	if err := tx.tx.Bucket(bVisits).Delete(k); err != nil {
		return 0, err
	}
	if v.Identity != "" {
		if err := tx.tx.Bucket(bByIdentity).Delete(tx.byIdentityKey(v.Identity, k)); err != nil {
			return 0, err
		}
	}
	return int64(len(k) + oldSize), nil
}

// forEachVisit calls fn with every logged visit and its stored key, in
// key order (visit id order in a plain store, no order in an encrypted
// one).
func (tx *Tx) forEachVisit(fn func(k []byte, v Visit) error) error {
	return tx.tx.Bucket(bVisits).ForEach(func(k, v []byte) error {
		p, err := tx.open(bVisits, k, v)
		if err != nil {
			return err
		}
		rec, err := decodeVisit(p)
		if err != nil {
			return fmt.Errorf("visit %s: %w", printable(k), err)
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
	var freed int64
	for _, k := range dead {
		n, err := tx.deleteVisit(k)
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
	var freed int64
	n := 0
	for _, k := range tx.visitsOf(identity) {
		v, ok, err := tx.visitAt(k)
		if err != nil {
			return 0, err
		}
		if ok && v.Time.Before(before) {
			b, err := tx.deleteVisit(k)
			if err != nil {
				return 0, err
			}
			freed += b
			n++
		}
	}
	return n, tx.addCounter(kBytes, -freed)
}

// getJSON reads a named JSON record (staff, customers) into dst.
func (tx *Tx) getJSON(bucket []byte, name string, dst any) (bool, error) {
	v, _, err := tx.get(bucket, tx.name(bucket, name))
	if err != nil || v == nil {
		return false, err
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return false, fmt.Errorf("%s %s: %w", bucket, name, err)
	}
	return true, nil
}

// putJSON writes a named JSON record.
func (tx *Tx) putJSON(bucket []byte, name string, rec any) error {
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	k := tx.name(bucket, name)
	delta := int64(0)
	if old := tx.tx.Bucket(bucket).Get(k); old != nil {
		delta -= int64(len(k) + len(old))
	}
	n, err := tx.set(bucket, k, val)
	if err != nil {
		return err
	}
	return tx.addCounter(kBytes, delta+int64(len(k)+n))
}

// deleteNamed deletes a named record and returns the bytes freed.
func (tx *Tx) deleteNamed(bucket []byte, name string) (int64, error) {
	k := tx.name(bucket, name)
	b := tx.tx.Bucket(bucket)
	old := b.Get(k)
	if old == nil {
		return 0, nil
	}
	n := int64(len(k) + len(old))
	return n, b.Delete(k)
}

// eachJSON decodes every record of a named bucket with decode, in name
// order: an encrypted store's keys are hashes, so its records are sorted
// after decoding (they are few).
func eachJSON[T any](tx *Tx, bucket []byte, nameOf func(T) string, fn func(T) error) error {
	var all []T
	err := tx.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		p, err := tx.open(bucket, k, v)
		if err != nil {
			return err
		}
		var rec T
		if err := json.Unmarshal(p, &rec); err != nil {
			return fmt.Errorf("%s %s: %w", bucket, printable(k), err)
		}
		if tx.s.key == nil {
			return fn(rec)
		}
		all = append(all, rec)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b T) int { return strings.Compare(nameOf(a), nameOf(b)) })
	for _, rec := range all {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// Staff returns a staff member by name.
func (tx *Tx) Staff(name string) (Staff, bool, error) {
	var s Staff
	ok, err := tx.getJSON(bStaff, name, &s)
	return s, ok, err
}

// PutStaff adds or replaces a staff member.
func (tx *Tx) PutStaff(s Staff) error {
	if s.Name == "" {
		return errors.New("staff member without a name")
	}
	return tx.putJSON(bStaff, s.Name, s)
}

// DeleteStaff removes a staff member.
func (tx *Tx) DeleteStaff(name string) (bool, error) {
	n, err := tx.deleteNamed(bStaff, name)
	if err != nil || n == 0 {
		return false, err
	}
	return true, tx.addCounter(kBytes, -n)
}

// ForEachStaff calls fn for every staff member, by name.
func (tx *Tx) ForEachStaff(fn func(Staff) error) error {
	return eachJSON(tx, bStaff, func(s Staff) string { return s.Name }, fn)
}

// StaffCount is the number of staff members.
func (tx *Tx) StaffCount() int { return count(tx.tx.Bucket(bStaff)) }

// Customer returns an enrolled customer by name.
func (tx *Tx) Customer(name string) (Customer, bool, error) {
	var c Customer
	ok, err := tx.getJSON(bCustomers, name, &c)
	return c, ok, err
}

// PutCustomer adds or replaces an enrolled customer. Their identity must
// exist and carry their name.
func (tx *Tx) PutCustomer(c Customer) error {
	if c.Name == "" {
		return errors.New("customer without a name")
	}
	rec, ok, err := tx.Identity(c.Identity)
	if err != nil {
		return err
	}
	if !ok || rec.Customer != c.Name {
		return fmt.Errorf("customer %s: identity %q is not theirs", c.Name, c.Identity)
	}
	return tx.putJSON(bCustomers, c.Name, c)
}

// DeleteCustomer deletes an enrolled customer with everything of them:
// their enrolment, their identity, its visit log. false if there is no
// customer of that name.
func (tx *Tx) DeleteCustomer(name string) (bool, error) {
	c, ok, err := tx.Customer(name)
	if err != nil || !ok {
		return false, err
	}
	if gone, err := tx.DeleteIdentity(c.Identity); err != nil || gone {
		return gone, err
	}
	// No identity (it cannot happen; be thorough all the same).
	n, err := tx.deleteCustomer(name)
	if err != nil {
		return false, err
	}
	return true, tx.addCounter(kBytes, -n)
}

// deleteCustomer deletes a customer's enrolment record (DeleteIdentity
// calls it: a customer goes with their identity) and returns the bytes
// freed.
func (tx *Tx) deleteCustomer(name string) (int64, error) {
	return tx.deleteNamed(bCustomers, name)
}

// ForEachCustomer calls fn for every enrolled customer, by name.
func (tx *Tx) ForEachCustomer(fn func(Customer) error) error {
	return eachJSON(tx, bCustomers, func(c Customer) string { return c.Name }, fn)
}

// CustomerCount is the number of enrolled customers.
func (tx *Tx) CustomerCount() int { return count(tx.tx.Bucket(bCustomers)) }

// SetMode records the store's mode.
func (tx *Tx) SetMode(m Mode) error {
	if _, err := ParseMode(string(m)); err != nil {
		return err
	}
	if !tx.metaChanged {
		tx.meta = tx.s.Meta()
	}
	tx.meta.Mode = m
	tx.metaChanged = true
	return nil
}

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

// eachAlias calls fn with every alias: its key, its opened value.
func (tx *Tx) eachAlias(fn func(k, v []byte) error) error {
	return tx.tx.Bucket(bAliases).ForEach(func(k, v []byte) error {
		p, err := tx.open(bAliases, k, v)
		if err != nil {
			return err
		}
		return fn(k, p)
	})
}

// PutAlias records that identity from was merged into to at time at, so
// that the old id still finds its visitor (forget --visitor OLD).
func (tx *Tx) PutAlias(from, to string, at time.Time) error {
	b := tx.tx.Bucket(bAliases)
	// Earlier aliases that led to from now lead to to.
	var moved [][]byte
	if err := tx.eachAlias(func(k, v []byte) error {
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
		delta := int64(0)
		if old := b.Get(k); old != nil {
			delta -= int64(len(k) + len(old))
		}
		n, err := tx.set(bAliases, k, val)
		if err != nil {
			return err
		}
		if err := tx.addCounter(kBytes, delta+int64(len(k)+n)); err != nil {
			return err
		}
	}
	return nil
}

// Resolve follows merge aliases: the id under which identity id lives now
// (id itself if it was never merged away).
func (tx *Tx) Resolve(id string) (string, error) {
	v, _, err := tx.get(bAliases, []byte(id))
	if err != nil || v == nil {
		return id, err
	}
	return string(aliasTarget(v)), nil
}

// PruneAliases deletes aliases made before t.
func (tx *Tx) PruneAliases(before time.Time) error {
	b := tx.tx.Bucket(bAliases)
	var dead [][]byte
	var freed int64
	if err := tx.eachAlias(func(k, v []byte) error {
		if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < before.UnixNano() {
			dead = append(dead, bytes.Clone(k))
			freed += int64(len(k) + len(b.Get(k)))
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

// checkRecords opens and decodes every record and checks the indexes
// against them.
func (tx *Tx) checkRecords() error {
	var errs []error
	bad := func(err error) { errs = append(errs, err) }
	seen := map[string]bool{}
	customers := map[string]string{} // identity -> customer name
	n := 0
	var total int64
	if err := tx.tx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
		n++
		total += int64(len(k) + len(v))
		p, err := tx.open(bIdentities, k, v)
		if err != nil {
			bad(err)
			return nil
		}
		rec, err := decodeIdentity(p)
		if err != nil {
			bad(fmt.Errorf("identity %s: %w", k, err))
			return nil
		}
		if string(k) != rec.ID {
			bad(fmt.Errorf("identity under key %s has id %s", k, rec.ID))
		}
		if tx.tx.Bucket(bSeen).Get(tx.seenKeyOf(rec.LastSeen, rec.ID)) == nil {
			bad(fmt.Errorf("identity %s missing from the last-seen index", rec.ID))
		}
		if rec.Customer != "" {
			customers[rec.ID] = rec.Customer
		}
		seen[rec.ID] = true
		return nil
	}); err != nil {
		return err
	}
	c := tx.tx.Bucket(bSeen).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		id := ""
		switch {
		case tx.s.key == nil && len(k) >= 8:
			id = string(k[8:])
		case tx.s.key != nil:
			p, err := tx.open(bSeen, k, v)
			if err != nil {
				bad(err)
				continue
			}
			if len(p) >= 9 {
				id = string(p[9:])
			}
		}
		if !seen[id] {
			bad(fmt.Errorf("last-seen index entry %x has no identity", k))
		}
	}
	if err := tx.tx.Bucket(bVisits).ForEach(func(k, v []byte) error {
		total += int64(len(k) + len(v))
		p, err := tx.open(bVisits, k, v)
		if err != nil {
			bad(err)
			return nil
		}
		rec, err := decodeVisit(p)
		if err != nil {
			bad(fmt.Errorf("visit %s: %w", printable(k), err))
			return nil
		}
		if !bytes.Equal(k, tx.name(bVisits, rec.ID)) {
			bad(fmt.Errorf("visit under key %s has id %s", printable(k), rec.ID))
		}
		if rec.Identity != "" && !seen[rec.Identity] {
			bad(fmt.Errorf("visit %s belongs to identity %s, which does not exist", rec.ID, rec.Identity))
		}
		if rec.Identity != "" && tx.tx.Bucket(bByIdentity).Get(tx.byIdentityKey(rec.Identity, k)) == nil {
			bad(fmt.Errorf("visit %s missing from the by-identity index", rec.ID))
		}
		return nil
	}); err != nil {
		return err
	}
	named := func(bucket []byte, fn func(k, p []byte) error) {
		tx.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			total += int64(len(k) + len(v))
			p, err := tx.open(bucket, k, v)
			if err != nil {
				bad(err)
				return nil
			}
			if err := fn(k, p); err != nil {
				bad(err)
			}
			return nil
		})
	}
	named(bStaff, func(k, p []byte) error {
		var s Staff
		if err := json.Unmarshal(p, &s); err != nil {
			return fmt.Errorf("staff %s: %w", printable(k), err)
		}
		if !bytes.Equal(k, tx.name(bStaff, s.Name)) {
			return fmt.Errorf("staff member under key %s is named %s", printable(k), s.Name)
		}
		return nil
	})
	enrolled := map[string]bool{}
	named(bCustomers, func(k, p []byte) error {
		var c Customer
		if err := json.Unmarshal(p, &c); err != nil {
			return fmt.Errorf("customer %s: %w", printable(k), err)
		}
		if !bytes.Equal(k, tx.name(bCustomers, c.Name)) {
			return fmt.Errorf("customer under key %s is named %s", printable(k), c.Name)
		}
		if customers[c.Identity] != c.Name {
			return fmt.Errorf("customer %s: identity %s is not theirs", c.Name, c.Identity)
		}
		enrolled[c.Identity] = true
		return nil
	})
	for id, name := range customers {
		if !enrolled[id] {
			bad(fmt.Errorf("identity %s belongs to customer %s, who is not enrolled", id, name))
		}
	}
	named(bAliases, func(k, p []byte) error { return nil })
	if c := tx.Count(); c != n {
		bad(fmt.Errorf("identity count %d, but %d identities", c, n))
	}
	if b := tx.Bytes(); b != total {
		bad(fmt.Errorf("byte count %d, but records take %d", b, total))
	}
	if len(errs) > 0 {
		return fmt.Errorf("identity store %s is inconsistent: %w", tx.s.dir, errors.Join(errs...))
	}
	return nil
}
