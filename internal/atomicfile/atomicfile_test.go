package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// names lists dir: a temporary file left behind shows up here.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "MANIFEST")
	for _, tc := range []struct {
		data string
		perm fs.FileMode
	}{{"first\n", 0o644}, {"second, longer\n", 0o600}} {
		if err := WriteFile(path, []byte(tc.data), tc.perm); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != tc.data {
			t.Fatalf("read %q, %v; want %q", b, err, tc.data)
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != tc.perm {
			t.Errorf("mode %v, want %v (umask ignored)", st.Mode().Perm(), tc.perm)
		}
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only MANIFEST", got)
	}
}

// failingReader gives some bytes, then an error: a download cut short.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	r.n--
	return copy(p, "partial "), nil
}

// A source that fails leaves the old file whole and no temporary behind.
func TestCopyFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.dat")
	if err := WriteFile(path, []byte("old model"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Copy(path, &failingReader{n: 3}, 0o644)
	if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v: want the reader's error, naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "old model" {
		t.Errorf("file now holds %q", b)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only model.dat", got)
	}
}

func TestCopyStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	const n = 3 << 20
	if err := Copy(path, io.LimitReader(zeros{}, n), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != n {
		t.Fatalf("stat %v, %v; want %d bytes", st, err, n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestCreateNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "device-secret")
	if err := Create(path, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	err := Create(path, []byte("theirs\n"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "mine\n" {
		t.Errorf("file now holds %q", b)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only device-secret", got)
	}
}

// Many creators at once: exactly one wins, every other is told the file
// exists, and the file holds the winner's content whole.
func TestCreateRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = Create(path, []byte(fmt.Sprintf("key %02d\n", i)), 0o600) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("creators %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("creator %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody created the file")
	}
	if b, _ := os.ReadFile(path); string(b) != fmt.Sprintf("key %02d\n", won) {
		t.Errorf("file holds %q, but creator %d won", b, won)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only key", got)
	}
}

// A missing directory is named in the error, and nothing is made.
func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "file")
	for name, write := range map[string]func() error{
		"WriteFile": func() error { return WriteFile(path, []byte("x"), 0o644) },
		"Create":    func() error { return Create(path, []byte("x"), 0o600) },
	} {
		err := write()
		if err == nil || !strings.Contains(err.Error(), filepath.Dir(path)) {
			t.Errorf("%s: %v, want an error naming %s", name, err, filepath.Dir(path))
		}
	}
}
