package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/internal/boltfile"
	"joren/internal/testenv"
)

// event is a visit event of a realistic size (about 270 bytes).
func event(i int) Record {
	payload := fmt.Sprintf(`{"schema":1,"id":"01JEVENT%08d","type":"visit","site":"shop","device":"door","time":"2026-11-01T10:%02d:00Z","visitor":"%064x","period":"2026-11","visits":%d,"days":2,"regular":false,"new":true}`, i, i%60, i*7919, i%9)
	return Record{ID: fmt.Sprintf("01JEVENT%08d", i), Topic: "joren/shop/door/visit", Payload: []byte(payload)}
}

// realOutbox fills an outbox at path as a box offline for a while does:
// n events, the first third delivered (acknowledged: free pages with their
// bytes), with the publisher's state. It returns the events waiting.
func realOutbox(t testing.TB, path string, n int) map[string]Record {
	t.Helper()
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for i := 0; i < n; i += 50 {
		var batch []Record
		for j := i; j < min(n, i+50); j++ {
			batch = append(batch, event(j))
		}
		if _, err := o.Put(batch, map[string][]byte{"publish/counters": []byte(fmt.Sprintf(`{"visits":%d}`, i+len(batch)))}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := o.Peek(n / 3)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if err := o.Ack(seqs...); err != nil {
		t.Fatal(err)
	}
	waiting := map[string]Record{}
	recs, _ = o.Peek(n)
	for _, r := range recs {
		waiting[r.ID] = r
	}
	return waiting
}

// TestDamagedOutbox damages an outbox of 900 events every way an SD card
// does: cut short at every page boundary and inside pages, a bit flipped
// in headers, elements and events of every third page, emptied,
// overwritten. Opening it ends with a sound outbox or an error saying it
// is damaged (then nothing is written to it); Salvage makes a sound
// outbox of every event it can read, in order. It runs in a child
// process: a crash fails it rather than ends it.
func TestDamagedOutbox(t *testing.T) {
	if !testenv.Isolated(t, 2*time.Minute) {
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	waiting := realOutbox(t, path, 900)
	all := map[string]bool{}
	for i := range 900 {
		all[event(i).ID] = true
	}
	info, err := boltfile.Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	good := b[:int(info.Pages)*info.PageSize]
	ps := info.PageSize

	type damage struct {
		name string
		cut  int
		b    []byte
	}
	var cases []damage
	for at := 0; at <= len(good); at += ps {
		cases = append(cases, damage{fmt.Sprintf("cut at %d", at), at, good[:at]})
		if in := at + ps/3; (at/ps)%4 == 1 && in < len(good) {
			cases = append(cases, damage{fmt.Sprintf("cut at %d", in), in, good[:in]})
		}
	}
	for pg := 0; pg*ps < len(good); pg += 3 {
		// The page's id, its count, an element's position or lengths, an
		// event's bytes.
		for _, o := range []int{pg % 8, 10, 16 + 16*(pg%5) + 4 + 4*(pg%3), 200 + (pg*977)%(ps-300)} {
			d := bytes.Clone(good)
			d[pg*ps+o] ^= 1 << (o % 8)
			cases = append(cases, damage{fmt.Sprintf("bit flipped at %d", pg*ps+o), -1, d})
		}
	}
	cases = append(cases, damage{"empty", -1, nil}, damage{"garbage", -1, bytes.Repeat([]byte("not an outbox "), 2000)}, damage{"zeros", -1, make([]byte, len(good))})

	type tally struct{ cases, refused, opened, kept, keptMin, resent int }
	tallies := map[string]*tally{}
	prevCut, prevKept := -1, -1
	for _, d := range cases {
		kind := "other"
		switch {
		case d.cut > 0:
			kind = "cut"
		case strings.HasPrefix(d.name, "bit"):
			kind = "flip"
		}
		tl := tallies[kind]
		if tl == nil {
			tl = &tally{keptMin: len(waiting)}
			tallies[kind] = tl
		}
		tl.cases++
		p := filepath.Join(t.TempDir(), "outbox.db")
		os.WriteFile(p, d.b, 0o600)
		o, err := Open(p, Options{LockTimeout: time.Second})
		switch {
		case err == nil:
			tl.opened++
			recs, err := o.Peek(len(all))
			if err != nil {
				t.Errorf("%s: reading an outbox that opened: %v", d.name, err)
			}
			for _, r := range recs {
				if !all[r.ID] {
					t.Errorf("%s: an event that was never put: %q", d.name, r.ID)
				}
			}
			if _, err := o.Put([]Record{event(1000)}, nil); err != nil {
				t.Errorf("%s: adding to an outbox that opened: %v", d.name, err)
			}
			o.Close()
		case errors.Is(err, ErrDamaged):
			tl.refused++
			if after, _ := os.ReadFile(p); !bytes.Equal(after, d.b) {
				t.Errorf("%s: refused, but the file was changed", d.name)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "joren events salvage") {
				t.Errorf("%s: error does not name the file and the remedy: %v", d.name, err)
			}
		default:
			t.Errorf("%s: not a damage error: %v", d.name, err)
			continue
		}
		if err == nil {
			continue // sound: nothing to salvage
		}
		out := filepath.Join(t.TempDir(), "salvaged.db")
		rep, err := Salvage(p, out)
		if err != nil {
			t.Errorf("%s: salvage: %v", d.name, err)
			continue
		}
		s, err := Open(out, Options{})
		if err != nil {
			t.Errorf("%s: the salvaged outbox: %v", d.name, err)
			continue
		}
		recs, err := s.Peek(len(all) + 1)
		if err != nil {
			t.Errorf("%s: reading the salvaged outbox: %v", d.name, err)
		}
		kept := 0
		for i, r := range recs {
			switch w, ok := waiting[r.ID]; {
			case ok && (r.Topic != w.Topic || !bytes.Equal(r.Payload, w.Payload) || r.Seq != w.Seq):
				t.Errorf("%s: event %s changed", d.name, r.ID)
			case ok:
				kept++
			case !all[r.ID]:
				t.Errorf("%s: salvaged an event that was never put: %q", d.name, r.ID)
			}
			if i > 0 && r.Seq <= recs[i-1].Seq {
				t.Errorf("%s: events out of order", d.name)
			}
		}
		// The sequence goes on past every event kept.
		if _, err := s.Put([]Record{event(2000)}, nil); err != nil {
			t.Errorf("%s: adding to the salvaged outbox: %v", d.name, err)
		}
		if after, _ := s.Peek(len(all) + 2); len(after) > 0 && len(recs) > 0 && after[len(after)-1].Seq <= recs[len(recs)-1].Seq {
			t.Errorf("%s: a new event comes before the salvaged ones", d.name)
		}
		s.Close()
		if rep.Events != len(recs) {
			t.Errorf("%s: report says %d events, the outbox has %d", d.name, rep.Events, len(recs))
		}
		tl.kept += kept
		tl.keptMin = min(tl.keptMin, kept)
		tl.resent += len(recs) - kept
		if kind == "cut" {
			if kept < prevKept && d.cut > prevCut {
				t.Errorf("%s: kept %d events, fewer than a shorter cut's %d", d.name, kept, prevKept)
			}
			prevCut, prevKept = d.cut, kept
		}
	}
	for _, kind := range []string{"cut", "flip", "other"} {
		tl := tallies[kind]
		salvaged := max(tl.refused, 1)
		t.Logf("outbox (%d pages, %d events waiting, %d delivered), %s: %d damaged files, no crash; %d refused as damaged, %d opened; salvage kept %.0f waiting events on average (at least %d) and brought back %.0f delivered ones to send again",
			info.Pages, len(waiting), len(all)-len(waiting), map[string]string{"cut": "cut short", "flip": "one bit flipped", "other": "empty, garbage, zeros"}[kind],
			tl.cases, tl.refused, tl.opened, float64(tl.kept)/float64(salvaged), tl.keptMin, float64(tl.resent)/float64(salvaged))
	}
}

// TestRecoverOutbox: a damaged outbox is set aside, named with the time,
// and replaced by its salvage, whose events go out in their order and
// whose sequence goes on.
func TestRecoverOutbox(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	waiting := realOutbox(t, path, 300)
	info, _ := boltfile.Verify(path)
	damaged := int64(info.Pages-2) * int64(info.PageSize)
	os.Truncate(path, damaged)
	_, cause := Open(path, Options{})
	if !errors.Is(cause, ErrDamaged) {
		t.Fatalf("opening the damaged outbox: %v", cause)
	}
	now := time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC)
	rec, err := Recover(path, cause, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rec)
	if rec.Aside != path+".damaged-20261202T101500Z" || rec.Failed != nil {
		t.Errorf("recovery %+v", rec)
	}
	if st, err := os.Stat(rec.Aside); err != nil || st.Size() != damaged {
		t.Errorf("the damaged file was not kept as it was: %v", err)
	}
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	recs, _ := o.Peek(1000)
	kept := 0
	for _, r := range recs {
		if _, ok := waiting[r.ID]; ok {
			kept++
		}
	}
	if kept < len(waiting)*3/4 || o.Len() != len(recs) {
		t.Errorf("kept %d of %d waiting events (%d in all)", kept, len(waiting), len(recs))
	}
	if v, err := o.State("publish/counters"); err != nil || v == nil {
		t.Errorf("the publisher's state was lost: %q %v", v, err)
	}
	if !strings.Contains(rec.String(), "kept as outbox.db.damaged-20261202T101500Z") {
		t.Errorf("report %q", rec)
	}
	t.Logf("%d events waiting; the last 2 of %d pages lost: %d kept, %d delivered ones to send again", len(waiting), info.Pages, kept, len(recs)-kept)
}

// An outbox damaged while open refuses every change after, with an error.
func TestOutboxDamagedWhileOpen(t *testing.T) {
	if !testenv.Isolated(t, time.Minute) {
		return
	}
	path := filepath.Join(t.TempDir(), "outbox.db")
	realOutbox(t, path, 300)
	o, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := os.Truncate(path, 8192); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Peek(1000); !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading an outbox cut short under it: %v", err)
	}
	if _, err := o.Put([]Record{event(1)}, nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("adding to a damaged outbox: %v", err)
	}
}
