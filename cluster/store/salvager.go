package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"joren/internal/boltfile"
)

// salvager writes what it reads of damaged files into a new store.
type salvager struct {
	dst  *Store
	meta foundMeta
	// keyings open the damaged file's records (the new store seals them
	// with its own).
	keyings []keying
	// fill: the file read is a backup, whose records only fill in what
	// the damaged file lost.
	fill bool
	// what is kept for the end: customers need their identity first,
	// aliases and the to-do list their targets.
	customers map[string]salvagedCustomer
	aliases   map[string][]byte
	dirty     map[string]bool
	maxID     uint64
	batch     []func(*Tx) error
	// erased lists what the damaged store deleted since its last
	// compaction (nil: no list); cutOff is the ids of visitors taken from
	// pages cut off from the tree, where an older version may turn up
	// after a newer one.
	erased map[string]bool
	cutOff map[string]bool

	restored                             Counts
	dropped, recreated, orphans, deleted int
}

// salvagedCustomer is a customer's record, and whether it came from the
// backup.
type salvagedCustomer struct {
	Customer
	fromBackup bool
}

// read copies what it reads of the file at path into the new store. With
// the list of what the store deleted since it was last rewritten
// (erased), pages cut off from the tree are read even without the free
// list: what is not deleted on them is kept.
func (sv *salvager) read(path string, fill bool, erased map[string]bool) (boltfile.Report, error) {
	sv.fill, sv.erased = fill, erased
	r, err := boltfile.Salvage(path, boltfile.SalvageOptions{StaleOK: erased != nil}, sv.item)
	if err == nil {
		err = sv.flush()
	}
	return r, err
}

// record kinds, by the bucket they belong in.
var recordBuckets = [][]byte{bIdentities, bVisits, bStaff, bCustomers, bAliases, bDirty, bSeen, bByIdentity}

// primary tells whether bucket holds records (not indexes rebuilt from
// them, nor the to-do list).
func primary(bucket []byte) bool {
	switch string(bucket) {
	case string(bIdentities), string(bVisits), string(bStaff), string(bCustomers), string(bAliases):
		return true
	}
	return false
}

// item takes one record of a damaged file.
func (sv *salvager) item(it boltfile.Item) error {
	if it.Bucket {
		return nil
	}
	known := !it.Orphan && knownBucket(it.Path)
	if known && (bytes.Equal(it.Path[0], bMeta) || bytes.Equal(it.Path[0], bSeen) || bytes.Equal(it.Path[0], bByIdentity)) {
		return nil // the description was read first; indexes are rebuilt
	}
	candidates := recordBuckets
	if known {
		candidates = [][]byte{it.Path[0]}
	} else if it.Orphan || !knownBucket(it.Path) {
		// A page cut off from the tree, or a bucket whose name was
		// damaged: the content says where each record belongs.
		if len(it.Path) == 1 && bytes.Equal(it.Path[0], bMeta) || bytes.Equal(it.Key, kMeta) || bytes.Equal(it.Key, kNext) || bytes.Equal(it.Key, kBytes) || bytes.Equal(it.Key, kIdentities) {
			return nil
		}
	}
	for _, keys := range sv.keyings {
		for _, b := range candidates {
			deleted := sv.deleted
			ok, err := sv.take(keys, b, it.Key, it.Value, !known)
			if err != nil {
				return err
			}
			if ok {
				if !known && primary(b) && sv.deleted == deleted {
					sv.orphans++
				}
				return nil
			}
		}
	}
	sv.dropped++
	return nil
}

// take keeps the record k, v as one of bucket if it is one: it opens with
// keys and decodes as such a record, stored under its own key. cutOff
// says it was found off the tree: it may be a deleted record's, which the
// list of what was deleted tells (it is then recognised, and dropped).
func (sv *salvager) take(keys keying, bucket, k, v []byte, cutOff bool) (bool, error) {
	if cutOff && sv.erased[erasedKeyOf(bucket, k)] {
		if _, err := keys.open(bucket, k, v); err == nil {
			sv.deleted++
			return true, nil
		}
	}
	switch string(bucket) {
	case string(bDirty):
		if len(v) == 0 && isID(k) {
			sv.dirty[string(k)] = true
			return true, nil
		}
		return false, nil
	case string(bSeen), string(bByIdentity):
		// An index entry cut off from its bucket: it is rebuilt, but
		// recognising it keeps it from counting as lost.
		if keys.sealed() {
			if bytes.Equal(bucket, bByIdentity) {
				return len(v) == 0 && len(k) == 2*nameSize, nil
			}
			_, err := keys.open(bucket, k, v)
			return err == nil, nil
		}
		if bytes.Equal(bucket, bByIdentity) {
			i := bytes.IndexByte(k, 0)
			return len(v) == 0 && i > 0 && isID(k[:i]), nil
		}
		return len(k) > 8 && isID(k[8:]) && len(v) == 1, nil
	}
	p, err := keys.open(bucket, k, v)
	if err != nil {
		return false, nil
	}
	switch string(bucket) {
	case string(bIdentities):
		rec, err := decodeIdentity(p)
		if err != nil || rec.ID != string(k) {
			return false, nil
		}
		sv.noteID(rec.ID)
		return true, sv.put(func(tx *Tx) error { return sv.putIdentity(tx, rec, cutOff) })
	case string(bVisits):
		rec, err := decodeVisit(p)
		if err != nil || !bytes.Equal(k, keys.name(bVisits, rec.ID)) {
			return false, nil
		}
		return true, sv.put(func(tx *Tx) error { return sv.putVisit(tx, rec) })
	case string(bStaff):
		var m Staff
		if !strictJSON(p, &m) || m.Name == "" || !bytes.Equal(k, keys.name(bStaff, m.Name)) || m.Added.IsZero() {
			return false, nil
		}
		return true, sv.put(func(tx *Tx) error { return sv.putStaff(tx, m) })
	case string(bCustomers):
		var c Customer
		if !strictJSON(p, &c) || c.Name == "" || c.Identity == "" || !bytes.Equal(k, keys.name(bCustomers, c.Name)) {
			return false, nil
		}
		if _, ok := sv.customers[c.Name]; !ok {
			sv.customers[c.Name] = salvagedCustomer{c, sv.fill}
		}
		return true, nil
	case string(bAliases):
		if !isID(k) || len(p) <= 8 || !isID(aliasTarget(p)) {
			return false, nil
		}
		sv.noteID(string(k))
		if _, ok := sv.aliases[string(k)]; !ok {
			sv.aliases[string(k)] = bytes.Clone(p)
		}
		return true, nil
	}
	return false, nil
}

