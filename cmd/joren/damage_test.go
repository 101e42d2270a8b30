package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A damage is what an SD card can do to a bbolt file. intact is the part
// of the file it left whole, page by page: every record whose bytes are
// still in it must come back from a salvage. It is nil for damage that
// also garbles the pages it leaves (flipped bits), or that leaves no way
// to find the pages (both meta pages gone).
type damage struct {
	name   string
	b      []byte
	intact []byte
}

// damages are the ways the tests damage a good file: cut short at many
// places (at page boundaries and inside pages), emptied, replaced by
// garbage, a page zeroed or overwritten, bits flipped, its meta pages
// lost. seed makes the random ones repeatable.
func damages(good []byte, pageSize, pages int, seed uint64) []damage {
	r := rand.New(rand.NewPCG(seed, 7))
	var ds []damage
	cut := func(n int) {
		whole := n / pageSize
		ds = append(ds, damage{fmt.Sprintf("cut at %d of %d bytes", n, len(good)), bytes.Clone(good[:n]), spoil(good[:whole*pageSize], pageSize, whole, pages)})
	}
	for _, f := range []int{1, 3, 5, 7} {
		cut(pages * f / 8 * pageSize)             // at a page boundary
		cut(pages*f/8*pageSize + pageSize/3 + 17) // inside a page
	}
	cut(2 * pageSize) // the meta pages only
	cut(len(good) - 1)
	ds = append(ds, damage{"empty", nil, nil})
	garbage := make([]byte, len(good))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	ds = append(ds, damage{"garbage", garbage, nil}, damage{"a short text", []byte("lost+found\n"), nil})
	page := func(name string, p int, fill func([]byte)) {
		b := bytes.Clone(good)
		fill(b[p*pageSize : (p+1)*pageSize])
		ds = append(ds, damage{fmt.Sprintf("%s page %d of %d", name, p, pages), b, spoil(b, pageSize, p, p+1)})
	}
	zero := func(b []byte) { clear(b) }
	random := func(b []byte) {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	}
	page("zeroed", 2+r.IntN(pages-2), zero)
	page("zeroed", pages-1, zero)
	page("overwritten", 2+r.IntN(pages-2), random)
	b := bytes.Clone(good)
	for range 24 {
		i := r.IntN(len(b))
		b[i] ^= 1 << r.IntN(8)
	}
	ds = append(ds, damage{"24 bits flipped", b, nil})
	b = bytes.Clone(good)
	clear(b[:2*pageSize])
	ds = append(ds, damage{"both meta pages zeroed", b, nil})
	return ds
}

// spoil is b (a damaged file) without the pages a damage to pages lo to
// hi (not included) spoiled: those and the pages of every multi-page
// element (bbolt's overflow) that runs into them, read from the page
// headers. What is left is what a salvage must read.
func spoil(b []byte, pageSize, lo, hi int) []byte {
	b = bytes.Clone(b)
	for i := 0; (i+1)*pageSize <= len(b); i++ {
		h := b[i*pageSize:]
		flags := binary.LittleEndian.Uint16(h[8:10])
		last := i + int(binary.LittleEndian.Uint32(h[12:16]))
		if flags == 0x01 || flags == 0x02 {
			if i < hi && last >= lo {
				clear(b[i*pageSize : min(len(b), (last+1)*pageSize)])
			}
		}
	}
	for i := lo; i < hi && i*pageSize < len(b); i++ {
		clear(b[i*pageSize : min(len(b), (i+1)*pageSize)])
	}
	return b
}

// held lists, by bucket, the keys of the records of the good bbolt file
// at path whose bytes (key and value, as a leaf page holds them) are in
// intact: the records the damaged file still held.
func held(t *testing.T, path string, intact []byte, buckets ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	forEach(t, path, func(bucket string, k, v []byte) {
		if bytes.Contains(intact, append(bytes.Clone(k), v...)) {
			out[bucket] = append(out[bucket], string(k))
		}
	}, buckets...)
	return out
}

// keys lists the keys of buckets in the bbolt file at path.
func keys(t *testing.T, path string, buckets ...string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for _, b := range buckets {
		out[b] = map[string][]byte{}
	}
	forEach(t, path, func(bucket string, k, v []byte) { out[bucket][string(k)] = bytes.Clone(v) }, buckets...)
	return out
}

// forEach reads the records of buckets of the (good) bbolt file at path.
func forEach(t *testing.T, path string, fn func(bucket string, k, v []byte), buckets ...string) {
	t.Helper()
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			b := tx.Bucket([]byte(name))
			if b == nil {
				continue
			}
			if err := b.ForEach(func(k, v []byte) error { fn(name, k, v); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eventID is the id of the outbox record v (sync/outbox's layout: a
// version byte, then the id prefixed by its length).
func eventID(v []byte) string {
	if len(v) < 2 {
		return ""
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || 1+w+int(n) > len(v) {
		return ""
	}
	return string(v[1+w : 1+w+int(n)])
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
