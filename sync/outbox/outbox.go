package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
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
// layout is refused rather than misread.
const formatVersion = 1

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
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opt.LockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("outbox %s is in use by another process (is another joren running?)", path)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrVersionMismatch), errors.Is(err, bolt.ErrChecksum):
		return nil, fmt.Errorf("outbox %s is not an outbox file or is damaged (%v); it was left untouched: move it aside to start a new one", path, err)
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
	return o.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", o.path, err)
		}
		if v := meta.Get(keyFormat); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("outbox %s: damaged format marker", o.path)
			}
			if f := binary.BigEndian.Uint64(v); f > formatVersion {
				return fmt.Errorf("outbox %s was written by a newer joren (format %d, this one reads %d)", o.path, f, formatVersion)
			}
		} else if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
			return err
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
	err = o.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		// Keys only ever grow: pack pages full instead of bbolt's
		// default half, which would double the file.
		q.FillPercent = 0.95
		for i := range recs {
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			if err := q.Put(u64(seq), encode(recs[i])); err != nil {
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
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil && len(recs) < max; k, v = c.Next() {
			r, err := decode(v)
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
	err := o.db.Update(func(tx *bolt.Tx) error {
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
	err := o.db.Update(func(tx *bolt.Tx) error {
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
	err := o.db.View(func(tx *bolt.Tx) error {
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

// A record on disk: version byte, uvarint-prefixed id and topic, then
// the payload.
const recordVersion = 1

func encode(r Record) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen16+len(r.ID)+len(r.Topic)+len(r.Payload))
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(r.ID)))
	b = append(b, r.ID...)
	b = binary.AppendUvarint(b, uint64(len(r.Topic)))
	b = append(b, r.Topic...)
	return append(b, r.Payload...)
}

func decode(v []byte) (Record, error) {
	if len(v) == 0 || v[0] != recordVersion {
		return Record{}, errors.New("unknown record version")
	}
	v = v[1:]
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