// strictJSON decodes a named record, refusing unknown fields (what a
// staff record is not a customer's, and garbage is neither).
func strictJSON(p []byte, dst any) bool {
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	return d.Decode(dst) == nil
}

// isID tells whether k is an identity id (p and digits).
func isID(k []byte) bool {
	if len(k) < 2 || k[0] != 'p' {
		return false
	}
	for _, c := range k[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// noteID keeps the highest identity number seen: no id given before may
// be given again.
func (sv *salvager) noteID(id string) {
	if n, ok := idNumber(id); ok {
		sv.maxID = max(sv.maxID, uint64(n))
	}
}

// put queues a write; writes go in transactions of a few hundred.
func (sv *salvager) put(fn func(*Tx) error) error {
	sv.batch = append(sv.batch, fn)
	if len(sv.batch) >= 256 {
		return sv.flush()
	}
	return nil
}

func (sv *salvager) flush() error {
	if len(sv.batch) == 0 {
		return nil
	}
	batch := sv.batch
	sv.batch = nil
	return sv.dst.Update(func(tx *Tx) error {
		for _, fn := range batch {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// count counts a record restored from the backup.
func (sv *salvager) count(f func(*Counts)) {
	if sv.fill {
		f(&sv.restored)
	}
}

func (sv *salvager) putIdentity(tx *Tx, rec Identity, cutOff bool) error {
	old, ok, err := tx.Identity(rec.ID)
	switch {
	case err != nil:
		return err
	case ok && !sv.fill && cutOff && sv.cutOff[rec.ID] && newer(rec, old):
		// Off the tree, where a free page may hold an older version:
		// the newer one stands.
		return tx.PutIdentity(rec)
	case ok:
		return nil
	}
	if cutOff && !sv.fill {
		if sv.cutOff == nil {
			sv.cutOff = map[string]bool{}
		}
		sv.cutOff[rec.ID] = true
	}
	sv.count(func(c *Counts) { c.Identities++ })
	return tx.PutIdentity(rec)
}

// newer tells whether a is a later version of an identity than b: every
// visit adds to it or moves its last sighting on.
func newer(a, b Identity) bool {
	if a.Visits != b.Visits {
		return a.Visits > b.Visits
	}
	return a.LastSeen.After(b.LastSeen) || a.LastSeen.Equal(b.LastSeen) && a.LastEnd.After(b.LastEnd)
}

func (sv *salvager) putVisit(tx *Tx, rec Visit) error {
	if _, ok, err := tx.Visit(rec.ID); err != nil || ok {
		return err
	}
	sv.count(func(c *Counts) { c.Visits++ })
	return tx.PutVisit(rec)
}

func (sv *salvager) putStaff(tx *Tx, m Staff) error {
	if _, ok, err := tx.Staff(m.Name); err != nil || ok {
		return err
	}
	sv.count(func(c *Counts) { c.Staff++ })
	return tx.PutStaff(m)
}

// finish makes the new store whole: enrolled customers with their
// visitors, what no longer agrees dropped, the aliases and the to-do list
// that still lead somewhere, the identity counter past every id given;
// then checks it, makes it durable and counts what it holds into rep.
func (sv *salvager) finish(now time.Time, rep *SalvageReport) error {
	s := sv.dst
	var total Counts
	err := s.Update(func(tx *Tx) error {
		if err := sv.enrolments(tx, now); err != nil {
			return err
		}
		if err := sv.orphanVisits(tx); err != nil {
			return err
		}
		for from, v := range sv.aliases {
			if _, ok, err := tx.Identity(string(aliasTarget(v))); err != nil || !ok {
				if !ok {
					sv.dropped++
				}
				continue
			}
			total.Aliases++
			if _, err := tx.set(bAliases, []byte(from), v); err != nil {
				return err
			}
			if err := tx.addCounter(kBytes, tx.size(bAliases, []byte(from))); err != nil {
				return err
			}
		}
		for id := range sv.dirty {
			if _, ok, _ := tx.Identity(id); ok {
				if err := tx.MarkDirty(id); err != nil {
					return err
				}
			}
		}
		// Ids are never given twice. A lost counter is set past every id
		// found, with a margin for ids given to visitors since deleted,
		// whose every trace may be gone.
		next := sv.maxID
		if sv.meta.hasNext {
			next = max(next, sv.meta.next)
		} else {
			next += 1000
		}
		if err := tx.tx.Bucket(bMeta).Put(kNext, be64(next)); err != nil {
			return err
		}
		if sv.meta.found {
			tx.SetMaintained(sv.meta.Maintained)
		}
		total.Identities, total.Visits, total.Staff, total.Customers = tx.Count(), tx.Visits(), tx.StaffCount(), tx.CustomerCount()
		return nil
	})
	if err != nil {
		return fmt.Errorf("completing the salvaged store %s: %w", s.dir, err)
	}
	if err := s.Check(); err != nil {
		return fmt.Errorf("the salvaged store %s does not check: %w", s.dir, err)
	}
	s.db.NoSync = false
	if err := s.db.Sync(); err != nil {
		return err
	}
	rep.Restored = sv.restored
	rep.Restored.Aliases = min(rep.Restored.Aliases, total.Aliases)
	rep.Kept = Counts{
		Identities: max(0, total.Identities-sv.restored.Identities),
		Visits:     max(0, total.Visits-sv.restored.Visits),
		Staff:      max(0, total.Staff-sv.restored.Staff),
		Customers:  max(0, total.Customers-sv.restored.Customers),
		Aliases:    max(0, total.Aliases-sv.restored.Aliases),
	}
	rep.Dropped, rep.Recreated, rep.Orphans, rep.Deleted = sv.dropped, sv.recreated, sv.orphans, sv.deleted
	return nil
}

// enrolments puts back enrolled customers: with their visitor when it was
// kept, or with a new one (their enrolled faces are in their record; the
// visit history is lost) when it was not. A visitor marked as a customer
// whose enrolment was lost is an ordinary visitor again in counting mode;
// in consent mode, where only the enrolled are remembered, it goes.
func (sv *salvager) enrolments(tx *Tx, now time.Time) error {
	enrolled := map[string]bool{}
	for _, c := range sortedCustomers(sv.customers) {
		rec, ok, err := tx.Identity(c.Identity)
		if err != nil {
			return err
		}
		switch {
		case ok && rec.Customer != "" && rec.Customer != c.Name, enrolled[c.Identity]:
			sv.dropped++
			continue
		case !ok:
			rec = Identity{ID: c.Identity, Created: c.Consented, LastSeen: now.UTC()}
			sv.noteID(c.Identity)
			sv.recreated++
		}
		if rec.Customer != c.Name {
			rec.Customer = c.Name
			if err := tx.PutIdentity(rec); err != nil {
				return err
			}
		}
		if err := tx.PutCustomer(c.Customer); err != nil {
			return err
		}
		enrolled[c.Identity] = true
		if c.fromBackup {
			sv.restored.Customers++
		}
	}
	var unenrolled []Identity
	if err := tx.ForEachIdentity(func(rec Identity) error {
		if rec.Customer != "" && !enrolled[rec.ID] {
			unenrolled = append(unenrolled, rec)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, rec := range unenrolled {
		sv.dropped++
		if tx.Meta().Mode == Consent {
			if _, err := tx.deleteIdentity(rec.ID, false); err != nil {
				return err
			}
			continue
		}
		rec.Customer = ""
		if err := tx.PutIdentity(rec); err != nil {
			return err
		}
	}
	return nil
}

// orphanVisits drops logged visits of visitors that were lost, or
// deleted before the damage (an old copy of their visit found on a free
// page: deleted, and staying so).
func (sv *salvager) orphanVisits(tx *Tx) error {
	var dead [][]byte
	if err := tx.forEachVisit(func(k []byte, v Visit) error {
		if v.Identity == "" {
			return nil
		}
		if _, ok, err := tx.Identity(v.Identity); err != nil || !ok {
			dead = append(dead, bytes.Clone(k))
			if sv.erased[erasedKeyOf(bIdentities, []byte(v.Identity))] {
				sv.deleted++
			} else {
				sv.dropped++
			}
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	freed, err := tx.deleteVisits(dead)
	if err != nil {
		return err
	}
	return tx.addCounter(kBytes, -freed)
}

// sortedCustomers lists customers by name (the order they are put back
// in, so that a conflict is settled the same way every time).
func sortedCustomers(m map[string]salvagedCustomer) []salvagedCustomer {
	out := make([]salvagedCustomer, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b salvagedCustomer) int { return strings.Compare(a.Name, b.Name) })
	return out
}
