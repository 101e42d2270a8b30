package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"joren/internal/boltfile"
)

// Record is one message waiting for delivery.
type Record struct {
	// Seq is the record's place in the queue, assigned by Put.
	Seq uint64
	// ID is the message's own id (the event id), for logs and checks.
	ID string
	// Topic is where the message is published.
	Topic string
	// Payload is the message.
	Payload []byte
}

// Options tune an outbox.
type Options struct {
	// Max is the most records kept (default DefaultMax). When a Put would
	// exceed it, the oldest records are dropped and counted.
	Max int
	// LockTimeout is how long Open waits for another process to release
	// the file (default 2 s).
	LockTimeout time.Duration
}

// DefaultMax keeps 100,000 records: about 40 MB on disk (see
// docs/events.md), several weeks of a busy shop's visits.
const DefaultMax = 100_000

// formatVersion is the layout of the file. A file written by a newer
// layout is refused rather than misread. Format 2 added a checksum to
// every record; a file of format 1 is read, and marked 2 when opened (its
// new records have checksums).
const formatVersion = 2

var (
	bucketQueue   = []byte("queue")
	bucketMeta    = []byte("meta")
	bucketState   = []byte("state")
	bucketDamaged = []byte("damaged")
	keyFormat     = []byte("format")
	keyDropped    = []byte("dropped")
)

// Outbox is a bounded durable FIFO of records. Its methods are safe for
// concurrent use; one process at a time may open a file.
type Outbox struct {
	db    *bolt.DB
	path  string
	max   int
	ready chan struct{}

	mu      sync.Mutex
	n       int    // records in the queue
	dropped uint64 // records dropped since the file was created
	damaged int    // records set aside because they could not be decoded
	// broken is the damage found in the file while open: from then on
	// nothing is written to it. (Its own lock: mu is held around
	// transactions.)
	brokenMu sync.Mutex
	broken   error
}

// ErrDamaged is what the error of a damaged outbox file is (errors.Is).
var ErrDamaged = boltfile.ErrDamaged

// damageError says an outbox file is damaged and what to do.
func damageError(path string, err error) error {
	return fmt.Errorf("outbox %s: %w; it was left untouched: `joren events salvage --state %s --out FILE` copies every event that can still be read into a new outbox (the device does so by itself when it starts)", path, err, filepath.Dir(path))
}

// Open opens the outbox at path, creating it (and its folder) if needed.
func Open(path string, opt Options) (*Outbox, error) {
	if opt.Max <= 0 {
		opt.Max = DefaultMax
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = 2 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	// Checked before bbolt maps it: a damaged file is an error here, never
	// a panic or a fault later.
	db, err := boltfile.Open(path, 0o600, bolt.Options{
		Timeout:      opt.LockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("outbox %s is in use by another process (is another joren running?)", path)
	case errors.Is(err, boltfile.ErrDamaged):
		return nil, damageError(path, err)
	case err != nil:
		return nil, fmt.Errorf("opening outbox %s: %w", path, err)
	}
	o := &Outbox{db: db, path: path, max: opt.Max, ready: make(chan struct{}, 1)}
	if err := o.load(); err != nil {
		db.Close()
		return nil, err
	}
	if o.n > 0 {
		o.signal()
	}
	return o, nil
}

// load checks the file's format and counts what it holds.
func (o *Outbox) load() error {
	return o.update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", o.path, err)
		}
		v := meta.Get(keyFormat)
		if v != nil && len(v) != 8 {
			return fmt.Errorf("outbox %s: damaged format marker", o.path)
		}
		switch f := binary.BigEndian.Uint64(append(make([]byte, 8-len(v)), v...)); {
		case f > formatVersion:
			return fmt.Errorf("outbox %s was written by a newer joren (format %d, this one reads %d)", o.path, f, formatVersion)
		case f < formatVersion:
			if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
				return err
			}
		}
		if v := meta.Get(keyDropped); len(v) == 8 {
			o.dropped = binary.BigEndian.Uint64(v)
		}
		for _, b := range [][]byte{bucketQueue, bucketState, bucketDamaged} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("outbox %s: %w", o.path, err)
			}
		}
		o.n = tx.Bucket(bucketQueue).Stats().KeyN
		o.damaged = tx.Bucket(bucketDamaged).Stats().KeyN
		return nil
	})
}

