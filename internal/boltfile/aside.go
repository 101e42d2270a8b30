package boltfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// asideInfix and asideTime name a damaged file kept aside:
// identities.db.damaged-20261202T101500Z.
const (
	asideInfix = ".damaged-"
	asideTime  = "20060102T150405Z"
)

// Kept is a damaged file kept aside.
type Kept struct {
	Path string
	// Time is when it was set aside.
	Time time.Time
}

// KeptCopies lists the damaged copies of path kept aside, oldest first.
func KeptCopies(path string) ([]Kept, error) {
	matches, err := filepath.Glob(globEscape(path) + asideInfix + "*")
	if err != nil {
		return nil, err
	}
	var out []Kept
	for _, m := range matches {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(m, path+asideInfix), "-")
		t, err := time.Parse(asideTime, stamp)
		if err != nil {
			continue // not one of ours
		}
		out = append(out, Kept{Path: m, Time: t})
	}
	slices.SortFunc(out, func(a, b Kept) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func globEscape(p string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)
	return r.Replace(p)
}

// KeepAside keeps the file at path under a name that says it is damaged
// and when it was set aside, and returns that name. The file stays at
// path too (a second link, or a copy where the file system has no links)
// until the caller puts a good file in its place with a rename, so that
// path always names a whole file. A copy already kept (the same file: a
// recovery interrupted before the rename) is not kept twice.
func KeepAside(path string, now time.Time) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	kept, err := KeptCopies(path)
	if err != nil {
		return "", err
	}
	for _, k := range kept {
		if ks, err := os.Stat(k.Path); err == nil && os.SameFile(st, ks) {
			return k.Path, nil
		}
	}
	name := path + asideInfix + now.UTC().Format(asideTime)
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s%s%s-%d", path, asideInfix, now.UTC().Format(asideTime), i)
	}
	if err := os.Link(path, name); err == nil {
		return name, syncDir(filepath.Dir(path))
	}
	if err := copyFile(path, name); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("keeping %s aside: %w", path, err)
	}
	return name, syncDir(filepath.Dir(path))
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// Replace puts the file at from in place of path (atomically), and makes
// the rename durable.
func Replace(from, path string) error {
	if err := os.Rename(from, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or link in dir durable (best effort: some file
// systems, such as FAT, cannot sync a directory).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Sync()
	return nil
}

// Prune deletes the damaged copies of path kept aside before before, and
// returns how many it deleted.
func Prune(path string, before time.Time) (int, error) {
	kept, err := KeptCopies(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range kept {
		if k.Time.Before(before) {
			if err := os.Remove(k.Path); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
