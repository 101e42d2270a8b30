package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"joren/internal/boltfile"
)

// BackupFile is the store's backup, beside it in its directory: a copy
// of its records as of the last maintenance pass (Options.Backup), which
// Recover uses to restore what a damaged file lost.
const BackupFile = FileName + ".backup"

// backupRoom is the free space a backup leaves on the data partition, on
// top of its own size: the store and the outbox must still grow.
const backupRoom = 32 << 20

func (s *Store) backupPath() string { return filepath.Join(s.dir, BackupFile) }

// erased drops the backup after a transaction deleted someone: it still
// holds them, and Recover must never bring back someone forgotten (nor
// anyone retention deleted). The next maintenance pass makes a new one.
func (s *Store) erased() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erasures++
	if err := os.Remove(s.backupPath()); err == nil {
		syncDir(s.dir)
	}
}

// Backup writes a copy of the store's records to BackupFile: into a new
// file (so no deleted record lingers in free pages, as it could in a copy
// of the store's file), read back and checked like the store itself, then
// put in place of the previous backup. It reads in one transaction and
// does not hold up the store meanwhile. A damaged store is not backed up
// (its backup is what Recover needs), nor one that lacks room for it.
func (s *Store) Backup() (err error) {
	if s.readOnly {
		return fmt.Errorf("identity store %s is open read-only: it is not backed up", s.dir)
	}
	if err := s.Damaged(); err != nil {
		return err
	}
	s.mu.Lock()
	gen := s.erasures
	s.mu.Unlock()
	path := s.backupPath()
	tmp := path + compactSuffix
	os.Remove(tmp)
	size, err := s.FileSize()
	if err != nil {
		return fmt.Errorf("backing up identity store %s: %w", s.dir, err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(s.dir, &fs); err == nil && fs.Bavail*uint64(fs.Bsize) < uint64(size)+backupRoom {
		return fmt.Errorf("backing up identity store %s: not enough room on its partition (%d MB free, the copy needs %d MB and leaves %d MB)", s.dir, fs.Bavail*uint64(fs.Bsize)>>20, size>>20, backupRoom>>20)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
			err = fmt.Errorf("backing up identity store %s: %w (the previous backup is kept)", s.dir, err)
		}
	}()
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return err
	}
	err = s.copyTo(dst)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := s.checkCopy(tmp); err != nil {
		return fmt.Errorf("the copy does not read back: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.erasures != gen {
		// Someone was deleted while the copy was made: it may hold them.
		os.Remove(tmp)
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(s.dir)
	return nil
}

// copyTo copies the store's records into the empty dst.
func (s *Store) copyTo(dst *bolt.DB) (err error) {
	defer s.guard(&err, debug.SetPanicOnFault(true))
	s.swap.RLock()
	defer s.swap.RUnlock()
	return copyDB(dst, s.db, nil)
}

// checkCopy checks a copy of the store as Check checks the store.
func (s *Store) checkCopy(path string) error {
	db, err := boltfile.Open(path, 0o600, bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	c := &Store{db: db, dir: s.dir, file: path, keys: s.keys, limits: s.limits, readOnly: true}
	return c.Check()
}

// BackupTime is when the backup was made (false if there is none).
func (s *Store) BackupTime() (time.Time, bool) {
	st, err := os.Stat(s.backupPath())
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}

// BackupError is why the last backup (Options.Backup) failed, nil if it
// did not.
func (s *Store) BackupError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backupErr
}

// backupMeta reads a backup's description (false if there is no backup).
func backupMeta(path string) (Meta, bool) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return Meta{}, false
	}
	m, _, err := readMeta(path)
	return m.Meta, err == nil && m.found
}