// view runs fn in a read transaction, with bbolt's panics and memory
// faults (a file damaged under its map) as errors that mark the outbox
// damaged.
func (o *Outbox) view(fn func(*bolt.Tx) error) (err error) {
	defer o.guard(&err, debug.SetPanicOnFault(true))
	return o.db.View(fn)
}

// update runs fn in a write transaction, unless the file was found
// damaged: nothing is written to a damaged file.
func (o *Outbox) update(fn func(*bolt.Tx) error) (err error) {
	if err := o.Broken(); err != nil {
		return err
	}
	defer o.guard(&err, debug.SetPanicOnFault(true))
	return o.db.Update(fn)
}

func (o *Outbox) guard(err *error, restore bool) {
	debug.SetPanicOnFault(restore)
	if r := recover(); r != nil {
		*err = damageError(o.path, boltfile.Damaged(o.path, fmt.Sprintf("bbolt gave up reading it: %v", r)))
		o.brokenMu.Lock()
		if o.broken == nil {
			o.broken = *err
		}
		o.brokenMu.Unlock()
	}
}

// Broken returns the damage that made the outbox refuse changes (nil if
// none did).
func (o *Outbox) Broken() error {
	o.brokenMu.Lock()
	defer o.brokenMu.Unlock()
	return o.broken
}

// Close closes the file. Records stay for the next Open.
func (o *Outbox) Close() error { return o.db.Close() }

// Path is the file's path.
func (o *Outbox) Path() string { return o.path }

