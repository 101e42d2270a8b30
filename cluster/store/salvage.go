package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"joren/internal/boltfile"
)

// Counts are records of each kind.
type Counts struct {
	Identities, Visits, Staff, Customers, Aliases int
}

func (c Counts) total() int { return c.Identities + c.Visits + c.Staff + c.Customers + c.Aliases }

func (c *Counts) add(o Counts) {
	c.Identities += o.Identities
	c.Visits += o.Visits
	c.Staff += o.Staff
	c.Customers += o.Customers
	c.Aliases += o.Aliases
}

// SalvageReport says what Salvage kept of a damaged store.
type SalvageReport struct {
	// From is the damaged file and To the new store's directory.
	From, To string
	// Damage is what is wrong with the file at bbolt's level (nil: its
	// pages read, only records were wrong).
	Damage error
	// Kept counts the records the new store holds, by kind, from the
	// damaged file.
	Kept Counts
	// Before is the number of visitors the damaged store counted (-1
	// when that count was lost too).
	Before int
	// Dropped counts records read but not kept: failing authentication,
	// not decoding, or no longer consistent (a logged visit of a visitor
	// who was lost). Recreated counts the visitors rebuilt, history lost,
	// from an enrolled customer's record.
	Dropped, Recreated int
	// Orphans counts the records found on pages cut off from the tree,
	// kept where their content said where they belong; Deleted those
	// found there that had been deleted (forgotten, expired) and stay so.
	Orphans, Deleted int
	// LostPages counts the pages (or elements of pages) that could not be
	// read; each may have held any number of records.
	LostPages int
	// Restored counts the records taken from the backup (Recover), and
	// Backup is when that backup was made.
	Restored Counts
	Backup   time.Time
}

// Lost is how many visitors of the damaged store the new one lacks
// (-1: unknown, the damaged store's count was lost).
func (r SalvageReport) Lost() int {
	if r.Before < 0 {
		return -1
	}
	return max(0, r.Before-r.Kept.Identities-r.Restored.Identities)
}

// String says what was kept and lost, for a person.
func (r SalvageReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salvaged %s", r.Kept)
	if r.Restored.total() > 0 {
		fmt.Fprintf(&b, "; restored from the backup of %s: %s", r.Backup.UTC().Format("2006-01-02 15:04 MST"), r.Restored)
	}
	switch lost := r.Lost(); {
	case lost < 0:
		b.WriteString("; how many visitors there were is lost with the damage")
	default:
		fmt.Fprintf(&b, "; %d of %d visitors lost", lost, r.Before)
	}
	if r.Recreated > 0 {
		fmt.Fprintf(&b, "; %d enrolled customers' visitors rebuilt from their enrolment, without their history", r.Recreated)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "; %d damaged or inconsistent records dropped (a logged visit of a visitor who was lost, say)", r.Dropped)
	}
	if r.LostPages > 0 {
		fmt.Fprintf(&b, "; %d unreadable pages", r.LostPages)
	}
	if r.Orphans > 0 {
		fmt.Fprintf(&b, "; %d records recovered from pages the damage cut off", r.Orphans)
	}
	if r.Deleted > 0 {
		fmt.Fprintf(&b, " (%d records found there had been deleted before the damage, and stay deleted)", r.Deleted)
	}
	return b.String()
}

// String says what c counts.
func (c Counts) String() string {
	s := fmt.Sprintf("%d visitors, %d staff, %d enrolled customers, %d logged visits", c.Identities, c.Staff, c.Customers, c.Visits)
	if c.Aliases > 0 {
		s += fmt.Sprintf(", %d merge aliases", c.Aliases)
	}
	return s
}

// foundMeta is the description a damaged file still holds.
type foundMeta struct {
	Meta
	found    bool // the meta record read
	next     uint64
	hasNext  bool
	count    int64
	hasCount bool
}

// readMeta reads what it can of a file's description.
func readMeta(path string) (foundMeta, boltfile.Report, error) {
	var m foundMeta
	rep, err := boltfile.Salvage(path, boltfile.SalvageOptions{}, func(it boltfile.Item) error {
		if it.Bucket || !(it.Orphan || !knownBucket(it.Path) || bytes.Equal(it.Path[0], bMeta)) {
			return nil
		}
		switch {
		case bytes.Equal(it.Key, kMeta) && !m.found:
			var mt Meta
			if json.Unmarshal(it.Value, &mt) == nil && mt.Schema > 0 && mt.Model.Dim > 0 {
				m.Meta, m.found = mt, true
			}
		case bytes.Equal(it.Key, kNext) && len(it.Value) == 8 && !m.hasNext:
			m.next, m.hasNext = u64(it.Value), true
		case bytes.Equal(it.Key, kIdentities) && len(it.Value) == 8 && !m.hasCount:
			m.count, m.hasCount = int64(u64(it.Value)), true
		}
		return nil
	})
	return m, rep, err
}

