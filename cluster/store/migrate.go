package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrations[i] upgrades a store from schema i+1 to i+2, in the same
// transaction as every other step of an upgrade: a store is either fully
// migrated or untouched. Stores before schema 3 cannot be encrypted, so
// these steps see plain records.
var migrations = []func(tx *bolt.Tx) error{
	rebuildIndexes, // 1 -> 2
	addCustomers,   // 2 -> 3
}

func (s *Store) migrate(from int) error {
	if len(migrations) != Schema-1 {
		panic(fmt.Sprintf("store: %d migrations for schema %d", len(migrations), Schema))
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		for v := from; v < Schema; v++ {
			if err := migrations[v-1](btx); err != nil {
				return fmt.Errorf("schema %d to %d: %w", v, v+1, err)
			}
		}
		m := s.meta
		m.Schema = Schema
		if m.Mode == "" {
			m.Mode = Counting // what every store before schema 3 did
		}
		if err := putMeta(btx, m); err != nil {
			return err
		}
		s.meta = m
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrating identity store %s: %w (the store is unchanged)", s.dir, err)
	}
	return nil
}

// rebuildIndexes makes the derived buckets and counters of schema 2 from
// the records: the last-seen index, the visit log by identity, the byte and
// identity counts, and empty to-do and alias lists.
func rebuildIndexes(btx *bolt.Tx) error {
	for _, name := range [][]byte{bSeen, bByIdentity, bDirty, bAliases} {
		if btx.Bucket(name) != nil {
			if err := btx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := btx.CreateBucket(name); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bIdentities, bVisits, bStaff} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	var (
		keys     keying // plain: stores before schema 3 cannot be encrypted
		total, n int64
	)
	seen := btx.Bucket(bSeen)
	if err := btx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
		rec, err := decodeIdentity(v)
		if err != nil {
			return fmt.Errorf("identity %s: %w", k, err)
		}
		total += int64(len(k) + len(v))
		n++
		return seen.Put(keys.seenKey(rec.LastSeen, rec.ID), keys.seenValue(rec.LastSeen, rec.ID, seenFlags(rec)))
	}); err != nil {
		return err
	}
	by := btx.Bucket(bByIdentity)
	if err := btx.Bucket(bVisits).ForEach(func(k, v []byte) error {
		rec, err := decodeVisit(v)
		if err != nil {
			return fmt.Errorf("visit %s: %w", k, err)
		}
		total += int64(len(k) + len(v))
		if rec.Identity == "" {
			return nil
		}
		return by.Put(keys.byIdentity(rec.Identity, k), nil)
	}); err != nil {
		return err
	}
	if err := btx.Bucket(bStaff).ForEach(func(k, v []byte) error {
		total += int64(len(k) + len(v))
		return nil
	}); err != nil {
		return err
	}
	mb := btx.Bucket(bMeta)
	if err := mb.Put(kBytes, be64(uint64(total))); err != nil {
		return err
	}
	return mb.Put(kIdentities, be64(uint64(n)))
}

// addCustomers makes the bucket of enrolled customers (the store's mode,
// counting, is recorded with the new schema).
func addCustomers(btx *bolt.Tx) error {
	_, err := btx.CreateBucketIfNotExists(bCustomers)
	return err
}
