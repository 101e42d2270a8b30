package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction on the store. It must not be used after the function
// given to View or Update returns.
//
// Its methods are spread by concern, one file each: the identities and
// their last-seen index (identities.go), the visit log (visits.go), staff
// and customers (people.go), maintenance's to-do list (dirty.go), merge
// aliases (aliases.go), retention and eviction (evict.go) and the
// consistency check (tx_check.go). This file holds the counters and the
// record primitives they share, which go through the store's keying.
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

// SetClock records the latest time the clock was trusted at (Meta.Clock).
func (tx *Tx) SetClock(t time.Time) {
	if !tx.metaChanged {
		tx.meta = tx.s.Meta()
	}
	tx.meta.Clock = t.UTC().Round(0)
	tx.metaChanged = true
}

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

// The record primitives. A record's size is its stored key and value:
// what Limits.MaxBytes bounds and the byte counter adds up.

// name is the stored key of a visit, a staff member or a customer whose
// natural key is logical. (Identity ids are their own keys.)
func (tx *Tx) name(bucket []byte, logical string) []byte {
	return tx.s.keys.name(bucket, logical)
}

// get returns the opened value of the record stored under k and its size
// (nil and 0 if there is none).
func (tx *Tx) get(bucket, k []byte) ([]byte, int64, error) {
	v := tx.tx.Bucket(bucket).Get(k)
	if v == nil {
		return nil, 0, nil
	}
	p, err := tx.open(bucket, k, v)
	return p, int64(len(k) + len(v)), err
}

// size is the size of the record stored under k (0 if there is none).
func (tx *Tx) size(bucket, k []byte) int64 {
	if v := tx.tx.Bucket(bucket).Get(k); v != nil {
		return int64(len(k) + len(v))
	}
	return 0
}

// open opens a stored value: an AuthError when it does not open with the
// store's key.
func (tx *Tx) open(bucket, k, v []byte) ([]byte, error) {
	p, err := tx.s.keys.open(bucket, k, v)
	if err != nil {
		return nil, &AuthError{Dir: tx.s.dir, Bucket: string(bucket), Key: printable(k)}
	}
	return p, nil
}

// set stores a value under k (sealed in an encrypted store) without
// counting it, and returns the record's size.
func (tx *Tx) set(bucket, k, plain []byte) (int64, error) {
	v := tx.s.keys.seal(bucket, k, plain)
	return int64(len(k) + len(v)), tx.tx.Bucket(bucket).Put(k, v)
}

// put stores a record in place of one of size old (0: none) and counts the
// difference.
func (tx *Tx) put(bucket, k, plain []byte, old int64) error {
	n, err := tx.set(bucket, k, plain)
	if err != nil {
		return err
	}
	return tx.addCounter(kBytes, n-old)
}

// del deletes the record stored under k and returns its size, for the
// caller to count (0 if there was none).
func (tx *Tx) del(bucket, k []byte) (int64, error) {
	n := tx.size(bucket, k)
	if n == 0 {
		return 0, nil
	}
	return n, tx.tx.Bucket(bucket).Delete(k)
}

// each calls fn with every record of bucket, opened, in stored key order.
func (tx *Tx) each(bucket []byte, fn func(k, p []byte) error) error {
	return tx.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		p, err := tx.open(bucket, k, v)
		if err != nil {
			return err
		}
		return fn(k, p)
	})
}

// deleteAll deletes the records of bucket for which dead says so, and
// returns the bytes freed, for the caller to count. (The keys are
// collected first: a cursor must not see its bucket change under it.)
func (tx *Tx) deleteAll(bucket []byte, dead func(k, p []byte) bool) (int64, error) {
	var keys [][]byte
	if err := tx.each(bucket, func(k, p []byte) error {
		if dead(k, p) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	var freed int64
	for _, k := range keys {
		n, err := tx.del(bucket, k)
		if err != nil {
			return 0, err
		}
		freed += n
	}
	return freed, nil
}
