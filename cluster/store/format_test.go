package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// formatDir holds stores written by writeFormatRecords with the store as it
// was before its transaction code was split by concern (commit bdf5140):
// plain/ and encrypted/ (with store.key, a key for tests only). Never
// rewrite them with a newer build: they are what devices already hold.
const formatDir = "testdata/format"

// writeFormatRecords makes a store in dir (encrypted with keyFile if set)
// and writes one of every kind of record through every writing method of
// Tx, some of them deleted or moved again.
func writeFormatRecords(t *testing.T, dir, keyFile string) {
	t.Helper()
	s, err := Open(dir, Options{Model: testModel, Create: true, Now: func() time.Time { return t0 }, Limits: Limits{MaxIdentities: 6}, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(func(tx *Tx) error {
		for i := 1; i <= 8; i++ {
			id, err := tx.NewID()
			if err != nil {
				return err
			}
			// A day apart: eviction's order is the same in both kinds of
			// store (an encrypted one orders by day only).
			rec := ident(id, t0.Add(time.Duration(i)*25*time.Hour), i%3 == 0, i%4+1)
			if i == 2 {
				rec.Customer = "Bo"
			}
			if err := tx.PutIdentity(rec); err != nil {
				return err
			}
			for j := range 3 {
				v := Visit{ID: fmt.Sprintf("2026-11-01T1%d:0%d-%s", i, j, id), Identity: id, Visitor: id, Time: t0.Add(time.Duration(i*j) * time.Hour), Days: 1, Visits: 2, Regular: true, Confidence: 0.5}
				if err := tx.PutVisit(v); err != nil {
					return err
				}
			}
			if err := tx.MarkDirty(id); err != nil {
				return err
			}
		}
		for _, step := range []func() error{
			func() error { return tx.PutVisit(Visit{ID: "staffvisit", Staff: "Ann", Time: t0}) },
			func() error {
				return tx.PutCustomer(Customer{Name: "Bo", Identity: "p000002", Consented: t0, Sources: []string{"a.jpg"}, Exemplars: [][]float32{{1, 2, 3, 4}}})
			},
			func() error {
				return tx.PutStaff(Staff{Name: "Ann", Added: t0, Sources: []string{"x.jpg"}, Exemplars: [][]float32{{4, 3, 2, 1}}})
			},
			func() error { return tx.PutStaff(Staff{Name: "Cy", Added: t0}) },
			func() error { return tx.PutAlias("p000009", "p000001", t0) },
			func() error { return tx.PutAlias("p000001", "p000003", t0.Add(time.Hour)) },
			func() error { return tx.MoveVisits("p000004", "p000005", nil) },
			func() error { return tx.ClearDirty("p000006") },
			func() error { _, err := tx.DeleteStaff("Cy"); return err },
			func() error { _, err := tx.DeleteIdentity("p000007"); return err },
			func() error { _, err := tx.PruneVisitsOf("p000008", t0.Add(5*time.Hour)); return err },
			func() error { _, err := tx.MakeRoom(0, 0, ""); return err },
			func() error { tx.SetMaintained(20000); return nil },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dumpRecords lists every key and value of the store in dir, bucket by
// bucket; with key, values are opened (their nonces are random) and listed
// with their stored length.
func dumpRecords(t *testing.T, dir string, key *Key) []string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	err = db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			sealed := key != nil && !bytes.Equal(name, bMeta) && !bytes.Equal(name, bDirty) && !bytes.Equal(name, bByIdentity)
			return b.ForEach(func(k, v []byte) error {
				p := v
				if sealed {
					var err error
					if p, err = key.open(name, k, v); err != nil {
						return fmt.Errorf("%s/%x: %w", name, k, err)
					}
				}
				out = append(out, fmt.Sprintf("%s %x = %x (%d bytes)", name, k, p, len(v)))
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyStore copies the store file of src into a new directory.
func copyStore(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sameRecords(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("%s, record %d:\n got %s\nwant %s", what, i, g, w)
			return
		}
	}
}

// TestFormatUnchanged: this build writes the same records as the build
// that wrote testdata/format, plain and encrypted, and encrypts a plain
// store into the same records; it reads those stores and finds them
// consistent. Stores on devices open as they are.
func TestFormatUnchanged(t *testing.T) {
	keyFile := filepath.Join(formatDir, "store.key")
	key, err := LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		key  *Key
		file string
	}{{"plain", nil, ""}, {"encrypted", key, keyFile}} {
		t.Run(c.name, func(t *testing.T) {
			old := copyStore(t, filepath.Join(formatDir, c.name))
			fresh := filepath.Join(t.TempDir(), "store")
			writeFormatRecords(t, fresh, c.file)
			want := dumpRecords(t, old, c.key)
			if len(want) < 40 {
				t.Fatalf("the fixture holds %d records", len(want))
			}
			sameRecords(t, "written now", dumpRecords(t, fresh, c.key), want)
			s, err := Open(old, Options{Model: testModel, ReadOnly: true, KeyFile: c.file})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Check(); err != nil {
				t.Error(err)
			}
			var got []string
			err = s.View(func(tx *Tx) error {
				if r, err := tx.Resolve("p000009"); err != nil || r != "p000003" {
					got = append(got, fmt.Sprintf("resolve p000009: %s, %v", r, err))
				}
				vs, err := tx.VisitsOf("p000005")
				if len(vs) != 6 || err != nil {
					got = append(got, fmt.Sprintf("visits of p000005: %d, %v", len(vs), err))
				}
				return tx.BySeen(func(id string, at time.Time, ever bool) (bool, error) {
					got = append(got, fmt.Sprintf("%s %s %v", id, at.Format(time.DateTime), ever))
					return true, nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			// p000007 was deleted, and p000001 evicted to keep six
			// (MaxIdentities): it is the least recently seen of those
			// never regular and not enrolled.
			wantSeen := fmt.Sprint([]string{"p000002 2026-11-03 12:00:00 false", "p000003 2026-11-04 13:00:00 true", "p000004 2026-11-05 14:00:00 false",
				"p000005 2026-11-06 15:00:00 false", "p000006 2026-11-07 16:00:00 true", "p000008 2026-11-09 18:00:00 false"})
			if fmt.Sprint(got) != wantSeen {
				t.Errorf("read back: %v\nwant %v", got, wantSeen)
			}
		})
	}
	t.Run("encrypt", func(t *testing.T) {
		dir := copyStore(t, filepath.Join(formatDir, "plain"))
		s, err := Open(dir, Options{Model: testModel, KeyFile: keyFile})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		sameRecords(t, "encrypted now", dumpRecords(t, dir, key), dumpRecords(t, filepath.Join(formatDir, "encrypted"), key))
	})
}
