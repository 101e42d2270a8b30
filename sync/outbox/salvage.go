package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"joren/internal/boltfile"
)

// SalvageReport says what Salvage kept of a damaged outbox.
type SalvageReport struct {
	// From is the damaged file, To the new one.
	From, To string
	// Damage is what is wrong with the file (nil: its pages read).
	Damage error
	// Events counts the events kept, waiting for delivery, and SetAside
	// the records kept set aside (undecodable before the damage).
	Events, SetAside int
	// Resent counts the kept events found on pages the damage cut off
	// from the tree: some may be events the broker already had, which are
	// sent again (head office ignores an event id it has).
	Resent int
	// Dropped counts records found but not kept (they do not decode);
	// LostPages the pages that could not be read.
	Dropped, LostPages int
}

// String says what was kept and lost, for a person.
func (r SalvageReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kept %d events waiting for delivery", r.Events)
	if r.Resent > 0 {
		fmt.Fprintf(&b, " (%d found on pages the damage cut off: those head office already had are sent again, and it ignores them by their id)", r.Resent)
	}
	if r.SetAside > 0 {
		fmt.Fprintf(&b, ", %d records set aside as before", r.SetAside)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "; %d damaged records dropped", r.Dropped)
	}
	if r.LostPages > 0 {
		fmt.Fprintf(&b, "; %d unreadable pages (the events on them are lost)", r.LostPages)
	}
	return b.String()
}

// Salvage copies every event of the damaged outbox file from that it can
// read, with its place in the queue, into a new outbox file to (which
// must not exist), with the caller's state values and the count of
// dropped events; from is not changed. Pages the damage cut off from the
// tree are read too, even without the free list: an event delivered
// before the damage may then come back and be sent again, which delivery
// allows (at least once; head office ignores an event id it has), where
// losing one would not be.
func Salvage(from, to string) (SalvageReport, error) {
	rep := SalvageReport{From: from, To: to}
	if _, err := os.Stat(to); !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("salvaging outbox %s: %s already exists (give a new file)", from, to)
	}
	o, err := Open(to, Options{Max: math.MaxInt})
	if err != nil {
		return rep, fmt.Errorf("salvaging outbox %s: %w", from, err)
	}
	ok := false
	defer func() {
		o.Close()
		if !ok {
			os.Remove(to)
		}
	}()
	s := &salvager{o: o}
	r, err := boltfile.Salvage(from, boltfile.SalvageOptions{StaleOK: true}, s.item)
	if err == nil {
		err = s.flush()
	}
	if err == nil {
		err = s.finish()
	}
	if err != nil {
		return rep, fmt.Errorf("salvaging outbox %s: %w", from, err)
	}
	if r.Damage != nil {
		rep.Damage = r.Damage
	}
	rep.Events, rep.SetAside, rep.Resent, rep.Dropped, rep.LostPages = s.events, s.aside, s.resent, s.unreadable, r.Lost
	if err := o.db.Sync(); err != nil {
		return rep, err
	}
	ok = true
	return rep, o.Close()
}

// salvager writes what it reads of a damaged outbox into a new one.
type salvager struct {
	o          *Outbox
	seq        uint64 // the queue's sequence: past every record it gave
	dropCount  uint64 // the damaged file's count of events dropped when full
	newer      error  // a format this build does not read
	batch      []func(*bolt.Tx) error
	events     int
	aside      int
	resent     int
	unreadable int
}

// item takes one record of the damaged file, by its bucket, or, off the
// tree (or in a bucket whose name was damaged), by its content: an event
// is a queue key and a record that decodes.
func (s *salvager) item(it boltfile.Item) error {
	bucket := ""
	if !it.Orphan && len(it.Path) == 1 {
		for _, b := range [][]byte{bucketQueue, bucketMeta, bucketState, bucketDamaged} {
			if bytes.Equal(it.Path[0], b) {
				bucket = string(b)
			}
		}
	}
	if it.Bucket {
		if !it.Orphan && len(it.Path) == 0 && bytes.Equal(it.Key, bucketQueue) {
			s.seq = max(s.seq, it.Seq)
		}
		return nil
	}
	k, v := bytes.Clone(it.Key), bytes.Clone(it.Value)
	_, derr := decode(k, v)
	event := len(k) == 8 && derr == nil
	meta := (bytes.Equal(k, keyFormat) || bytes.Equal(k, keyDropped)) && len(v) == 8
	switch {
	case bucket == string(bucketMeta) || bucket == "" && meta:
		switch {
		case bytes.Equal(k, keyFormat) && binary.BigEndian.Uint64(v) > formatVersion:
			s.newer = fmt.Errorf("it was written by a newer joren (format %d, this one reads %d)", binary.BigEndian.Uint64(v), formatVersion)
		case bytes.Equal(k, keyDropped) && len(v) == 8:
			s.dropCount = max(s.dropCount, binary.BigEndian.Uint64(v))
		}
	case event && (bucket == string(bucketQueue) || bucket == ""):
		s.seq = max(s.seq, binary.BigEndian.Uint64(k))
		return s.put(bucketQueue, k, v, bucket == "")
	case bucket == string(bucketQueue) || bucket == string(bucketDamaged) || bucket == "" && len(k) == 8:
		// Set aside, as Peek does with a record that does not decode.
		return s.put(bucketDamaged, k, v, false)
	case bucket == string(bucketState) || bucket == "" && len(k) > 0:
		return s.put(bucketState, k, v, false)
	default:
		s.unreadable++
	}
	return nil
}

