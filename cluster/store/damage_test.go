package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"joren/internal/boltfile"
	"joren/internal/testenv"
	"joren/vocab"
)

// realModel has the size of dlib's descriptors, so that a test store's
// records are the size of a device's.
var realModel = vocab.Model{Name: "real", Digest: "fedcba9876543210", Dim: 128, Metric: vocab.Euclidean, Threshold: 0.6}

// realStore makes a store in dir like a device's after some weeks: n
// visitors with descriptors of 128 values and two visits each, staff,
// enrolled customers, merge aliases, the maintenance to-do list, and
// visitors forgotten since (free pages). It returns what it holds.
func realStore(t testing.TB, dir, keyFile string, n int, o Options) snapshot {
	t.Helper()
	o.Model, o.Create, o.KeyFile, o.NoSync = realModel, true, keyFile, true
	o.Now = func() time.Time { return t0 }
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	face := func() []float32 {
		f := make([]float32, realModel.Dim)
		for i := range f {
			f[i] = rng.Float32()
		}
		return f
	}
	for start := 0; start < n; start += 100 {
		err := s.Update(func(tx *Tx) error {
			for i := start; i < min(n, start+100); i++ {
				id, err := tx.NewID()
				if err != nil {
					return err
				}
				seen := t0.Add(time.Duration(i) * 37 * time.Minute)
				rec := Identity{ID: id, Created: seen.Add(-48 * time.Hour), LastSeen: seen, LastVisit: "v2-" + id, LastEnd: seen.Add(time.Minute),
					Visits: 2, TotalDays: 2, Days: []int32{int32(dayOf(seen)) - 2, int32(dayOf(seen))}, EverRegular: i%4 == 0, Regular: i%8 == 0}
				for j := range 2 {
					rec.Exemplars = append(rec.Exemplars, Exemplar{Visit: fmt.Sprintf("v%d-%s", j+1, id), Time: seen, Day: int32(dayOf(seen)), Count: 3, Mean: face()})
				}
				if i < 3 {
					rec.Customer = fmt.Sprintf("Customer %d", i)
				}
				if err := tx.PutIdentity(rec); err != nil {
					return err
				}
				for j := range 2 {
					v := Visit{ID: fmt.Sprintf("01J%06dV%d", i, j), Identity: id, Visitor: id, Time: seen.Add(time.Duration(j-1) * 48 * time.Hour), Days: j + 1, Visits: j + 1, Confidence: 0.9}
					if err := tx.PutVisit(v); err != nil {
						return err
					}
				}
				if i < 3 {
					c := Customer{Name: rec.Customer, Note: "member", Consented: t0, Identity: id, Sources: []string{"c.jpg"}, Exemplars: [][]float32{face()}}
					if err := tx.PutCustomer(c); err != nil {
						return err
					}
				}
				if i%9 == 0 {
					if err := tx.MarkDirty(id); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = s.Update(func(tx *Tx) error {
		for i := range 3 {
			if err := tx.PutStaff(Staff{Name: fmt.Sprintf("Staff %d", i), Added: t0, Sources: []string{"s.jpg"}, Exemplars: [][]float32{face(), face()}}); err != nil {
				return err
			}
		}
		if err := tx.PutAlias("p900001", "p000005", t0); err != nil {
			return err
		}
		// Forgotten visitors leave free pages with their old bytes.
		for i := 10; i < n; i += 10 {
			if _, err := tx.DeleteIdentity(fmt.Sprintf("p%06d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	return takeSnapshot(t, s)
}

// damage is one way a file was damaged.
type damage struct {
	name string
	cut  int // the length it was cut to (-1: not cut)
	b    []byte
}

// damages are the ways an SD card damages a file of used bytes: cut
// short at every page boundary and inside pages, a bit flipped in page
// headers, element headers, keys and values of pages all over it, emptied
// and overwritten.
func damages(good []byte, ps, cutEvery, flipEvery int) []damage {
	var out []damage
	for at := 0; at <= len(good); at += ps {
		if pg := at / ps; pg%cutEvery != 0 && pg > 2 && at != len(good) {
			continue
		}
		out = append(out, damage{fmt.Sprintf("cut at %d", at), at, good[:at]})
		if in := at + ps/2 + 7; (at/ps)%5 == 2 && in < len(good) {
			out = append(out, damage{fmt.Sprintf("cut at %d", in), in, good[:in]})
		}
	}
	for pg := 0; pg*ps < len(good); pg++ {
		if pg%flipEvery != 0 && pg > 2 {
			continue
		}
		// The page's id, its count, an element's position, and content.
		for _, o := range []int{pg % 8, 10, 16 + 4 + pg%3*16, 100 + (pg*977)%(ps-200)} {
			b := bytes.Clone(good)
			at := pg*ps + o
			b[at] ^= 1 << (o % 8)
			out = append(out, damage{fmt.Sprintf("bit flipped at %d", at), -1, b})
		}
	}
	out = append(out,
		damage{"empty", 0, nil},
		damage{"garbage", -1, bytes.Repeat([]byte("not a store "), 3000)},
		damage{"zeros", -1, make([]byte, len(good))},
	)
	return out
}

// sameAs tells whether a salvaged identity is the original one, allowing
// what salvage changes on purpose: an enrolled customer's visitor rebuilt
// from the enrolment (history lost), or no longer enrolled (the enrolment
// lost).
func sameAs(got Identity, orig map[string]Identity) bool {
	o, ok := orig[got.ID]
	switch {
	case !ok:
		return false
	case reflect.DeepEqual(got, o):
		return true
	case got.Customer == "" && o.Customer != "":
		o.Customer = ""
		return reflect.DeepEqual(got, o)
	}
	return got.Customer == o.Customer && got.Visits == 0 && len(got.Exemplars) == 0
}

// TestDamagedStore damages a real store, plain and encrypted, every way
// damages lists: opening it ends with a sound store or an error saying it
// is damaged (and then nothing is written to it); an encrypted store that
// opens holds exactly its records; Salvage makes a sound store of what is
// left, every record of it one of the original's. It runs in a child
// process: a crash fails it rather than ends it.
func TestDamagedStore(t *testing.T) {
	if !testenv.Isolated(t, 3*time.Minute) {
		return
	}
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "encrypted"}[encrypted]
		keyFile := ""
		if encrypted {
			keyFile = filepath.Join(t.TempDir(), "store.key")
		}
		orig := t.TempDir()
		want := realStore(t, orig, keyFile, 200, Options{})
		path := filepath.Join(orig, FileName)
		info, err := boltfile.Verify(path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		good := b[:int(info.Pages)*info.PageSize]
		// What the store deleted (every tenth visitor, forgotten): the
		// card keeps this small file beside the damaged one.
		erased, err := os.ReadFile(path + erasedSuffix)
		if err != nil {
			t.Fatal(err)
		}
		origIDs := map[string]Identity{}
		for _, rec := range want.Identities {
			origIDs[rec.ID] = rec
		}
		// What happened, by kind of damage.
		type tally struct{ cases, refused, opened, altered, keptSum, keptMin int }
		tallies := map[string]*tally{}
		prevCut, prevKept := -1, -1
		// Every other page boundary of the plain store, every third of
		// the encrypted (their pages are alike; internal/boltfile's test
		// cuts at every one), and inside pages.
		cutEvery := map[bool]int{false: 2, true: 3}[encrypted]
		for _, d := range damages(good, info.PageSize, cutEvery, 8) {
			kind := "other"
			switch {
			case d.cut >= 0 && d.name != "empty":
				kind = "cut"
			case strings.HasPrefix(d.name, "bit"):
				kind = "flip"
			}
			tl := tallies[kind]
			if tl == nil {
				tl = &tally{keptMin: len(want.Identities)}
				tallies[kind] = tl
			}
			tl.cases++
			dir := filepath.Join(t.TempDir(), "s")
			os.Mkdir(dir, 0o700)
			p := filepath.Join(dir, FileName)
			if err := os.WriteFile(p, d.b, 0o600); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p+erasedSuffix, erased, 0o600)
			// Read-only: sound, or damaged.
			if ro, err := Open(dir, Options{ReadOnly: true, KeyFile: keyFile}); err == nil {
				ro.Close()
			} else if !errors.Is(err, ErrDamaged) {
				t.Errorf("%s %s: opening read-only: not a damage error: %v", name, d.name, err)
			}
			// To change: sound and whole, or refused and untouched.
			rw, err := Open(dir, Options{Model: realModel, KeyFile: keyFile})
			switch {
			case err == nil:
				tl.opened++
				got := takeSnapshot(t, rw)
				if !reflect.DeepEqual(got, want) {
					if encrypted {
						t.Errorf("%s %s: opened with records changed", name, d.name)
					}
					tl.altered++
				}
				rw.Close()
			case errors.Is(err, ErrDamaged):
				tl.refused++
				if after, _ := os.ReadFile(p); !bytes.Equal(after, d.b) {
					t.Errorf("%s %s: refused, but the file was changed", name, d.name)
				}
				if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "joren store salvage") {
					t.Errorf("%s %s: error does not name the store and the remedy: %v", name, d.name, err)
				}
			default:
				t.Errorf("%s %s: not a damage error: %v", name, d.name, err)
				continue
			}
			// Salvage: a sound store of original records.
			out := filepath.Join(t.TempDir(), "salvaged")
			rep, err := Salvage(p, out, Options{Model: realModel, KeyFile: keyFile})
			if err != nil {
				t.Errorf("%s %s: salvage: %v", name, d.name, err)
				continue
			}
			// (Salvage checked it whole: read-only is enough here.)
			st, err := Open(out, Options{ReadOnly: true, KeyFile: keyFile})
			if err != nil {
				t.Errorf("%s %s: the salvaged store: %v", name, d.name, err)
				continue
			}
			got := takeSnapshot(t, st)
			st.Close()
			for _, rec := range got.Identities {
				if !sameAs(rec, origIDs) && (encrypted || d.cut >= 0) {
					t.Errorf("%s %s: salvaged identity %s is not the original's", name, d.name, rec.ID)
				}
			}
			if n := len(got.Identities); n != rep.Kept.Identities {
				t.Errorf("%s %s: report says %d visitors kept, the store has %d", name, d.name, rep.Kept.Identities, n)
			}
			tl.keptSum += len(got.Identities)
			tl.keptMin = min(tl.keptMin, len(got.Identities))
			if d.cut >= 0 && d.name != "empty" {
				if d.cut > prevCut && len(got.Identities) < prevKept {
					t.Errorf("%s %s: kept %d visitors, fewer than a shorter cut's %d", name, d.name, len(got.Identities), prevKept)
				}
				prevCut, prevKept = d.cut, len(got.Identities)
			}
			if d.cut == len(good) && len(got.Identities) != len(want.Identities) {
				t.Errorf("%s: the whole file salvaged %d of %d visitors", name, len(got.Identities), len(want.Identities))
			}
		}
		for _, kind := range []string{"cut", "flip", "other"} {
			tl := tallies[kind]
			t.Logf("%s store (%d pages, %d visitors), %s: %d damaged files, no crash; %d refused as damaged, %d opened (%d with a record changed undetected); salvage kept %.0f visitors on average, at least %d",
				name, info.Pages, len(want.Identities), map[string]string{"cut": "cut short", "flip": "one bit flipped", "other": "empty, garbage, zeros"}[kind],
				tl.cases, tl.refused, tl.opened, tl.altered, float64(tl.keptSum)/float64(tl.cases), tl.keptMin)
		}
	}
}

// TestDamagedWhileOpen cuts a store's file short while the store is open
// (a card that fails under a running box): reads fail with an error, not
// a fault, and the store then refuses every change.
func TestDamagedWhileOpen(t *testing.T) {
	if !testenv.Isolated(t, time.Minute) {
		return
	}
	dir := t.TempDir()
	realStore(t, dir, "", 200, Options{})
	s, err := Open(dir, Options{Model: realModel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Truncate(filepath.Join(dir, FileName), 8192); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error { return tx.ForEachIdentity(func(Identity) error { return nil }) })
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading a store cut short under it: %v", err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.MarkDirty("p000001") }); !errors.Is(err, ErrDamaged) {
		t.Errorf("changing a damaged store: %v", err)
	}
	if _, _, err := s.Compact(); !errors.Is(err, ErrDamaged) {
		t.Errorf("compacting a damaged store: %v", err)
	}
}

// An empty store file (a card that lost the whole file) is damage, said
// as such, whatever the opening.
func TestEmptyStoreFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), nil, 0o600)
	for _, o := range []Options{{ReadOnly: true}, {Model: testModel}, {Model: testModel, Create: true}} {
		_, err := Open(dir, o)
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "empty (0 bytes)") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestRecover damages a store that has a backup, two ways: a card that
// lost the file's second half (the newest pages: the tree's root with
// them) and a flipped bit in a page in the middle. The new store holds
// everything the damaged file still had, and what it lost from the
// backup; the damaged file is kept, named with the time; nobody forgotten
// since the backup comes back.
func TestRecover(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		for _, how := range []string{"second half lost", "bit flipped"} {
			name := map[bool]string{false: "plain", true: "encrypted"}[encrypted] + ", " + how
			t.Run(name, func(t *testing.T) { testRecover(t, encrypted, how) })
		}
	}
}

func testRecover(t *testing.T, encrypted bool, how string) {
	keyFile := ""
	if encrypted {
		keyFile = filepath.Join(t.TempDir(), "store.key")
	}
	dir := t.TempDir()
	o := Options{Model: realModel, KeyFile: keyFile, Backup: true}
	realStore(t, dir, keyFile, 200, o)
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.BackupTime(); !ok || s.BackupError() != nil {
		t.Fatalf("no backup after compaction: %v", s.BackupError())
	}
	// After the backup: someone forgotten (the backup goes), a new
	// backup, then new visitors.
	if err := s.Update(func(tx *Tx) error { _, err := tx.DeleteIdentity("p000005"); return err }); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.BackupTime(); ok {
		t.Fatal("the backup outlived a forgotten visitor")
	}
	if err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	backedUp := takeSnapshot(t, s)
	err = s.Update(func(tx *Tx) error {
		for range 30 {
			id, _ := tx.NewID()
			if err := tx.PutIdentity(ident(id, t0.Add(time.Hour), false, 1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	final := takeSnapshot(t, s)
	s.Close()

	path := filepath.Join(dir, FileName)
	info, _ := boltfile.Verify(path)
	b, _ := os.ReadFile(path)
	switch how {
	case "second half lost":
		b = b[:int(info.Pages)*info.PageSize/2]
	case "bit flipped":
		b[int(info.Pages)/2*info.PageSize+10] ^= 0x04 // a page's element count
	}
	os.WriteFile(path, b, 0o600)
	_, cause := Open(dir, o)
	if !errors.Is(cause, ErrDamaged) {
		t.Fatalf("opening the damaged store: %v", cause)
	}
	now := time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC)
	rec, err := Recover(dir, o, cause, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rec)
	if rec.Aside != path+".damaged-20261202T101500Z" {
		t.Errorf("damaged file kept as %s", rec.Aside)
	}
	if kept, err := os.ReadFile(rec.Aside); err != nil || !bytes.Equal(kept, b) {
		t.Errorf("the damaged file was not kept as it was: %v", err)
	}
	if kept, _ := KeptCopies(dir); len(kept) != 1 {
		t.Errorf("kept copies %+v", kept)
	}
	if _, err := os.Stat(filepath.Join(dir, salvageDir)); err == nil {
		t.Error("the salvage's directory was left behind")
	}
	s, err = Open(dir, o)
	if err != nil {
		t.Fatalf("the recovered store: %v", err)
	}
	defer s.Close()
	got := takeSnapshot(t, s)
	have := map[string]bool{}
	for _, r := range got.Identities {
		have[r.ID] = true
	}
	for _, r := range backedUp.Identities {
		if !have[r.ID] {
			t.Errorf("visitor %s of the backup is missing", r.ID)
		}
	}
	if have["p000005"] {
		t.Error("the forgotten visitor came back")
	}
	if len(got.Staff) != len(final.Staff) || len(got.Customers) != len(final.Customers) {
		t.Errorf("staff %d of %d, customers %d of %d", len(got.Staff), len(final.Staff), len(got.Customers), len(final.Customers))
	}
	if rec.Kept.Identities+rec.Restored.Identities != len(got.Identities) {
		t.Errorf("report %+v for %d visitors after", rec.SalvageReport, len(got.Identities))
	}
	if rec.Before >= 0 && (rec.Before != len(final.Identities) || rec.Lost() != len(final.Identities)-len(got.Identities)) {
		t.Errorf("report: %d before, %d lost; the store had %d and lacks %d", rec.Before, rec.Lost(), len(final.Identities), len(final.Identities)-len(got.Identities))
	}
	t.Logf("%d visitors before the damage; the damaged file kept %d, the backup restored %d; %d lost (visitors newer than the backup that were on damaged pages)",
		len(final.Identities), rec.Kept.Identities, rec.Restored.Identities, len(final.Identities)-len(got.Identities))
}

// A store whose file is lost entirely (nothing salvageable) comes back
// from its backup.
func TestRecoverFromBackupOnly(t *testing.T) {
	dir := t.TempDir()
	o := Options{Model: realModel, Backup: true}
	want := realStore(t, dir, "", 50, o)
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.WriteFile(filepath.Join(dir, FileName), []byte("garbage garbage garbage"), 0o600)
	_, cause := Open(dir, o)
	rec, err := Recover(dir, o, cause, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := takeSnapshot(t, s); !reflect.DeepEqual(got, want) || rec.Restored.Identities != len(want.Identities) {
		t.Errorf("restored %d of %d visitors: %v", len(got.Identities), len(want.Identities), rec)
	}
	if !strings.Contains(rec.String(), "restored from the backup") {
		t.Errorf("report %q", rec)
	}
}

// A wrong key is not damage: Recover refuses and sets nothing aside.
func TestRecoverWrongKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(t.TempDir(), "store.key")
	realStore(t, dir, key, 20, Options{})
	path := filepath.Join(dir, FileName)
	info, _ := boltfile.Verify(path)
	os.Truncate(path, int64(info.Pages-1)*int64(info.PageSize))
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	_, err := Recover(dir, Options{Model: realModel, KeyFile: other}, nil, time.Now())
	var ee *EncryptedError
	if !errors.As(err, &ee) || ee.Reason != "wrong key" {
		t.Errorf("recovering with another key: %v", err)
	}
	if kept, _ := KeptCopies(dir); len(kept) != 0 {
		t.Errorf("set aside with a wrong key: %v", kept)
	}
}

// Damaged files set aside hold people's records: compaction deletes them
// once older than the store keeps records (Options.KeepDamaged).
func TestKeepDamaged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Model: testModel, Create: true, KeepDamaged: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := filepath.Join(dir, FileName)
	old := path + ".damaged-" + time.Now().Add(-48*time.Hour).UTC().Format("20060102T150405Z")
	recent := path + ".damaged-" + time.Now().Add(-time.Hour).UTC().Format("20060102T150405Z")
	for _, p := range []string{old, recent} {
		os.WriteFile(p, []byte("damaged"), 0o600)
	}
	if _, _, err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("a damaged file older than the retention was kept")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("a recent damaged file was deleted")
	}
}

// A backup of a plain store goes when the store is encrypted: it would
// keep in the clear what is now encrypted.
func TestBackupGoesWithEncryption(t *testing.T) {
	dir := t.TempDir()
	realStore(t, dir, "", 10, Options{})
	s, err := Open(dir, Options{Model: realModel, Backup: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{Model: realModel, KeyFile: filepath.Join(t.TempDir(), "store.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Encrypted() {
		t.Fatal("not encrypted")
	}
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); err == nil {
		t.Error("the plain backup outlived the encryption")
	}
}
