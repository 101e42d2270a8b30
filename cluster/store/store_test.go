package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"joren/vocab"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var testModel = vocab.Model{Name: "toy", Digest: "0123456789abcdef", Dim: 4, Metric: vocab.Euclidean, Threshold: 1}

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// variant is the kind of store the shared suite runs on: plain, or
// encrypted with a key file outside the store's directory.
type variant struct {
	name    string
	keyFile string // "" for a plain store
}

// opts adds the variant's key to o.
func (v *variant) opts(o Options) Options {
	if o.KeyFile == "" {
		o.KeyFile = v.keyFile
	}
	return o
}

func (v *variant) open(t testing.TB, dir string, l Limits) *Store {
	t.Helper()
	s, err := Open(dir, v.opts(Options{Model: testModel, Create: true, Limits: l, Now: func() time.Time { return t0 }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStore runs the shared suite on a plain and on an encrypted store:
// every behaviour of the store holds for both.
func TestStore(t *testing.T) {
	suite := []struct {
		name string
		fn   func(*testing.T, *variant)
	}{
		{"CreateAndReopen", testCreateAndReopen},
		{"NotAStore", testNotAStore},
		{"NewerSchemaRefused", testNewerSchemaRefused},
		{"MigrateFromSchema1", testMigrateFromSchema1},
		{"MigrateFromSchema2", testMigrateFromSchema2},
		{"DeleteIdentityTakesEverything", testDeleteIdentityTakesEverything},
		{"MoveVisits", testMoveVisits},
		{"EvictionOrder", testEvictionOrder},
		{"ByteCap", testByteCap},
		{"Expire", testExpire},
		{"OneWriter", testOneWriter},
		{"CheckFindsDamage", testCheckFindsDamage},
		{"StaffRecords", testStaffRecords},
		{"Customers", testCustomers},
		{"Mode", testMode},
		{"DamagedFile", testDamagedFile},
		{"RetentionLeavesNothing", testRetentionLeavesNothing},
		{"CompactWhileInUse", testCompactWhileInUse},
	}
	for _, kind := range []string{"plain", "encrypted"} {
		for _, c := range suite {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				v := &variant{name: kind}
				if kind == "encrypted" {
					// Outside the store's directory, as on a device.
					v.keyFile = filepath.Join(t.TempDir(), "boot", "store.key")
					os.Mkdir(filepath.Dir(v.keyFile), 0o700)
				}
				c.fn(t, v)
			})
		}
	}
}

func ident(id string, seen time.Time, ever bool, exemplars int) Identity {
	rec := Identity{ID: id, Created: seen, LastSeen: seen, LastVisit: "v-" + id, LastEnd: seen, Visits: exemplars, TotalDays: 1,
		Days: []int32{int32(seen.Unix() / 86400)}, EverRegular: ever, Regular: ever}
	for i := 0; i < exemplars; i++ {
		rec.Exemplars = append(rec.Exemplars, Exemplar{Visit: fmt.Sprintf("v-%s-%d", id, i), Time: seen, Day: 20000, Count: 2, Mean: []float32{1, 2, 3, float32(i)}})
	}
	return rec
}

func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, rec := range []Identity{
		{ID: "p000001"},
		ident("p000002", t0, true, 3),
		{ID: "p000003", Created: t0, LastSeen: t0.Add(time.Hour), Days: []int32{20390, 20391, 20399}, Apart: []string{"p000001", "p000002"},
			RegularSince: t0, Regular: true, Exemplars: []Exemplar{{Visit: "v", Time: t0, Day: -3, Count: 1, Mean: []float32{float32(math.Inf(1)), -0, 1e-38}}}},
	} {
		b := encodeIdentity(rec)
		got, err := decodeIdentity(b)
		if err != nil {
			t.Fatalf("%s: %v", rec.ID, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
		}
		// Every truncation is an error, never a panic or a silent success.
		for n := 0; n < len(b); n++ {
			if _, err := decodeIdentity(b[:n]); err == nil {
				t.Fatalf("%s truncated to %d of %d bytes decoded without error", rec.ID, n, len(b))
			}
		}
	}
	v := Visit{ID: "v1", Identity: "p000001", Visitor: "p000002", Time: t0, Days: 3, Visits: 4, Regular: true, New: false, Became: true, Confidence: 0.75}
	got, err := decodeVisit(encodeVisit(v))
	if err != nil || got != v {
		t.Errorf("visit round trip: %+v, %v", got, err)
	}
	if _, err := decodeIdentity([]byte{9, 1, 2}); err == nil || !strings.Contains(err.Error(), "encoding 9") {
		t.Errorf("unknown encoding: %v", err)
	}
	// A corrupt length must not allocate the moon.
	if _, err := decodeIdentity([]byte{identityCodec, 0xff, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Error("huge length accepted")
	}
}

func testCreateAndReopen(t *testing.T, v *variant) {
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := Open(dir, v.opts(Options{Model: testModel})); !errors.Is(err, ErrNoStore) {
		t.Fatalf("open without Create: %v", err)
	}
	if _, err := Open(dir, v.opts(Options{Create: true})); err == nil || !strings.Contains(err.Error(), "model") {
		t.Fatalf("create without a model: %v", err)
	}
	s, err := Open(dir, v.opts(Options{Model: testModel, Create: true, Zone: "Asia/Tokyo", Now: func() time.Time { return t0 }}))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		if err := tx.PutIdentity(ident("p000001", t0, false, 2)); err != nil {
			return err
		}
		return tx.PutVisit(Visit{ID: "v1", Identity: "p000001", Time: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("store file mode %v (%v): descriptors must be private", st.Mode(), err)
	}

	s, err = Open(dir, v.opts(Options{Model: testModel}))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Meta()
	if m.Schema != Schema || m.Model != testModel || m.Zone != "Asia/Tokyo" || !m.Created.Equal(t0) {
		t.Errorf("meta %+v", m)
	}
	mustCheck(t, s)
	s.Close()

	other := testModel
	other.Digest = "fedcba9876543210"
	_, err = Open(dir, v.opts(Options{Model: other}))
	var me *ModelError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "re-enrol staff and start a new store") || !strings.Contains(err.Error(), "toy@0123456789ab") {
		t.Errorf("another model: %v", err)
	}
	wide := testModel
	wide.Dim = 8
	if _, err := Open(dir, v.opts(Options{Model: wide})); !errors.As(err, &me) {
		t.Errorf("another dimension: %v", err)
	}
	if _, err := Open(dir, v.opts(Options{Zone: "Europe/Paris"})); err == nil || !strings.Contains(err.Error(), "counts days in time zone Asia/Tokyo") {
		t.Errorf("another zone: %v", err)
	}
	// Inspection opens any model, read-only.
	ro, err := Open(dir, v.opts(Options{ReadOnly: true}))
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
}

func testNotAStore(t *testing.T, v *variant) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bMeta)
		return err
	})
	db.Close()
	if _, err := Open(dir, v.opts(Options{Model: testModel})); err == nil || !strings.Contains(err.Error(), "not a joren identity store") {
		t.Errorf("foreign bbolt file: %v", err)
	}
	garbage := t.TempDir()
	os.WriteFile(filepath.Join(garbage, FileName), []byte(strings.Repeat("not a database ", 1000)), 0o600)
	if _, err := Open(garbage, v.opts(Options{Model: testModel})); err == nil {
		t.Error("garbage file opened")
	}
}

