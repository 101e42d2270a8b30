package outbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func rec(i int) Record {
	return Record{ID: fmt.Sprintf("e%03d", i), Topic: "joren/s/d/visit", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func open(t *testing.T, path string, max int) *Outbox {
	t.Helper()
	o, err := Open(path, Options{Max: max})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func ids(recs []Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.ID)
	}
	return strings.Join(s, " ")
}

func TestFIFOAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "outbox.db")
	o := open(t, path, 0)
	for i := range 5 {
		if _, err := o.Put([]Record{rec(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.Peek(3)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got) != "e000 e001 e002" {
		t.Fatalf("peek: %s", ids(got))
	}
	if err := o.Ack(got[0].Seq, got[1].Seq, 999); err != nil {
		t.Fatal(err)
	}
	if o.Len() != 3 {
		t.Errorf("len %d after acking 2 of 5", o.Len())
	}
	o.Close()

	// What was not acknowledged is there after a restart, in order, with
	// its topic and payload intact; the sender is cued at once.
	o = open(t, path, 0)
	defer o.Close()
	select {
	case <-o.Ready():
	default:
		t.Error("reopened outbox with records did not signal Ready")
	}
	got, _ = o.Peek(10)
	if ids(got) != "e002 e003 e004" || o.Len() != 3 {
		t.Fatalf("after reopen: %s (len %d)", ids(got), o.Len())
	}
	if got[0].Topic != "joren/s/d/visit" || string(got[0].Payload) != `{"n":2}` {
		t.Errorf("record changed on disk: %+v", got[0])
	}
	// New records continue the sequence.
	o.Put([]Record{rec(5)}, nil)
	got, _ = o.Peek(10)
	if ids(got) != "e002 e003 e004 e005" || got[3].Seq <= got[2].Seq {
		t.Errorf("after another put: %s", ids(got))
	}
}

func TestBoundedDropsOldest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := open(t, path, 5)
	for i := range 8 {
		dropped, err := o.Put([]Record{rec(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := 0; i >= 5 {
			want = 1
			if dropped != want {
				t.Errorf("put %d dropped %d, want %d", i, dropped, want)
			}
		}
	}
	got, _ := o.Peek(100)
	if ids(got) != "e003 e004 e005 e006 e007" || o.Len() != 5 || o.Dropped() != 3 {
		t.Fatalf("full outbox: %s, len %d, dropped %d", ids(got), o.Len(), o.Dropped())
	}
	// A batch larger than the bound keeps its newest.
	batch := []Record{rec(10), rec(11), rec(12), rec(13), rec(14), rec(15), rec(16)}
	if dropped, _ := o.Put(batch, nil); dropped != 7 {
		t.Errorf("batch of 7 into a full outbox of 5 dropped %d, want 7", dropped)
	}
	got, _ = o.Peek(100)
	if ids(got) != "e012 e013 e014 e015 e016" {
		t.Errorf("after big batch: %s", ids(got))
	}
	o.Close()
	o = open(t, path, 5)
	defer o.Close()
	if o.Dropped() != 10 || o.Len() != 5 {
		t.Errorf("after reopen: dropped %d len %d, want 10 and 5 (the count is durable)", o.Dropped(), o.Len())
	}
}

func TestStateWithRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := open(t, path, 0)
	if v, err := o.State("counts"); err != nil || v != nil {
		t.Fatalf("empty state: %q %v", v, err)
	}
	o.Put([]Record{rec(1)}, map[string][]byte{"counts": []byte("1")})
	o.Put(nil, map[string][]byte{"counts": []byte("2")})
	o.Close()
	o = open(t, path, 0)
	defer o.Close()
	if v, _ := o.State("counts"); string(v) != "2" {
		t.Errorf("state after reopen: %q", v)
	}
	if _, err := o.Put([]Record{{ID: "x"}}, nil); err == nil || !strings.Contains(err.Error(), `record "x" has no topic`) {
		t.Errorf("record without topic: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()

	// Two processes must not share the file.
	path := filepath.Join(dir, "outbox.db")
	o := open(t, path, 0)
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), path) {
		t.Errorf("second open: %v", err)
	}
	o.Close()

	// Not an outbox: refused, named, untouched.
	junk := filepath.Join(dir, "junk.db")
	content := bytes.Repeat([]byte("not a database "), 1000)
	os.WriteFile(junk, content, 0o600)
	if _, err := Open(junk, Options{}); err == nil || !strings.Contains(err.Error(), junk) || !strings.Contains(err.Error(), "left untouched") {
		t.Errorf("junk file: %v", err)
	}
	if b, _ := os.ReadFile(junk); !bytes.Equal(b, content) {
		t.Error("junk file was modified")
	}

	// A file from a newer joren is refused.
	newer := filepath.Join(dir, "newer.db")
	db, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket(bucketMeta)
		return b.Put(keyFormat, u64(formatVersion+1))
	})
	db.Close()
	if _, err := Open(newer, Options{}); err == nil || !strings.Contains(err.Error(), "written by a newer joren") {
		t.Errorf("newer format: %v", err)
	}
}

// A record that cannot be decoded is set aside, not lost, and does not
// block the records behind it.
func TestDamagedRecordSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := open(t, path, 0)
	o.Put([]Record{rec(1)}, nil)
	o.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		seq, _ := q.NextSequence()
		q.Put(u64(seq), []byte{recordVersion, 200}) // length past the end
		seq, _ = q.NextSequence()
		return q.Put(u64(seq), encode(seq, rec(3)))
	})
	db.Close()
	o = open(t, path, 0)
	defer o.Close()
	got, err := o.Peek(10)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got) != "e001 e003" || o.Damaged() != 1 || o.Len() != 2 {
		t.Errorf("peek %s, damaged %d, len %d", ids(got), o.Damaged(), o.Len())
	}
}

func TestEncoding(t *testing.T) {
	cases := []Record{
		{ID: "", Topic: "t", Payload: nil},
		{ID: "01JV", Topic: "joren/a/b/visit", Payload: []byte(`{"x":1}`)},
		{ID: strings.Repeat("i", 300), Topic: strings.Repeat("t", 200), Payload: bytes.Repeat([]byte{0, 1}, 5000)},
	}
	for _, r := range cases {
		got, err := decode(u64(7), encode(7, r))
		if err != nil || got.ID != r.ID || got.Topic != r.Topic || !bytes.Equal(got.Payload, r.Payload) {
			t.Errorf("round trip of %.40q: %+v %v", r.ID, got.ID, err)
		}
	}
	for _, bad := range [][]byte{nil, {9}, {recordVersion}, {recordVersion, 5, 'a'}, {recordVersion, 0, 0}} {
		if _, err := decode(u64(7), bad); err == nil {
			t.Errorf("decode(%v) accepted", bad)
		}
	}
	// Every flipped bit of a record, or of its key, is caught by its
	// checksum.
	good := append(u64(7), encode(7, cases[1])...)
	for i := range len(good) * 8 {
		b := bytes.Clone(good)
		b[i/8] ^= 1 << (i % 8)
		if r, err := decode(b[:8], b[8:]); err == nil {
			t.Fatalf("bit %d flipped: decoded %+v", i, r)
		}
	}
	// Records of format 1 (no checksum) still read.
	v1 := append([]byte{1, 4}, "01JV\x0fjoren/a/b/visit{}"...)
	if r, err := decode(u64(7), v1); err != nil || r.ID != "01JV" || r.Topic != "joren/a/b/visit" || string(r.Payload) != "{}" {
		t.Errorf("format 1 record: %+v %v", r, err)
	}
}
