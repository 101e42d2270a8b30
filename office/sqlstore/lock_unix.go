//go:build unix

package sqlstore

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile holds an exclusive advisory lock on path (created if absent)
// while the schema is migrated: two collectors starting together on one
// SQLite file must not both apply a migration. SQLite's own locks are
// POSIX record locks, independent of this flock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking for the migration: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
