package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"joren/internal/testenv"
)

// record is a record of a test file, by bucket path and key.
type record struct{ path, key, value string }

// contents are the keys and values of records, wherever they were found.
func contents(got map[record]bool) map[[2]string]bool {
	c := map[[2]string]bool{}
	for rec := range got {
		c[[2]string{rec.key, rec.value}] = true
	}
	return c
}

// foreign returns a record of got that is not one of want's.
func foreign(got, want map[record]bool) (record, bool) {
	for rec := range got {
		if rec.path == "?" {
			found := false
			for w := range want {
				if w.key == rec.key && w.value == rec.value {
					found = true
					break
				}
			}
			if !found {
				return rec, true
			}
		} else if !want[rec] {
			return rec, true
		}
	}
	return record{}, false
}

// makeFile writes a bbolt file holding records in two buckets, a nested
// inline bucket, values spanning several pages (overflow pages) and free
// pages (records deleted), and returns its records.
func makeFile(t testing.TB, path string) map[record]bool {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[record]bool{}
	err = db.Update(func(tx *bolt.Tx) error {
		a, _ := tx.CreateBucket([]byte("a"))
		b, _ := tx.CreateBucket([]byte("b"))
		for i := range 600 {
			k, v := fmt.Sprintf("key%05d", i), strings.Repeat(fmt.Sprintf("value %d ", i), 1+i%20)
			a.Put([]byte(k), []byte(v))
			want[record{"a", k, v}] = true
		}
		for i := range 4 {
			k, v := fmt.Sprintf("big%d", i), strings.Repeat(fmt.Sprint(i), 10000)
			b.Put([]byte(k), []byte(v))
			want[record{"b", k, v}] = true
		}
		in, _ := b.CreateBucket([]byte("inline"))
		in.Put([]byte("x"), []byte("y"))
		want[record{"b/inline", "x", "y"}] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Deleted records leave free pages behind, with their old bytes.
	err = db.Update(func(tx *bolt.Tx) error {
		a := tx.Bucket([]byte("a"))
		for i := 0; i < 600; i += 7 {
			k := fmt.Sprintf("key%05d", i)
			v := a.Get([]byte(k))
			delete(want, record{"a", k, string(v)})
			a.Delete([]byte(k))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// salvaged returns the records Salvage reads from path (an orphan's
// bucket as "?").
func salvaged(t testing.TB, path string) (map[record]bool, Report) {
	t.Helper()
	return salvagedWith(t, path, SalvageOptions{})
}

func salvagedWith(t testing.TB, path string, o SalvageOptions) (map[record]bool, Report) {
	t.Helper()
	got := map[record]bool{}
	r, err := Salvage(path, o, func(it Item) error {
		if !it.Bucket {
			names := make([]string, len(it.Path))
			for i, p := range it.Path {
				names[i] = string(p)
			}
			where := strings.Join(names, "/")
			if it.Orphan {
				where = "?"
			}
			got[record{where, string(it.Key), string(it.Value)}] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("salvaging %s: %v", path, err)
	}
	return got, r
}

func TestSoundFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sound.db")
	want := makeFile(t, path)
	info, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.PageSize != os.Getpagesize() || info.Pages < 10 || info.Size < int64(info.Pages)*int64(info.PageSize) {
		t.Errorf("info %+v", info)
	}
	db, err := Open(path, 0o600, bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	got, r := salvaged(t, path)
	if r.Damage != nil || r.Lost != 0 || r.Records != len(want) {
		t.Errorf("report of a sound file: %+v", r)
	}
	for rec := range want {
		if !got[rec] {
			t.Errorf("record %s/%s not salvaged", rec.path, rec.key)
		}
	}
	if len(got) != len(want) {
		t.Errorf("salvaged %d records of %d", len(got), len(want))
	}
}

// A file locked by a writer is not read behind its back.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	makeFile(t, path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(path, 0o600, bolt.Options{Timeout: 100 * time.Millisecond, ReadOnly: true}); !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("opening a file a writer holds: %v", err)
	}
	if _, err := Salvage(path, SalvageOptions{LockTimeout: 100 * time.Millisecond}, func(Item) error { return nil }); !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("salvaging a file a writer holds: %v", err)
	}
}

// TestDamage damages a file every way an SD card does: cut short at every
// page boundary and inside pages, bits flipped at offsets all over it,
// emptied, overwritten with garbage. Every open ends with a sound file or
// a DamageError naming the file, never a panic, a fault or a hang (the
// cases run in a child process, so a crash fails the test rather than
// ending it); salvage reads every record of every page that survived.
func TestDamage(t *testing.T) {
	if !testenv.Isolated(t, 2*time.Minute) {
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "orig.db")
	want := makeFile(t, path)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := info.PageSize
	// bbolt grows a file ahead of its pages: only the pages in use matter.
	used := int(info.Pages) * ps
	try := func(name string, b []byte) (opened bool, got map[record]bool, r Report) {
		t.Helper()
		p := filepath.Join(dir, "case.db")
		os.Remove(p)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{true, false} {
			db, err := Open(p, 0o600, bolt.Options{Timeout: time.Second, ReadOnly: ro})
			var de *DamageError
			switch {
			case errors.As(err, &de):
				if de.Path != p || len(de.Problems) == 0 {
					t.Errorf("%s: damage error %+v", name, de)
				}
			case err != nil:
				t.Errorf("%s: not a damage error: %v", name, err)
			default:
				opened = true
				// What opened reads whole.
				err := db.View(func(tx *bolt.Tx) error {
					return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
						return b.ForEach(func(k, v []byte) error { return nil })
					})
				})
				if err != nil {
					t.Errorf("%s: reading a file that opened: %v", name, err)
				}
				db.Close()
			}
		}
		got, r = salvaged(t, p)
		return opened, got, r
	}

	// Cut short: at every page boundary, and inside every fourth page.
	cuts, prev, kept, keptStale := 0, -1, 0, 0
	for at := 0; at < used+2*ps; at += ps / 4 {
		if at%ps != 0 && (at/ps)%4 != 1 {
			continue
		}
		cuts++
		opened, got, _ := try(fmt.Sprintf("cut at %d", at), good[:at])
		if opened != (at >= used) {
			t.Errorf("cut at %d (pages end at %d): opened %v", at, used, opened)
		}
		if rec, ok := foreign(got, want); ok {
			t.Errorf("cut at %d: salvaged a record that is not the file's: %s/%s", at, rec.path, rec.key)
		}
		// A longer file never gives fewer records.
		if len(got) < prev {
			t.Errorf("cut at %d: %d records, fewer than the %d of a shorter cut", at, len(got), prev)
		}
		prev = len(got)
		// Reading the pages cut off without a free list (StaleOK) finds
		// at least as much; it may find deleted records too.
		stale, _ := salvagedWith(t, filepath.Join(dir, "case.db"), SalvageOptions{StaleOK: true})
		found := contents(stale)
		for rec := range got {
			if !found[[2]string{rec.key, rec.value}] {
				t.Errorf("cut at %d: StaleOK missed %s/%s", at, rec.path, rec.key)
			}
		}
		kept += len(got)
		for rec := range want {
			if found[[2]string{rec.key, rec.value}] {
				keptStale++
			}
		}
	}
	t.Logf("cut short: %.0f records of %d kept on average; %.0f when the pages cut off are read without a free list (StaleOK)", float64(kept)/float64(cuts), len(want), float64(keptStale)/float64(cuts))
	if _, got, _ := try("whole", good); len(got) != len(want) {
		t.Errorf("the whole file salvaged %d records of %d", len(got), len(want))
	}

	// Bits flipped: one byte at offsets all over the file (every header
	// and element of the first pages, then a stride through the rest).
	var offsets []int
	for base := 0; base < used; base += ps {
		// Every field of the header, the first elements' fields, then
		// keys and values.
		for o := 0; o < pageHeaderSize; o += 4 {
			offsets = append(offsets, base+o)
		}
		for o := pageHeaderSize; o < pageHeaderSize+4*elementSize; o += 8 {
			offsets = append(offsets, base+o+o%3)
		}
		for o := pageHeaderSize + 4*elementSize; o < ps; o += 1499 {
			offsets = append(offsets, base+o)
		}
	}
	refused, lostRecords, worst, worstAt := 0, 0, 0, 0
	for _, at := range offsets {
		b := bytes.Clone(good)
		b[at] ^= 1 << (at % 8)
		opened, got, _ := try(fmt.Sprintf("bit flipped at %d", at), b)
		if !opened {
			refused++
		}
		lost, found := 0, contents(got)
		for rec := range want {
			if !found[[2]string{rec.key, rec.value}] {
				lost++
			}
		}
		lostRecords += lost
		if lost > worst {
			worst, worstAt = lost, at
		}
	}
	flips := len(offsets)

	// Empty, garbage, a bbolt signature on garbage.
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   bytes.Repeat([]byte("not a database "), 1000),
		"one page":  good[:ps],
		"zeros":     make([]byte, len(good)),
		"meta only": append(bytes.Clone(good[:2*ps]), make([]byte, len(good)-2*ps)...),
	} {
		if opened, got, _ := try(name, b); opened || len(got) > 0 {
			t.Errorf("%s: opened %v, salvaged %d records", name, opened, len(got))
		}
	}
	t.Logf("%d pages of %d bytes in use, %d records: %d cuts, %d bit flips (%d refused as damaged, the others harmless to bbolt), 5 empty or garbage files; no crash; records lost to flips: %d in all, at most %d (flip at %d, page %d)",
		info.Pages, ps, len(want), cuts, flips, refused, lostRecords, worst, worstAt, worstAt/ps)
}

// TestKeepAside keeps a damaged file under a name with the time, once.
func TestKeepAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	os.WriteFile(path, []byte("damaged"), 0o600)
	now := time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC)
	name, err := KeepAside(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if name != path+".damaged-20261202T101500Z" {
		t.Errorf("kept as %s", name)
	}
	if b, _ := os.ReadFile(path); string(b) != "damaged" {
		t.Error("the file left its place")
	}
	// Interrupted before the replacement: not kept twice.
	if again, err := KeepAside(path, now.Add(time.Minute)); err != nil || again != name {
		t.Errorf("kept again as %s (%v)", again, err)
	}
	os.WriteFile(path+".new", []byte("fresh"), 0o600)
	if err := Replace(path+".new", path); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("damaged again"), 0o600)
	second, err := KeepAside(path, now)
	if err != nil || second != name+"-2" {
		t.Errorf("second damage in the same second kept as %s (%v)", second, err)
	}
	kept, err := KeptCopies(path)
	if err != nil || len(kept) != 2 || kept[0].Path != name || !kept[0].Time.Equal(now) {
		t.Errorf("kept copies %+v (%v)", kept, err)
	}
	if n, err := Prune(path, now.Add(time.Second)); err != nil || n != 2 {
		t.Errorf("pruned %d (%v)", n, err)
	}
	if kept, _ := KeptCopies(path); len(kept) != 0 {
		t.Errorf("left after pruning: %+v", kept)
	}
}