func testNewerSchemaRefused(t *testing.T, v *variant) {
	dir := t.TempDir()
	s := v.open(t, dir, Limits{})
	s.Update(func(tx *Tx) error { return tx.PutIdentity(ident("p000001", t0, false, 1)) })
	s.Close()
	setSchema(t, dir, Schema+1)
	_, err := Open(dir, v.opts(Options{Model: testModel}))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("written by a newer joren (schema %d; this build reads up to %d)", Schema+1, Schema)) {
		t.Fatalf("newer schema: %v", err)
	}
	// Refusing changed nothing.
	setSchema(t, dir, Schema)
	s, err = Open(dir, v.opts(Options{Model: testModel}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustCheck(t, s)
}

func setSchema(t testing.TB, dir string, v int) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		var m Meta
		if err := json.Unmarshal(tx.Bucket(bMeta).Get(kMeta), &m); err != nil {
			return err
		}
		m.Schema = v
		return putMeta(tx, m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateFromSchema1 writes a store as schema 1 laid it out (records
// only, no indexes or counters) and opens it: the migration builds them.
func testMigrateFromSchema1(t *testing.T, v *variant) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Identity{ident("p000001", t0, true, 2), ident("p000002", t0.AddDate(0, 0, 1), false, 1)}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bIdentities, bVisits, bStaff} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		if err := putMeta(tx, Meta{Schema: 1, Model: testModel, Zone: "UTC", Created: t0}); err != nil {
			return err
		}
		if err := tx.Bucket(bMeta).Put(kNext, be64(2)); err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.Bucket(bIdentities).Put([]byte(r.ID), encodeIdentity(r)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bVisits).Put([]byte("v1"), encodeVisit(Visit{ID: "v1", Identity: "p000001", Time: t0})); err != nil {
			return err
		}
		st, _ := json.Marshal(Staff{Name: "Ann", Exemplars: [][]float32{{1, 2, 3, 4}}})
		return tx.Bucket(bStaff).Put([]byte("Ann"), st)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, v.opts(Options{ReadOnly: true})); err == nil || !strings.Contains(err.Error(), "open it once for writing") {
		t.Fatalf("read-only open of an old schema: %v", err)
	}
	s, err := Open(dir, v.opts(Options{Model: testModel}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Meta().Schema != Schema {
		t.Errorf("schema %d after migration", s.Meta().Schema)
	}
	mustCheck(t, s)
	s.View(func(tx *Tx) error {
		if tx.Count() != 2 {
			t.Errorf("count %d", tx.Count())
		}
		vs, _ := tx.VisitsOf("p000001")
		if len(vs) != 1 {
			t.Errorf("visits of p000001: %v", vs)
		}
		var order []string
		tx.BySeen(func(id string, _ time.Time, ever bool) (bool, error) {
			order = append(order, fmt.Sprint(id, ever))
			return true, nil
		})
		if !reflect.DeepEqual(order, []string{"p000001true", "p000002false"}) {
			t.Errorf("last-seen order %v", order)
		}
		return nil
	})
	// Ids continue after the old counter.
	s.Update(func(tx *Tx) error {
		if id, _ := tx.NewID(); id != "p000003" {
			t.Errorf("next id %s", id)
		}
		return nil
	})
}

func testDeleteIdentityTakesEverything(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{})
	err := s.Update(func(tx *Tx) error {
		for _, r := range []Identity{ident("p000001", t0, false, 2), ident("p000002", t0, false, 1), ident("p000003", t0, false, 1)} {
			if err := tx.PutIdentity(r); err != nil {
				return err
			}
		}
		for i, who := range []string{"p000001", "p000001", "p000002", ""} {
			if err := tx.PutVisit(Visit{ID: fmt.Sprint("v", i), Identity: who, Staff: map[bool]string{true: "Ann"}[who == ""], Time: t0}); err != nil {
				return err
			}
		}
		if err := tx.MarkDirty("p000001"); err != nil {
			return err
		}
		// p000003 was merged into p000001.
		if err := tx.PutAlias("p000003", "p000001", t0); err != nil {
			return err
		}
		_, err := tx.DeleteIdentity("p000003")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	err = s.Update(func(tx *Tx) error {
		if got, _ := tx.Resolve("p000003"); got != "p000001" {
			t.Errorf("alias resolves to %s", got)
		}
		ok, err := tx.DeleteIdentity("p000001")
		if !ok || err != nil {
			return fmt.Errorf("delete: %v %v", ok, err)
		}
		if _, ok, _ := tx.Identity("p000001"); ok {
			t.Error("identity still there")
		}
		for _, v := range []string{"v0", "v1"} {
			if _, ok, _ := tx.Visit(v); ok {
				t.Errorf("visit %s of a deleted identity kept", v)
			}
		}
		for _, v := range []string{"v2", "v3"} {
			if _, ok, _ := tx.Visit(v); !ok {
				t.Errorf("visit %s of someone else deleted", v)
			}
		}
		if d := tx.Dirty(0); len(d) != 0 {
			t.Errorf("to-do list %v", d)
		}
		if got, _ := tx.Resolve("p000003"); got != "p000003" {
			t.Errorf("alias to a deleted identity kept: %s", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
}

func testMoveVisits(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{})
	err := s.Update(func(tx *Tx) error {
		tx.PutIdentity(ident("p000001", t0, false, 1))
		tx.PutIdentity(ident("p000002", t0, false, 1))
		for i := 0; i < 3; i++ {
			tx.PutVisit(Visit{ID: fmt.Sprint("v", i), Identity: "p000001", Time: t0})
		}
		if err := tx.MoveVisits("p000001", "p000002", []string{"v1"}); err != nil {
			return err
		}
		a, _ := tx.VisitsOf("p000001")
		b, _ := tx.VisitsOf("p000002")
		if len(a) != 2 || len(b) != 1 || b[0].ID != "v1" || b[0].Identity != "p000002" {
			t.Errorf("after moving v1: %v, %v", a, b)
		}
		if err := tx.MoveVisits("p000001", "p000002", nil); err != nil {
			return err
		}
		a, _ = tx.VisitsOf("p000001")
		b, _ = tx.VisitsOf("p000002")
		if len(a) != 0 || len(b) != 3 {
			t.Errorf("after moving all: %v, %v", a, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
}

// TestEvictionOrder: when full, never-regular identities go first, least
// recently seen first; regulars only when nothing else is left.
func testEvictionOrder(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{MaxIdentities: 4})
	var evicted []string
	err := s.Update(func(tx *Tx) error {
		for i, ever := range []bool{true, false, true, false, false, true} {
			// p000001 is the least recently seen. (Days apart: an
			// encrypted store orders by day only.)
			if err := tx.PutIdentity(ident(fmt.Sprintf("p%06d", i+1), t0.AddDate(0, 0, i), ever, 1)); err != nil {
				return err
			}
		}
		var err error
		evicted, err = tx.MakeRoom(0, 0, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p000002", "p000004"}; !reflect.DeepEqual(evicted, want) {
		t.Errorf("evicted %v, want %v (never-regular, least recent first)", evicted, want)
	}
	// Room for 3 more: the last never-regular, then the least recent regular.
	s.Update(func(tx *Tx) error {
		evicted, err = tx.MakeRoom(3, 0, "p000001")
		return err
	})
	if want := []string{"p000005", "p000003", "p000006"}; !reflect.DeepEqual(evicted, want) {
		t.Errorf("evicted %v, want %v (keep spared, regulars last)", evicted, want)
	}
	mustCheck(t, s)
}

// TestByteCap churns identities through a small byte cap: the records stay
// under the cap and the file does not grow without bound.
func testByteCap(t *testing.T, v *variant) {
	const limit = 64 << 10
	s := v.open(t, t.TempDir(), Limits{MaxBytes: limit, MaxIdentities: 1 << 20})
	var sizes []int64
	for round := 0; round < 30; round++ {
		err := s.Update(func(tx *Tx) error {
			for i := 0; i < 100; i++ {
				n := round*100 + i
				if err := tx.PutIdentity(ident(fmt.Sprintf("p%06d", n), t0.Add(time.Duration(n)*time.Second), false, 8)); err != nil {
					return err
				}
				if err := tx.PutVisit(Visit{ID: fmt.Sprint("v", n), Identity: fmt.Sprintf("p%06d", n), Time: t0}); err != nil {
					return err
				}
				if _, err := tx.MakeRoom(0, 0, ""); err != nil {
					return err
				}
				if tx.Bytes() > limit {
					return fmt.Errorf("%d bytes of records, cap %d", tx.Bytes(), limit)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := s.FileSize()
		sizes = append(sizes, fs)
	}
	mustCheck(t, s)
	if last := sizes[len(sizes)-1]; last > 2*sizes[9]+256<<10 {
		t.Errorf("file keeps growing under a byte cap: %v", sizes)
	}
	t.Logf("file sizes %v", sizes)
}

func testExpire(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{})
	s.Update(func(tx *Tx) error {
		for i := 0; i < 5; i++ {
			tx.PutIdentity(ident(fmt.Sprintf("p%06d", i+1), t0.AddDate(0, 0, i*10), i == 0, 1))
			tx.PutVisit(Visit{ID: fmt.Sprint("v", i), Identity: fmt.Sprintf("p%06d", i+1), Time: t0.AddDate(0, 0, i*10)})
		}
		return nil
	})
	var dead []string
	s.Update(func(tx *Tx) error {
		var err error
		// Regulars too: retention is about being unseen, not status.
		dead, err = tx.Expire(t0.AddDate(0, 0, 25), 0)
		if err != nil {
			return err
		}
		n, err := tx.PruneVisits(t0.AddDate(0, 0, 25))
		if n != 0 {
			t.Errorf("%d visits pruned after their identities went", n)
		}
		return err
	})
	if !reflect.DeepEqual(dead, []string{"p000001", "p000002", "p000003"}) {
		t.Errorf("expired %v", dead)
	}
	s.Update(func(tx *Tx) error {
		if dead, _ = tx.Expire(t0.AddDate(0, 0, 100), 1); len(dead) != 1 {
			t.Errorf("limit 1 expired %v", dead)
		}
		return nil
	})
	mustCheck(t, s)
}

func testOneWriter(t *testing.T, v *variant) {
	dir := t.TempDir()
	v.open(t, dir, Limits{})
	_, err := Open(dir, v.opts(Options{Model: testModel}))
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second writer: %v", err)
	}
}

func testCheckFindsDamage(t *testing.T, v *variant) {
	dir := t.TempDir()
	s := v.open(t, dir, Limits{})
	s.Update(func(tx *Tx) error {
		tx.PutIdentity(ident("p000001", t0, false, 1))
		return tx.PutVisit(Visit{ID: "v1", Identity: "p000001", Time: t0})
	})
	mustCheck(t, s)
	// A record damaged behind the store's back (written in the clear:
	// an encrypted store's check cannot even open it), and an index entry
	// lost.
	s.db.Update(func(btx *bolt.Tx) error {
		btx.Bucket(bIdentities).Put([]byte("p000009"), []byte{identityCodec, 1})
		return btx.Bucket(bSeen).Delete((&Tx{tx: btx, s: s}).seenKeyOf(t0, "p000001"))
	})
	err := s.Check()
	damage := "identity p000009: decoding identity"
	if v.keyFile != "" {
		damage = "record identities/p000009 fails authentication"
	}
	for _, want := range []string{damage, "p000001 missing from the last-seen index", "byte count"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check: %v; want %q", err, want)
		}
	}
}

func testStaffRecords(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{})
	s.Update(func(tx *Tx) error {
		tx.PutStaff(Staff{Name: "Ann", Added: t0, Sources: []string{"a.jpg"}, Exemplars: [][]float32{{1, 2, 3, 4}}})
		tx.PutStaff(Staff{Name: "Bo", Added: t0, Sources: []string{"b.jpg"}, Exemplars: [][]float32{{4, 3, 2, 1}}})
		return nil
	})
	mustCheck(t, s)
	s.Update(func(tx *Tx) error {
		if ok, _ := tx.DeleteStaff("Ann"); !ok {
			t.Error("Ann not deleted")
		}
		if ok, _ := tx.DeleteStaff("Ann"); ok {
			t.Error("Ann deleted twice")
		}
		var names []string
		tx.ForEachStaff(func(m Staff) error { names = append(names, m.Name); return nil })
		if !reflect.DeepEqual(names, []string{"Bo"}) || tx.StaffCount() != 1 {
			t.Errorf("staff %v", names)
		}
		return nil
	})
	mustCheck(t, s)
}

// TestDamagedFile flips bytes all over a store file: every operation must
// fail with an error (or succeed on what is intact), never panic.
func testDamagedFile(t *testing.T, v *variant) {
	dir := t.TempDir()
	s := v.open(t, dir, Limits{})
	s.Update(func(tx *Tx) error {
		for i := 0; i < 300; i++ {
			tx.PutIdentity(ident(fmt.Sprintf("p%06d", i), t0.Add(time.Duration(i)*time.Second), i%3 == 0, 4))
			tx.PutVisit(Visit{ID: fmt.Sprint("v", i), Identity: fmt.Sprintf("p%06d", i), Time: t0})
		}
		return nil
	})
	s.Close()
	good, _ := os.ReadFile(filepath.Join(dir, FileName))
	for trial := 0; trial < 40; trial++ {
		b := append([]byte(nil), good...)
		at := (trial*7919*4096 + 4096*2) % len(b)
		for i := at; i < at+512 && i < len(b); i++ {
			b[i] ^= byte(0x5a + trial)
		}
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, FileName), b, 0o600)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("trial %d (bytes %d+512): panic %v", trial, at, r)
				}
			}()
			st, err := Open(d, v.opts(Options{ReadOnly: true}))
			if err != nil {
				return
			}
			defer st.Close()
			st.Check()
			st.View(func(tx *Tx) error {
				tx.ForEachIdentity(func(Identity) error { return nil })
				return tx.ForEachVisit(func(Visit) error { return nil })
			})
		}()
	}
}
