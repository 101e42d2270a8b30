package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"joren/internal/testenv"
)

// TestMain lets the test binary stand in for a process that encrypts a
// store (TestEncryptCrash kills it midway).
func TestMain(m *testing.M) {
	if spec := os.Getenv("JOREN_STORE_TEST_ENCRYPT"); spec != "" {
		dir, key, _ := strings.Cut(spec, "|")
		s, err := Open(dir, Options{KeyFile: key})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// secretFace is a descriptor whose bytes are found nowhere else.
func secretFace(i int) []float32 {
	return []float32{0.123456 + float32(i), -0.654321, 0.777777, -0.313131}
}

func faceBytes(f []float32) []byte {
	var b []byte
	for _, x := range f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func fileHas(t testing.TB, dir string, needle []byte) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, needle)
}

// snapshot is everything a store holds, decoded, for comparisons.
type snapshot struct {
	Identities []Identity
	Visits     []Visit
	Staff      []Staff
	Customers  []Customer
	Count      int
}

func takeSnapshot(t testing.TB, s *Store) snapshot {
	t.Helper()
	var sn snapshot
	err := s.View(func(tx *Tx) error {
		sn.Count = tx.Count()
		if err := tx.ForEachIdentity(func(r Identity) error { sn.Identities = append(sn.Identities, r); return nil }); err != nil {
			return err
		}
		if err := tx.ForEachVisit(func(v Visit) error { sn.Visits = append(sn.Visits, v); return nil }); err != nil {
			return err
		}
		if err := tx.ForEachStaff(func(m Staff) error { sn.Staff = append(sn.Staff, m); return nil }); err != nil {
			return err
		}
		return tx.ForEachCustomer(func(c Customer) error { sn.Customers = append(sn.Customers, c); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	// An encrypted store lists visits in no particular order.
	sortVisits(sn.Visits)
	return sn
}

func sortVisits(vs []Visit) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].ID < vs[j-1].ID; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

// fill writes n identities with a visit each, a staff member and a
// customer.
func fill(t testing.TB, s *Store, n int) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("p%06d", i+1)
			rec := ident(id, t0.Add(time.Duration(i)*time.Minute), i%5 == 0, 2)
			rec.Exemplars[0].Mean = secretFace(i)
			if i == 0 {
				rec.Customer = "Hanako Yamada"
			}
			if err := tx.PutIdentity(rec); err != nil {
				return err
			}
			if err := tx.PutVisit(Visit{ID: fmt.Sprintf("01VISIT%06d", i), Identity: id, Visitor: id, Time: rec.LastSeen, Days: 1, Visits: 1}); err != nil {
				return err
			}
		}
		if err := tx.PutCustomer(Customer{Name: "Hanako Yamada", Note: "member 4711", Consented: t0, Identity: "p000001", Sources: []string{"hanako.jpg"}, Exemplars: [][]float32{secretFace(-1)}}); err != nil {
			return err
		}
		if err := tx.PutAlias("p999999", "p000002", t0); err != nil {
			return err
		}
		return tx.PutStaff(Staff{Name: "Taro Suzuki", Added: t0, Sources: []string{"taro.jpg"}, Exemplars: [][]float32{{4, 3, 2, 1}}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testMigrateFromSchema2 writes a store as schema 2 laid it out (identity
// records of encoding 1, no customers, no mode) and opens it: migrated to
// the current schema in counting mode, and, given a key, encrypted.
func testMigrateFromSchema2(t *testing.T, v *variant) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := ident("p000001", t0, true, 2)
	enc := encodeIdentity(rec)
	v1 := append([]byte{1}, enc[1:len(enc)-1]...) // encoding 1: no Customer
	visit := encodeVisit(Visit{ID: "v1", Identity: "p000001", Time: t0})
	staff, _ := json.Marshal(Staff{Name: "Ann", Exemplars: [][]float32{{1, 2, 3, 4}}})
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bIdentities, bSeen, bVisits, bByIdentity, bStaff, bDirty, bAliases} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		m, _ := json.Marshal(map[string]any{"schema": 2, "model": testModel, "zone": "UTC", "created": t0, "maintained": 0})
		tx.Bucket(bMeta).Put(kMeta, m)
		tx.Bucket(bMeta).Put(kNext, be64(1))
		tx.Bucket(bMeta).Put(kIdentities, be64(1))
		tx.Bucket(bMeta).Put(kBytes, be64(uint64(len("p000001")+len(v1)+len("v1")+len(visit)+len("Ann")+len(staff))))
		tx.Bucket(bIdentities).Put([]byte("p000001"), v1)
		tx.Bucket(bSeen).Put(seenKey(t0, "p000001"), []byte{1})
		tx.Bucket(bVisits).Put([]byte("v1"), visit)
		tx.Bucket(bByIdentity).Put([]byte("p000001\x00v1"), nil)
		return tx.Bucket(bStaff).Put([]byte("Ann"), staff)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, v.opts(Options{Model: testModel}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Meta()
	if m.Schema != Schema || m.Mode != Counting || s.Encrypted() != (v.keyFile != "") {
		t.Errorf("after migration: %+v, encrypted %v", m, s.Encrypted())
	}
	mustCheck(t, s)
	sn := takeSnapshot(t, s)
	if len(sn.Identities) != 1 || !reflect.DeepEqual(sn.Identities[0], rec) || len(sn.Visits) != 1 || len(sn.Staff) != 1 {
		t.Errorf("records after migration: %+v", sn)
	}
}

// testCustomers: an enrolment belongs to its identity, goes with it, is
// never evicted to make room, and expires like anyone.
func testCustomers(t *testing.T, v *variant) {
	s := v.open(t, t.TempDir(), Limits{MaxIdentities: 3})
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutCustomer(Customer{Name: "Ghost", Identity: "p000009"}); err == nil {
			t.Error("a customer without an identity was stored")
		}
		for i, name := range []string{"Ann", "", "", "Bo"} {
			rec := ident(fmt.Sprintf("p%06d", i+1), t0.AddDate(0, 0, i), false, 1)
			rec.Customer = name
			if err := tx.PutIdentity(rec); err != nil {
				return err
			}
			if name != "" {
				if err := tx.PutCustomer(Customer{Name: name, Consented: t0, Identity: rec.ID, Exemplars: [][]float32{{1, 1, 1, 1}}}); err != nil {
					return err
				}
			}
		}
		// Room for one more: p000002 goes, the older p000001 is Ann's.
		evicted, err := tx.MakeRoom(1, 0, "")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(evicted, []string{"p000002", "p000003"}) {
			t.Errorf("evicted %v, want the two who did not enrol", evicted)
		}
		if tx.CustomerCount() != 2 {
			t.Errorf("%d customers", tx.CustomerCount())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	err = s.Update(func(tx *Tx) error {
		// Retention is for everyone.
		dead, err := tx.Expire(t0.Add(36*time.Hour), 0)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(dead, []string{"p000001"}) {
			t.Errorf("expired %v", dead)
		}
		if _, ok, _ := tx.Customer("Ann"); ok {
			t.Error("an expired customer's enrolment kept")
		}
		var names []string
		tx.ForEachCustomer(func(c Customer) error { names = append(names, c.Name); return nil })
		if !reflect.DeepEqual(names, []string{"Bo"}) {
			t.Errorf("customers %v", names)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
}

func testMode(t *testing.T, v *variant) {
	dir := t.TempDir()
	s, err := Open(dir, v.opts(Options{Model: testModel, Create: true, Mode: Consent}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta().Mode != Consent {
		t.Errorf("new store's mode %q", s.Meta().Mode)
	}
	if err := s.Update(func(tx *Tx) error { return tx.SetMode("everyone") }); err == nil {
		t.Error("unknown mode accepted")
	}
	if err := s.Update(func(tx *Tx) error { return tx.SetMode(Counting) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, v.opts(Options{Model: testModel, Mode: Consent})) // an existing store keeps its mode
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Meta().Mode != Counting {
		t.Errorf("mode %q after reopening", s.Meta().Mode)
	}
	if _, err := Open(t.TempDir(), v.opts(Options{Model: testModel, Create: true, Mode: "all"})); err == nil {
		t.Error("store made with an unknown mode")
	}
}

// testRetentionLeavesNothing: once an identity has expired and the store
// is compacted, no byte of its descriptors or of its visit log is left in
// the file, free pages included.
func testRetentionLeavesNothing(t *testing.T, v *variant) {
	dir := t.TempDir()
	s := v.open(t, dir, Limits{})
	fill(t, s, 50)
	target := faceBytes(secretFace(7)) // p000008's
	if v.keyFile != "" && fileHas(t, dir, target) {
		t.Fatal("an encrypted store's file holds a descriptor in the clear")
	}
	if v.keyFile == "" && !fileHas(t, dir, target) {
		t.Fatal("test broken: the plain store's file lacks the descriptor")
	}
	err := s.Update(func(tx *Tx) error {
		dead, err := tx.Expire(t0.Add(8*time.Minute), 0)
		if err != nil || len(dead) != 8 {
			return fmt.Errorf("expired %v: %v", dead, err)
		}
		if vs, _ := tx.VisitsOf("p000008"); len(vs) != 0 {
			t.Errorf("visit log of an expired identity kept: %v", vs)
		}
		if _, ok, _ := tx.Visit("01VISIT000007"); ok {
			t.Error("visit of an expired identity kept")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// bbolt frees the pages of deleted records without overwriting them.
	t.Logf("before compaction, the expired descriptor's bytes are in the file: %v", fileHas(t, dir, target))
	before, after, err := s.Compact()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction: %d -> %d bytes", before, after)
	for _, needle := range [][]byte{target, []byte("01VISIT000007")} {
		if fileHas(t, dir, needle) {
			t.Errorf("after retention and compaction the file still holds %q", needle)
		}
	}
	if v.keyFile == "" && !fileHas(t, dir, faceBytes(secretFace(30))) {
		t.Error("compaction lost a live identity's descriptor")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+compactSuffix)); err == nil {
		t.Error("compaction left its temporary file")
	}
	mustCheck(t, s)
	if sn := takeSnapshot(t, s); sn.Count != 42 || len(sn.Visits) != 42 {
		t.Errorf("after compaction: %d identities, %d visits", sn.Count, len(sn.Visits))
	}
}

// testCompactWhileInUse compacts while other goroutines read and write:
// nothing is lost, nothing fails, and the file stays locked throughout.
func testCompactWhileInUse(t *testing.T, v *variant) {
	dir := t.TempDir()
	s := v.open(t, dir, Limits{})
	fill(t, s, 300)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				id := fmt.Sprintf("q%d-%03d", w, i)
				err := s.Update(func(tx *Tx) error { return tx.PutIdentity(ident(id, t0, false, 1)) })
				if err == nil {
					err = s.View(func(tx *Tx) error {
						if _, ok, err := tx.Identity(id); !ok || err != nil {
							return fmt.Errorf("%s not read back: %v", id, err)
						}
						return nil
					})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < 3; i++ {
		if _, _, err := s.Compact(); err != nil {
			t.Fatal(err)
		}
		// The new file is locked as the old one was.
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: 50 * time.Millisecond})
		if err == nil {
			db.Close()
			t.Errorf("after compaction %d, another process could open the store", i)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustCheck(t, s)
	if n := takeSnapshot(t, s).Count; n != 390 {
		t.Errorf("%d identities, want 390", n)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store.key")
	k, made, err := LoadOrCreateKey(path)
	if err != nil || !made {
		t.Fatalf("create: %v %v", made, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v)", st.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if len(b) != 65 || b[64] != '\n' {
		t.Errorf("key file %q: want 64 hexadecimal digits and a newline", b)
	}
	again, made, err := LoadOrCreateKey(path)
	if err != nil || made || again.ID() != k.ID() {
		t.Errorf("second use made another key: %v %v", made, err)
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{"short", "abcd\n", "not a store key (want 64 hexadecimal digits, the file has 5 bytes)"},
		{"not hex", strings.Repeat("zz", 32), "not a store key"},
		{"empty", "", "not a store key"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o600)
		if _, err := LoadKey(p); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// No directory: the partition of the key is not mounted. Never make
	// the directory (the key would land on the data partition).
	if _, _, err := LoadOrCreateKey(filepath.Join(dir, "boot", "joren", "store.key")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "boot")); err == nil {
		t.Error("the key's directory was created")
	}
}

// TestEncryptedStoreErrors: an encrypted store opened without its key, or
// with another, gives a clear error and changes nothing.
func TestEncryptedStoreErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "store")
	keyDir := filepath.Join(t.TempDir(), "boot")
	os.Mkdir(keyDir, 0o700)
	key := filepath.Join(keyDir, "store.key")
	s, err := Open(dir, Options{Model: testModel, Create: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Encrypted() || !s.KeyCreated() || s.Meta().Cipher != Cipher {
		t.Errorf("new store with a key: encrypted %v, key created %v, %+v", s.Encrypted(), s.KeyCreated(), s.Meta())
	}
	fill(t, s, 20)
	want := takeSnapshot(t, s)
	s.Close()
	good, _ := os.ReadFile(filepath.Join(dir, FileName))

	other := filepath.Join(keyDir, "other.key")
	if _, _, err := LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(keyDir, "garbage.key")
	os.WriteFile(garbage, []byte("hello\n"), 0o600)
	for _, tc := range []struct {
		name    string
		o       Options
		want    string
		missing bool
	}{
		{"no key", Options{Model: testModel}, "the store at " + dir + " is encrypted: give its key file (--key-file", false},
		{"no key, read-only", Options{ReadOnly: true}, "is encrypted: give its key file", false},
		{"missing key", Options{Model: testModel, KeyFile: filepath.Join(keyDir, "gone.key")}, "the store at " + dir + " is encrypted; key file " + filepath.Join(keyDir, "gone.key") + " is missing", true},
		{"wrong key", Options{Model: testModel, KeyFile: other}, "the store at " + dir + " is encrypted; key file " + other + " is not the key it was encrypted with", false},
		{"not a key", Options{ReadOnly: true, KeyFile: garbage}, "key file " + garbage + ": not a store key", false},
	} {
		_, err := Open(dir, tc.o)
		var ee *EncryptedError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
		if tc.missing {
			if _, err := os.Stat(tc.o.KeyFile); err == nil {
				t.Errorf("%s: a new key was made for an encrypted store", tc.name)
			}
		}
	}
	if now, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(now, good) {
		t.Error("a refused open changed the store's file")
	}
	s, err = Open(dir, Options{ReadOnly: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := takeSnapshot(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("records read back differ:\n got %+v\nwant %+v", got, want)
	}
	mustCheck(t, s)
}

// rawStore opens a store's file with bbolt alone, as someone without the
// key would.
func rawStore(t *testing.T, dir string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func encryptedStore(t *testing.T, n int) (dir, key string) {
	t.Helper()
	dir = t.TempDir()
	key = filepath.Join(t.TempDir(), "store.key")
	s, err := Open(dir, Options{Model: testModel, Create: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, n)
	s.Close()
	return dir, key
}

// TestTamperedRecord flips one byte of a sealed record in the file: every
// read of it, and the check, fail with an error naming the store and the
// record; the rest still reads.
func TestTamperedRecord(t *testing.T) {
	dir, key := encryptedStore(t, 40)
	var sealed []byte
	rawStore(t, dir, func(tx *bolt.Tx) error {
		sealed = bytes.Clone(tx.Bucket(bIdentities).Get([]byte("p000005")))
		return nil
	})
	path := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(path)
	n := 0
	for i := bytes.Index(b, sealed); i >= 0; i = bytes.Index(b, sealed) {
		b[i+len(sealed)/2] ^= 0x01 // one bit of the ciphertext
		n++
	}
	if n == 0 {
		t.Fatal("sealed record not found in the file")
	}
	os.WriteFile(path, b, 0o600)
	// Nothing is written to it: opening it to change it fails, naming the
	// record.
	if _, err := Open(dir, Options{Model: testModel, KeyFile: key}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "record identities/p000005 fails authentication") {
		t.Errorf("opening the tampered store to change it: %v", err)
	}
	s, err := Open(dir, Options{ReadOnly: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := "identity store " + dir + ": record identities/p000005 fails authentication"
	err = s.View(func(tx *Tx) error { _, _, err := tx.Identity("p000005"); return err })
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), want) {
		t.Errorf("reading the tampered record: %v", err)
	}
	if err := s.Check(); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "record identities/p000005 fails authentication") {
		t.Errorf("check: %v", err)
	}
	err = s.View(func(tx *Tx) error { return tx.ForEachIdentity(func(Identity) error { return nil }) })
	if !errors.As(err, &ae) {
		t.Errorf("reading every identity: %v", err)
	}
	err = s.View(func(tx *Tx) error {
		rec, ok, err := tx.Identity("p000006")
		if !ok || err != nil || rec.ID != "p000006" {
			return fmt.Errorf("an intact record: %v %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestSwappedRecords moves sealed values between records: each is bound
// to its bucket and key, so none opens in its new place.
func TestSwappedRecords(t *testing.T) {
	dir, key := encryptedStore(t, 10)
	var visitKey []byte
	rawStore(t, dir, func(tx *bolt.Tx) error {
		ids := tx.Bucket(bIdentities)
		a, b := bytes.Clone(ids.Get([]byte("p000002"))), bytes.Clone(ids.Get([]byte("p000003")))
		ids.Put([]byte("p000002"), b)
		ids.Put([]byte("p000003"), a)
		// And a visit's value under an identity's key.
		k, v := tx.Bucket(bVisits).Cursor().First()
		visitKey = bytes.Clone(k)
		return ids.Put([]byte("p000004"), bytes.Clone(v))
	})
	if _, err := Open(dir, Options{Model: testModel, KeyFile: key}); !errors.Is(err, ErrDamaged) {
		t.Errorf("opening the store to change it: %v", err)
	}
	s, err := Open(dir, Options{ReadOnly: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"p000002", "p000003", "p000004"} {
		err := s.View(func(tx *Tx) error { _, _, err := tx.Identity(id); return err })
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Key != id || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s after the swap: %v", id, err)
		}
	}
	if err := s.Check(); err == nil || strings.Count(err.Error(), "fails authentication") != 3 {
		t.Errorf("check: %v", err)
	}
	t.Logf("visit key %x", visitKey)
}

// TestEncryptedFileLeaksNothing: names, notes, descriptors and visit ids
// (which carry their time) are nowhere in an encrypted store's file.
func TestEncryptedFileLeaksNothing(t *testing.T) {
	dir, _ := encryptedStore(t, 60)
	for _, needle := range [][]byte{
		[]byte("Hanako Yamada"), []byte("member 4711"), []byte("Taro Suzuki"), []byte("hanako.jpg"),
		[]byte("01VISIT"), faceBytes(secretFace(3)), faceBytes(secretFace(-1)), []byte("p999999"[1:] + "p000002"),
	} {
		if fileHas(t, dir, needle) {
			t.Errorf("the encrypted store's file holds %q", needle)
		}
	}
}

// TestEncryptExisting opens a plain store with a key: it is encrypted in
// place, every record intact, no plaintext left in the file, and the key
// file made.
func TestEncryptExisting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Model: testModel, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 200)
	want := takeSnapshot(t, s)
	s.Close()
	key := filepath.Join(t.TempDir(), "store.key")
	// Read-only with a key: read as it is, not converted.
	ro, err := Open(dir, Options{ReadOnly: true, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Encrypted() {
		t.Error("a read-only open encrypted the store")
	}
	ro.Close()
	if _, err := os.Stat(key); err == nil {
		t.Error("a read-only open made a key")
	}
	s, err = Open(dir, Options{Model: testModel, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Encrypted() || !s.KeyCreated() {
		t.Errorf("encrypted %v, key created %v", s.Encrypted(), s.KeyCreated())
	}
	mustCheck(t, s)
	if got := takeSnapshot(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("records changed by encryption")
	}
	// It goes on working.
	if err := s.Update(func(tx *Tx) error { return tx.PutIdentity(ident("p000999", t0, false, 1)) }); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	s.Close()
	for _, needle := range [][]byte{[]byte("Hanako Yamada"), faceBytes(secretFace(150)), []byte("01VISIT000150")} {
		if fileHas(t, dir, needle) {
			t.Errorf("after encryption the file still holds %q", needle)
		}
	}
	if _, err := Open(dir, Options{Model: testModel}); err == nil || !strings.Contains(err.Error(), "is encrypted") {
		t.Errorf("opened without the key after encryption: %v", err)
	}
}

// TestEncryptCrash kills processes encrypting a store at random moments:
// the store is then either the plain store untouched or the encrypted
// store complete, never anything between, and the next open finishes the
// work.
func TestEncryptCrash(t *testing.T) {
	pristine := t.TempDir()
	s, err := Open(pristine, Options{Model: testModel, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 8000)
	want := takeSnapshot(t, s)
	s.Close()
	file, err := os.ReadFile(filepath.Join(pristine, FileName))
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	trial := func(i int, kill time.Duration) (encrypted, killed bool, took time.Duration) {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		os.Mkdir(dir, 0o700)
		os.WriteFile(filepath.Join(dir, FileName), file, 0o600)
		key := filepath.Join(keyDir, fmt.Sprintf("%d.key", i))
		cmd := testenv.Self(t, "-test.run=^$")
		cmd.Env = append(os.Environ(), "JOREN_STORE_TEST_ENCRYPT="+dir+"|"+key)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var runErr error
		if kill > 0 {
			select {
			case runErr = <-done:
			case <-time.After(kill):
				cmd.Process.Signal(syscall.SIGKILL)
				runErr = <-done
				killed = true
			}
		} else {
			runErr = <-done
		}
		took = time.Since(start)
		if runErr != nil && !killed {
			t.Fatalf("trial %d: %v: %s", i, runErr, stderr.String())
		}
		// Plain and untouched, or encrypted and complete.
		ro, err := Open(dir, Options{ReadOnly: true})
		var ee *EncryptedError
		switch {
		case errors.As(err, &ee):
			encrypted = true
			if ro, err = Open(dir, Options{ReadOnly: true, KeyFile: key}); err != nil {
				t.Fatalf("trial %d (killed %v): %v", i, killed, err)
			}
		case err != nil:
			t.Fatalf("trial %d (killed %v): %v", i, killed, err)
		}
		if err := ro.Check(); err != nil {
			t.Fatalf("trial %d (killed %v, encrypted %v): %v", i, killed, encrypted, err)
		}
		if got := takeSnapshot(t, ro); !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (killed %v, encrypted %v): records differ", i, killed, encrypted)
		}
		ro.Close()
		// The next open finishes the work.
		rw, err := Open(dir, Options{Model: testModel, KeyFile: key})
		if err != nil {
			t.Fatalf("trial %d, reopening: %v", i, err)
		}
		if !rw.Encrypted() {
			t.Fatalf("trial %d: not encrypted after reopening", i)
		}
		mustCheck(t, rw)
		rw.Close()
		if _, err := os.Stat(filepath.Join(dir, FileName+compactSuffix)); err == nil {
			t.Errorf("trial %d: temporary file left after reopening", i)
		}
		return encrypted, killed, took
	}
	_, _, full := trial(0, 0)
	t.Logf("an uninterrupted encryption run took %v", full)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	var before, after int
	for i := 1; i <= 8; i++ {
		// Mostly anywhere in the run; now and then near its end, where
		// the new file replaces the old.
		at := time.Duration(rng.Int64N(int64(full)))
		if i%3 == 0 {
			at = full*9/10 + time.Duration(rng.Int64N(int64(full/5)))
		}
		enc, killed, _ := trial(i, at+time.Millisecond)
		switch {
		case killed && enc:
			after++
		case killed:
			before++
		}
	}
	t.Logf("killed before the switch %d times, after it %d times", before, after)
	if before == 0 {
		t.Error("no kill landed before the switch: the test did not exercise a crash midway")
	}
}