// FuzzOpen opens and salvages whatever bytes the fuzzer makes of a small
// bbolt file: an error or a sound file, never a crash (run it with
// go test -fuzz=FuzzOpen ./internal/boltfile; a memory fault or a stack
// overflow fails the run).
func FuzzOpen(f *testing.F) {
	seed := filepath.Join(f.TempDir(), "seed.db")
	db, err := bolt.Open(seed, 0o600, &bolt.Options{PageSize: 1024})
	if err != nil {
		f.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("b"))
		for i := range 40 {
			b.Put([]byte(fmt.Sprintf("k%03d", i)), bytes.Repeat([]byte{byte(i)}, 40))
		}
		n, _ := b.CreateBucket([]byte("nested"))
		n.Put([]byte("x"), []byte("y"))
		return nil
	})
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Delete([]byte("k007")) })
	db.Close()
	good, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	info, err := Verify(seed)
	if err != nil {
		f.Fatal(err)
	}
	used := good[:int(info.Pages)*info.PageSize]
	f.Add(used)
	f.Add(used[:len(used)/2])
	f.Add(used[:2*info.PageSize])
	for _, at := range []int{12, 1024 + 40, 2*1024 + 10, 3*1024 + 20, len(used) - 100} {
		b := bytes.Clone(used)
		b[at] ^= 0x10
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{true, false} {
			db, err := Open(p, 0o600, bolt.Options{Timeout: time.Second, ReadOnly: ro})
			if err != nil {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("not a damage error: %v", err)
				}
				continue
			}
			err = db.View(func(tx *bolt.Tx) error {
				return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
					return b.ForEach(func(k, v []byte) error { return nil })
				})
			})
			if err != nil {
				t.Errorf("reading what opened: %v", err)
			}
			db.Close()
		}
		if _, err := Salvage(p, SalvageOptions{}, func(Item) error { return nil }); err != nil {
			t.Errorf("salvage: %v", err)
		}
	})
}