// put queues a record for the new file; the first one found under a key
// stands (the tree is read before what was cut off from it).
func (s *salvager) put(bucket, k, v []byte, cutOff bool) error {
	s.batch = append(s.batch, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get(k) != nil {
			return nil
		}
		switch {
		case bytes.Equal(bucket, bucketQueue):
			s.events++
			if cutOff {
				s.resent++
			}
		case bytes.Equal(bucket, bucketDamaged):
			s.aside++
		}
		b.FillPercent = 0.9
		return b.Put(k, v)
	})
	if len(s.batch) >= 512 {
		return s.flush()
	}
	return nil
}

func (s *salvager) flush() error {
	if len(s.batch) == 0 {
		return nil
	}
	batch := s.batch
	s.batch = nil
	return s.o.update(func(tx *bolt.Tx) error {
		for _, fn := range batch {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish sets the queue's sequence past every record and keeps the count
// of dropped events.
func (s *salvager) finish() error {
	if s.newer != nil {
		return s.newer
	}
	return s.o.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketQueue).SetSequence(s.seq); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyDropped, u64(s.dropCount))
	})
}

// Recovery is what Recover did with a damaged outbox.
type Recovery struct {
	SalvageReport
	// Cause is the damage that made Open refuse the file.
	Cause error
	// Aside is where the damaged file is kept (its name ends with the
	// time it was set aside).
	Aside string
	// Failed says why nothing could be salvaged (nil if something was):
	// the next Open then starts an empty outbox.
	Failed error
}

// String says what happened and what was kept, for a person.
func (r Recovery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s was damaged", filepath.Base(r.From))
	var de *boltfile.DamageError
	if errors.As(r.Cause, &de) && len(de.Problems) > 0 {
		fmt.Fprintf(&b, " (%s)", de.Problems[0])
	}
	fmt.Fprintf(&b, "; it is kept as %s and a new outbox replaced it: ", filepath.Base(r.Aside))
	if r.Failed != nil {
		fmt.Fprintf(&b, "nothing could be salvaged (%v)", r.Failed)
		return b.String()
	}
	b.WriteString(r.SalvageReport.String())
	return b.String()
}

// Recover puts a new outbox in place of the damaged one at path, holding
// every event Salvage can read of it, and keeps the damaged file beside
// it, named with the time (outbox.db.damaged-20261202T101500Z). cause is
// the error Open gave. It is crash-safe: the new file is complete before a
// rename puts it in place, so path is at every moment the damaged file or
// the new one. If nothing can be salvaged, the damaged file is still set
// aside (Failed says why), and the next Open starts an empty outbox.
func Recover(path string, cause error, now time.Time) (Recovery, error) {
	rec := Recovery{Cause: cause}
	tmp := path + ".salvage"
	os.Remove(tmp)
	rep, err := Salvage(path, tmp)
	rec.SalvageReport, rec.Failed = rep, err
	rec.From = path
	aside, err := boltfile.KeepAside(path, now)
	if err != nil {
		os.Remove(tmp)
		return rec, fmt.Errorf("recovering outbox %s: %w", path, err)
	}
	rec.Aside = aside
	if rec.Failed != nil {
		if err := os.Remove(path); err != nil {
			return rec, fmt.Errorf("recovering outbox %s: %w", path, err)
		}
		return rec, nil
	}
	if err := boltfile.Replace(tmp, path); err != nil {
		return rec, fmt.Errorf("recovering outbox %s: %w", path, err)
	}
	rec.To = path
	return rec, nil
}

// KeptCopies lists the damaged outbox files kept aside beside path by
// Recover, oldest first.
func KeptCopies(path string) ([]boltfile.Kept, error) { return boltfile.KeptCopies(path) }

// PruneKept deletes the damaged files kept aside before before.
func PruneKept(path string, before time.Time) (int, error) { return boltfile.Prune(path, before) }
