package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"joren/internal/boltfile"
)

func TestReadModel(t *testing.T) {
	if _, err := ReadModel(t.TempDir()); !errors.Is(err, ErrNoStore) {
		t.Fatalf("an empty directory: %v, want ErrNoStore", err)
	}
	for _, keyFile := range []string{"", filepath.Join(t.TempDir(), "store.key")} {
		dir := t.TempDir()
		realStore(t, dir, keyFile, 50, Options{})
		got, err := ReadModel(dir)
		if err != nil || got != realModel {
			t.Fatalf("encrypted %v: ReadModel = %+v, %v; want %+v", keyFile != "", got, err, realModel)
		}
	}

	dir := t.TempDir()
	realStore(t, dir, "", 50, Options{})
	path := filepath.Join(dir, FileName)
	info, err := boltfile.Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	good := b[:int(info.Pages)*info.PageSize]

	// Held by a running service: an error soon, not a wait.
	s, err := Open(dir, Options{Model: realModel})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadModel(dir); err == nil {
		t.Errorf("a store open for writing: ReadModel = %+v, want an error", got)
	}
	s.Close()

	// Damaged: the model read is the store's, or an error; never another.
	found := 0
	ds := damages(good, info.PageSize, 2, 8)
	for _, d := range ds {
		if err := os.WriteFile(path, d.b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadModel(dir)
		switch {
		case err == nil && got != realModel:
			t.Errorf("%s: ReadModel = %+v, want %+v", d.name, got, realModel)
		case err == nil:
			found++
		}
	}
	if found < len(ds)/2 {
		t.Errorf("the model was read from %d of %d damaged files", found, len(ds))
	}

	// The file unreadable, its backup whole: the backup tells.
	if err := os.WriteFile(path, []byte("not a store"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModel(dir); err == nil {
		t.Error("garbage without a backup: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, BackupFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadModel(dir); err != nil || got != realModel {
		t.Errorf("garbage beside a whole backup: ReadModel = %+v, %v; want %+v", got, err, realModel)
	}
}
