package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compactSuffix names the file Compact and encryption write before it
// replaces the store's file.
const compactSuffix = ".new"

// copyBatch bounds the bytes one transaction of a copy writes, so that
// copying a store of any size takes bounded memory.
const copyBatch = 8 << 20

// convert rewrites one record of a copy: the new key and value (nil key:
// leave the record out).
type convert func(bucket, k, v []byte) (nk, nv []byte, err error)

// copyDB copies every bucket of src into the empty dst, record by record
// through conv (nil: as they are), in transactions of bounded size.
func copyDB(dst, src *bolt.DB, conv convert) error {
	return src.View(func(stx *bolt.Tx) error {
		dtx, err := dst.Begin(true)
		if err != nil {
			return err
		}
		defer func() { dtx.Rollback() }()
		size := 0
		return errors.Join(stx.ForEach(func(name []byte, sb *bolt.Bucket) error {
			if _, err := dtx.CreateBucket(name); err != nil {
				return err
			}
			c := sb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil {
					return fmt.Errorf("bucket %s: nested bucket %q: not a joren store", name, k)
				}
				nk, nv := k, v
				if conv != nil {
					if nk, nv, err = conv(name, k, v); err != nil {
						return fmt.Errorf("%s/%s: %w", name, printable(k), err)
					}
					if nk == nil {
						continue
					}
				}
				db := dtx.Bucket(name)
				// Keys come in order: full pages make a compact file
				// (bbolt's default of half-full pages suits random
				// inserts).
				db.FillPercent = 0.9
				if err := db.Put(bytes.Clone(nk), bytes.Clone(nv)); err != nil {
					return err
				}
				if size += len(nk) + len(nv); size >= copyBatch {
					if err := dtx.Commit(); err != nil {
						return err
					}
					if dtx, err = dst.Begin(true); err != nil {
						return err
					}
					size = 0
				}
			}
			return nil
		}), dtx.Commit())
	})
}

// replace copies the store into a new file through conv, then finish
// (in the new file's last transaction), and puts the new file in the old
// one's place. It is crash-safe: the new file is complete and on disk
// before an atomic rename makes it the store; until then the old file is
// untouched, and a leftover new file is deleted by the next Open. The
// caller holds swap exclusively.
//
// The new file is opened (and so locked against other processes) before
// the rename, and the old one closed after: there is no moment when the
// store's file is unlocked.
func (s *Store) replace(conv convert, finish func(*bolt.Tx) error) error {
	tmp := s.path() + compactSuffix
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: true})
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			dst.Close()
			os.Remove(tmp)
		}
	}()
	if err := copyDB(dst, s.db, conv); err != nil {
		return err
	}
	if finish != nil {
		if err := dst.Update(finish); err != nil {
			return err
		}
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path()); err != nil {
		return err
	}
	ok = true
	syncDir(s.dir)
	dst.NoSync = s.noSync
	old := s.db
	s.db = dst
	return old.Close()
}

// Compact rewrites the store's file with only its live records. bbolt
// never overwrites the pages that deleted records were on until it needs
// them again, so without compaction the bytes of a forgotten visitor could
// stay in the file for a long time; after Compact they are not in it. (The
// flash underneath may still hold the old blocks: encryption, with the key
// elsewhere, is what protects those.) It also gives the free pages back:
// the file shrinks to its records. Transactions wait while it runs.
func (s *Store) Compact() (before, after int64, err error) {
	if s.readOnly {
		return 0, 0, fmt.Errorf("identity store %s is open read-only: cannot compact it", s.dir)
	}
	s.swap.Lock()
	defer s.swap.Unlock()
	defer s.damaged(&err)
	before, _ = s.FileSize()
	if err := s.replace(nil, nil); err != nil {
		return before, before, fmt.Errorf("compacting identity store %s: %w (the store is unchanged)", s.dir, err)
	}
	after, err = s.FileSize()
	return before, after, err
}

// encrypt encrypts a store that is not: every record is copied, sealed and
// renamed as in an encrypted store, into a new file that replaces the old
// one (which also leaves no plaintext in free pages). The key file is
// created if missing.
func (s *Store) encrypt(keyFile string) (err error) {
	key, made, err := LoadOrCreateKey(keyFile)
	if err != nil {
		return fmt.Errorf("encrypting identity store %s: %w (the store is unchanged, not encrypted)", s.dir, err)
	}
	s.swap.Lock()
	defer s.swap.Unlock()
	meta := s.Meta()
	meta.Cipher, meta.KeyID = Cipher, key.ID()
	conv := func(bucket, k, v []byte) ([]byte, []byte, error) {
		return encryptRecord(key, bucket, k, v)
	}
	finish := func(btx *bolt.Tx) error {
		// Sealing changes every size: count again.
		total, n, err := recount(btx)
		if err != nil {
			return err
		}
		mb := btx.Bucket(bMeta)
		if err := mb.Put(kBytes, be64(uint64(total))); err != nil {
			return err
		}
		if err := mb.Put(kIdentities, be64(uint64(n))); err != nil {
			return err
		}
		return putMeta(btx, meta)
	}
	if err := s.replace(conv, finish); err != nil {
		return fmt.Errorf("encrypting identity store %s: %w (the store is unchanged, not encrypted)", s.dir, err)
	}
	s.mu.Lock()
	s.meta = meta
	s.mu.Unlock()
	s.keys, s.keyCreated = keying{key}, made
	return nil
}

// encryptRecord is one record of a plain store as an encrypted store holds
// it: read with the plain keying, written with the sealed one.
func encryptRecord(key *Key, bucket, k, v []byte) ([]byte, []byte, error) {
	var from keying
	to := keying{key}
	switch string(bucket) {
	case string(bMeta), string(bDirty):
		return k, v, nil
	case string(bIdentities), string(bAliases):
		return k, to.seal(bucket, k, v), nil
	case string(bVisits), string(bStaff), string(bCustomers):
		nk := to.name(bucket, string(k))
		return nk, to.seal(bucket, nk, v), nil
	case string(bSeen):
		id, t, flags, err := from.seen(k, v)
		if err != nil {
			return nil, nil, err
		}
		nk := to.seenKey(t, string(id))
		return nk, to.seal(bSeen, nk, to.seenValue(t, string(id), flags)), nil
	case string(bByIdentity):
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			return nil, nil, fmt.Errorf("bad by-identity key")
		}
		return to.byIdentity(string(k[:i]), to.name(bVisits, string(k[i+1:]))), nil, nil
	}
	return nil, nil, fmt.Errorf("unknown bucket")
}

// recount sums the records' stored sizes (what Limits.MaxBytes bounds)
// and counts the identities.
func recount(btx *bolt.Tx) (total, identities int64, err error) {
	for _, name := range [][]byte{bIdentities, bVisits, bStaff, bCustomers, bAliases} {
		b := btx.Bucket(name)
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			total += int64(len(k) + len(v))
			if bytes.Equal(name, bIdentities) {
				identities++
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
	}
	return total, identities, nil
}