// Put appends recs in one transaction, and stores the given state values
// (small named blobs of the caller, such as counters, kept consistent with
// the queue) in the same transaction. It returns when the records are on
// disk, and how many old records it dropped to stay within Max.
func (o *Outbox) Put(recs []Record, state map[string][]byte) (dropped int, err error) {
	return o.PutFunc(recs, func(s *State) error {
		for k, v := range state {
			if err := s.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutFunc appends recs and calls update with the caller's state, in one
// transaction: the records and what update writes are on disk together
// when it returns, or neither is (update's error, or a failed write, rolls
// both back). It returns how many old records it dropped to stay within
// Max. update may be nil.
func (o *Outbox) PutFunc(recs []Record, update func(*State) error) (dropped int, err error) {
	for _, r := range recs {
		if r.Topic == "" {
			return 0, fmt.Errorf("outbox: record %q has no topic", r.ID)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n, total := o.n, o.dropped
	err = o.update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		// Keys only ever grow: pack pages full instead of bbolt's
		// default half, which would double the file.
		q.FillPercent = 0.95
		for i := range recs {
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			if err := q.Put(u64(seq), encode(seq, recs[i])); err != nil {
				return err
			}
			recs[i].Seq = seq
			n++
		}
		// Drop the oldest beyond Max. A batch larger than Max keeps its
		// own newest records.
		c := q.Cursor()
		for k, _ := c.First(); k != nil && n > o.max; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			n--
			dropped++
		}
		if dropped > 0 {
			total += uint64(dropped)
			if err := tx.Bucket(bucketMeta).Put(keyDropped, u64(total)); err != nil {
				return err
			}
		}
		if update == nil {
			return nil
		}
		st := tx.Bucket(bucketState)
		// The caller's keys mostly grow too (ids counted in time order):
		// the same packing.
		st.FillPercent = 0.95
		return update(&State{b: st})
	})
	if err != nil {
		return 0, fmt.Errorf("outbox %s: storing %d record(s): %w", o.path, len(recs), err)
	}
	o.n, o.dropped = n, total
	if len(recs) > 0 {
		o.signal()
	}
	return dropped, nil
}

// Peek returns up to max records, oldest first, without removing them.
// A record that cannot be decoded is moved to a separate bucket (kept for
// inspection, counted by Damaged) so that it cannot block the queue.
func (o *Outbox) Peek(max int) ([]Record, error) {
	var (
		recs []Record
		bad  [][]byte
	)
	err := o.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil && len(recs) < max; k, v = c.Next() {
			r, err := decode(k, v)
			if err != nil || len(k) != 8 {
				bad = append(bad, bytes.Clone(k))
				continue
			}
			r.Seq = binary.BigEndian.Uint64(k)
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox %s: reading: %w", o.path, err)
	}
	if len(bad) > 0 {
		if err := o.setAside(bad); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (o *Outbox) setAside(keys [][]byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	moved := 0
	err := o.update(func(tx *bolt.Tx) error {
		q, d := tx.Bucket(bucketQueue), tx.Bucket(bucketDamaged)
		for _, k := range keys {
			v := q.Get(k)
			if v == nil {
				continue
			}
			if err := d.Put(k, bytes.Clone(v)); err != nil {
				return err
			}
			if err := q.Delete(k); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox %s: setting aside %d damaged record(s): %w", o.path, len(keys), err)
	}
	o.n -= moved
	o.damaged += moved
	return nil
}

// Ack removes delivered records. Sequence numbers no longer in the queue
// (dropped meanwhile) are ignored.
func (o *Outbox) Ack(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	removed := 0
	err := o.update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		for _, s := range seqs {
			k := u64(s)
			if q.Get(k) == nil {
				continue
			}
			if err := q.Delete(k); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox %s: removing %d delivered record(s): %w", o.path, len(seqs), err)
	}
	o.n -= removed
	return nil
}

// State returns the caller's state value stored under key by Put (nil if
// none).
func (o *Outbox) State(key string) ([]byte, error) {
	var v []byte
	err := o.ViewState(func(s *State) error {
		v = bytes.Clone(s.Get(key))
		return nil
	})
	return v, err
}

// ViewState calls read with the caller's state, in a read-only
// transaction: what it sees is consistent with itself.
func (o *Outbox) ViewState(read func(*State) error) error {
	err := o.view(func(tx *bolt.Tx) error {
		return read(&State{b: tx.Bucket(bucketState), readOnly: true})
	})
	if err != nil {
		return fmt.Errorf("outbox %s: reading state: %w", o.path, err)
	}
	return nil
}

// Max is the most records the outbox keeps.
func (o *Outbox) Max() int { return o.max }

// Len is the number of records waiting.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// Dropped is the number of records dropped because the outbox was full,
// since the file was created.
func (o *Outbox) Dropped() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// Damaged is the number of records set aside because they could not be
// decoded.
func (o *Outbox) Damaged() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.damaged
}

// Ready receives a value after a Put (and after Open, if records are
// waiting): the sender's cue to Peek. It never blocks Put.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

func (o *Outbox) signal() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// A record on disk: version byte, uvarint-prefixed id and topic, the
// payload, then (version 2) a CRC-32C of its key (its place in the queue)
// and all that: bbolt checks its pages but not their bytes, and a record
// an SD card damaged is set aside (Peek), never sent. Version 1 records,
// without the checksum, are read.
const recordVersion = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encode(seq uint64, r Record) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen16+len(r.ID)+len(r.Topic)+len(r.Payload)+4)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(r.ID)))
	b = append(b, r.ID...)
	b = binary.AppendUvarint(b, uint64(len(r.Topic)))
	b = append(b, r.Topic...)
	b = append(b, r.Payload...)
	return binary.BigEndian.AppendUint32(b, checksum(u64(seq), b))
}

func checksum(k, v []byte) uint32 {
	return crc32.Update(crc32.Checksum(k, castagnoli), castagnoli, v)
}

// decode reads the record stored under key k.
func decode(k, v []byte) (Record, error) {
	switch {
	case len(v) == 0:
		return Record{}, errors.New("empty record")
	case v[0] == 1:
		v = v[1:]
	case v[0] == 2:
		n := len(v) - 4
		if n < 1 || checksum(k, v[:n]) != binary.BigEndian.Uint32(v[n:]) {
			return Record{}, errors.New("damaged record (checksum)")
		}
		v = v[1:n]
	default:
		return Record{}, errors.New("unknown record version")
	}
	field := func() (string, error) {
		n, k := binary.Uvarint(v)
		if k <= 0 || n > uint64(len(v)-k) {
			return "", errors.New("truncated record")
		}
		s := string(v[k : k+int(n)])
		v = v[k+int(n):]
		return s, nil
	}
	id, err := field()
	if err != nil {
		return Record{}, err
	}
	topic, err := field()
	if err != nil || topic == "" {
		return Record{}, errors.New("truncated record")
	}
	return Record{ID: id, Topic: topic, Payload: bytes.Clone(v)}, nil
}
