package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
)

// WriteFile replaces path with data, mode perm (umask ignored).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Copy(path, bytes.NewReader(data), perm)
}

// Copy replaces path with what r holds, mode perm (umask ignored).
// Nothing replaces path unless r was read to its end without error.
func Copy(path string, r io.Reader, perm fs.FileMode) error {
	t, err := pending(path, perm)
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := io.Copy(t, r); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("moving %s into place: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// Create writes data to path, mode perm, unless path exists: then it
// returns an error that is fs.ErrExist and leaves the file as it is. Two
// processes creating one file at once thus agree on one content (the
// first to finish), which a rename cannot promise.
func Create(path string, data []byte, perm fs.FileMode) error {
	t, err := pending(path, perm)
	if err != nil {
		return err
	}
	defer t.Cleanup() // removes the temporary name; path keeps the link
	if _, err := t.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := t.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// A hard link, unlike a rename, fails when path exists.
	if err := os.Link(t.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		return fmt.Errorf("moving %s into place: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// pending opens a temporary file beside path (same file system, so the
// rename or link is atomic; never os.TempDir, which may be a tmpfs).
func pending(path string, perm fs.FileMode) (*renameio.PendingFile, error) {
	dir := filepath.Dir(path)
	t, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(perm))
	if err != nil {
		return nil, fmt.Errorf("creating a file in %s: %w", dir, err)
	}
	return t, nil
}

// syncDir makes a new name in dir durable. A file system that cannot sync
// a directory (some FUSE and network ones say EINVAL) keeps its renames as
// it does; any other failure is reported.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