// knownBucket tells whether an item's path is one of the store's buckets.
func knownBucket(path [][]byte) bool {
	if len(path) != 1 {
		return false
	}
	for _, b := range buckets {
		if bytes.Equal(path[0], b) {
			return true
		}
	}
	return false
}

// Salvage copies every record of the damaged store file from that it can
// read into a new store in dir (which must hold none), and leaves from as
// it is; the new store keeps from's model, time zone and mode. A record is kept only if it opens (an encrypted store's records
// are authenticated one by one: a damaged one does not open), decodes,
// and still agrees with the rest; the indexes and counters are rebuilt
// from the records. o gives what a damaged file may have lost: the model,
// time zone and mode of a store whose description is unreadable, and
// the key file of an encrypted store (required: without it nothing
// opens).
//
// Records on pages the damage cut off from the tree are kept too, where
// their content tells where they belong. Nothing deleted before the
// damage comes back: only pages in use are read.
func Salvage(from, dir string, o Options) (SalvageReport, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, fs.ErrNotExist) {
		return SalvageReport{}, fmt.Errorf("salvaging into %s: it already holds an identity store (give a new directory)", dir)
	}
	sv, rep, err := startSalvage(from, dir, o, false)
	if err != nil {
		return rep, err
	}
	err = sv.finish(time.Now(), &rep)
	if cerr := sv.dst.Close(); err == nil {
		err = cerr
	}
	return rep, err
}

// startSalvage makes the new store in dir and copies into it what it
// reads of from; finish completes it. With sameModel, a store of another
// model than o's is refused (as Open refuses it); otherwise o's model
// only stands in for a description that was lost.
func startSalvage(from, dir string, o Options, sameModel bool) (*salvager, SalvageReport, error) {
	rep := SalvageReport{From: from, To: dir, Before: -1}
	m, mrep, err := readMeta(from)
	if err != nil {
		return nil, rep, fmt.Errorf("salvaging %s: %w", from, err)
	}
	if m.hasCount {
		rep.Before = int(m.count)
	}
	meta := m.Meta
	if !m.found {
		// The description is lost: the caller's settings stand in.
		if o.Model.Dim <= 0 {
			return nil, rep, fmt.Errorf("salvaging %s: the store's description is lost, and with it the model of its descriptors: give the model", from)
		}
		meta = Meta{Schema: Schema, Model: o.Model, Zone: cmpOr(o.Zone, "UTC"), Mode: Mode(cmpOr(string(o.Mode), string(Counting))), Created: time.Now().UTC()}
	}
	if meta.Schema > Schema {
		return nil, rep, fmt.Errorf("salvaging %s: it was written by a newer joren (schema %d; this build reads up to %d): salvage it with that joren", from, meta.Schema, Schema)
	}
	if sameModel && o.Model.Dim > 0 && m.found && (o.Model.ID() != meta.Model.ID() || o.Model.Dim != meta.Model.Dim) {
		return nil, rep, &ModelError{Dir: filepath.Dir(from), Store: meta.Model, Want: o.Model}
	}
	// How the damaged file's records open: with its key, or as they are.
	var keyings []keying
	switch {
	case meta.Cipher != "":
		probe := &Store{dir: filepath.Dir(from), meta: meta}
		if err := probe.checkKey(o.KeyFile); err != nil {
			return nil, rep, err
		}
		keyings = []keying{probe.keys}
	case !m.found && o.KeyFile != "":
		// Whether it was encrypted is lost with its description: try.
		if key, err := LoadKey(o.KeyFile); err == nil {
			keyings = append(keyings, keying{key})
		}
		keyings = append(keyings, keying{})
	default:
		keyings = []keying{{}}
	}
	if meta.Mode == "" {
		meta.Mode = Counting
	}
	created := meta.Created
	dst, err := Open(dir, Options{Model: meta.Model, Zone: meta.Zone, Create: true, Limits: o.Limits, KeyFile: o.KeyFile, Mode: meta.Mode, NoSync: true, Now: func() time.Time { return created }})
	if err != nil {
		return nil, rep, fmt.Errorf("salvaging %s: making the new store: %w", from, err)
	}
	sv := &salvager{dst: dst, meta: m, keyings: keyings, customers: map[string]salvagedCustomer{}, aliases: map[string][]byte{}, dirty: map[string]bool{}}
	erased, _ := readErased(from)
	r, err := sv.read(from, false, erased)
	if err != nil {
		dst.Close()
		return nil, rep, fmt.Errorf("salvaging %s: %w", from, err)
	}
	rep.LostPages = max(r.Lost, mrep.Lost)
	if r.Damage != nil {
		rep.Damage = r.Damage
	}
	return sv, rep, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
