package boltfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Open opens the bbolt file at path as bolt.Open does (making it if it is
// missing and o is not read-only), but only once Verify has found it
// sound, and then runs bbolt's own consistency check (tx.Check). A
// damaged file gives a *DamageError and is not changed: bbolt never maps
// it. A file locked by another process gives bbolt's ErrTimeout after
// o.Timeout, as bolt.Open does.
func Open(path string, mode os.FileMode, o bolt.Options) (*bolt.DB, error) {
	info, err := verifyLocked(path, o.Timeout)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// bbolt makes it (or says it is missing, read-only).
	case err != nil:
		return nil, err
	}
	db, err := openBolt(path, mode, &o)
	if err != nil {
		return nil, err
	}
	if err := checkBolt(db, path, info); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// verifyLocked verifies the file holding bbolt's shared lock, so that no
// writer changes it meanwhile.
func verifyLocked(path string, timeout time.Duration) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	if timeout <= 0 {
		timeout = 365 * 24 * time.Hour // bbolt's zero timeout: wait
	}
	if err := flock(f, false, timeout); err != nil {
		return Info{}, err
	}
	return verifyFile(f, path)
}

// openBolt is bolt.Open with its panics, and memory faults, as errors. A
// file bbolt finds invalid is damaged.
func openBolt(path string, mode os.FileMode, o *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, Damaged(path, fmt.Sprintf("bbolt could not open it: %v", r))
		}
	}()
	db, err = bolt.Open(path, mode, o)
	switch {
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, Damaged(path, err.Error())
	case err != nil:
		return nil, err
	}
	return db, nil
}

// checkBolt runs bbolt's consistency check. If another process committed
// between Verify and bbolt taking its lock, the file is verified again
// first (bbolt holds its lock now: nobody else writes).
func checkBolt(db *bolt.DB, path string, info Info) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = Damaged(path, fmt.Sprintf("bbolt could not read it: %v", r))
		}
	}()
	var probs problems
	err = db.View(func(tx *bolt.Tx) error {
		if uint64(tx.ID()) != info.Txid {
			if _, err := Verify(path); err != nil {
				return err
			}
		}
		for e := range tx.Check() {
			probs.addf("%v", e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return probs.err(path)
}
