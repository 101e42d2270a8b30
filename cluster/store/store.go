package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"joren/vocab"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the store's file inside its directory.
const FileName = "identities.db"

// Schema is the layout version this build writes. Version 1 held the
// records only; version 2 added the derived indexes (last-seen order, the
// visit log by identity, the maintenance to-do list, merge aliases) and
// the byte and identity counts; version 3 added enrolled customers, the
// store's mode and encryption at rest. Migration 1 -> 2 rebuilds the
// indexes from the records; 2 -> 3 adds the customers' bucket and records
// the counting mode. Encryption is not a schema step: a store of the
// current schema is encrypted (by Open, given a key) whenever it is not
// yet.
const Schema = 3

// Buckets. In an encrypted store every value of a record bucket is sealed
// (AES-256-GCM, bound to its bucket and key), and the keys that would tell
// something (names, visit ids, which carry their time, and last-seen
// times) are replaced by keyed hashes; see docs/privacy.md.
var (
	bMeta       = []byte("meta")
	bIdentities = []byte("identities") // id -> Identity
	bSeen       = []byte("seen")       // lastSeen(8) id -> flags(1): oldest first (encrypted: day(4) name(id) -> sealed lastSeen flags id)
	bVisits     = []byte("visits")     // visit id -> Visit (encrypted: name(visit id))
	bByIdentity = []byte("byidentity") // identity 0x00 visit key -> nil (encrypted: name(identity) visit key)
	bStaff      = []byte("staff")      // name -> Staff (JSON) (encrypted: name(name))
	bCustomers  = []byte("customers")  // name -> Customer (JSON) (encrypted: name(name))
	bDirty      = []byte("dirty")      // identity id -> nil: to re-check in maintenance
	bAliases    = []byte("aliases")    // merged id -> at(8) surviving id
)

// buckets are every bucket of the current schema.
var buckets = [][]byte{bMeta, bIdentities, bSeen, bVisits, bByIdentity, bStaff, bCustomers, bDirty, bAliases}

// Keys of the meta bucket.
var (
	kMeta       = []byte("meta")
	kNext       = []byte("next")
	kBytes      = []byte("bytes")
	kIdentities = []byte("identities")
)

// Options open a store.
type Options struct {
	// Model is the model of the descriptors the caller will store. A new
	// store records it; an existing store of another model is refused. The
	// zero Model opens an existing store whatever its model (inspection,
	// forgetting by id).
	Model vocab.Model
	// Zone is the IANA time zone recorded in a new store; for an existing
	// store, a different zone is refused ("" accepts the store's).
	Zone string
	// Create makes a new store if dir holds none.
	Create bool
	// ReadOnly opens without writing (several readers may share a store).
	ReadOnly bool
	// Limits bound the store; zero fields take DefaultLimits.
	Limits Limits
	// NoSync skips fsync on commit: only for benchmarks and tuning runs,
	// never on a device (a power cut could then corrupt the file).
	NoSync bool
	// Now is the clock used for Created (default time.Now).
	Now func() time.Time
	// KeyFile is the file of the key that encrypts the store at rest (""
	// for none). An encrypted store needs it; a new store is made
	// encrypted; a store not yet encrypted is encrypted when opened for
	// writing. A missing key file is created (mode 0600) when the store is
	// not yet encrypted and the file's directory exists.
	KeyFile string
	// Mode is the mode of a new store (default Counting); an existing
	// store keeps its own (see the identity service's SetMode).
	Mode Mode
}

// Store is an open identity store. Its methods are safe for concurrent
// use: bbolt allows one writing transaction at a time and any number of
// readers.
type Store struct {
	mu sync.Mutex // guards meta
	// swap guards db: transactions hold it shared, Compact exclusively
	// while it replaces the file.
	swap   sync.RWMutex
	db     *bolt.DB
	dir    string
	meta   Meta
	limits Limits
	// keys is how records are stored: plain, or sealed once the
	// store's key is known.
	keys     keying
	keyFile  string
	noSync   bool
	readOnly bool
	// KeyCreated is set when Open made the key file.
	keyCreated bool
}

// ErrNoStore is returned when dir has no store and Create is not set.
var ErrNoStore = errors.New("no identity store")

// ModelError says a store holds descriptors of another model.
type ModelError struct {
	Dir         string
	Store, Want vocab.Model
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("identity store %s holds descriptors of model %s (%d values), not %s (%d values): descriptors of two models cannot be compared; re-enrol staff and start a new store with --store NEWDIR, or use the model the store was made with",
		e.Dir, e.Store.ID(), e.Store.Dim, e.Want.ID(), e.Want.Dim)
}

// Open opens (or, with Create, makes) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	path := filepath.Join(dir, FileName)
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !o.Create || o.ReadOnly {
			return nil, fmt.Errorf("%w in %s (no %s)", ErrNoStore, dir, FileName)
		}
		if o.Model.Dim <= 0 {
			return nil, fmt.Errorf("creating identity store in %s: the model of its descriptors is needed", dir)
		}
		// Descriptors are biometric data: only the device's user reads them.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating identity store: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("opening identity store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: o.ReadOnly, NoSync: o.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("identity store %s is in use by another process (only one writer at a time)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening identity store %s: %w", path, err)
	}
	s := &Store{db: db, dir: dir, limits: o.Limits.fill(), keyFile: o.KeyFile, noSync: o.NoSync, readOnly: o.ReadOnly}
	if err := s.init(o); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(o Options) (err error) {
	defer s.damaged(&err)
	var (
		schema  int
		created bool
	)
	err = s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bMeta)
		if mb == nil {
			return nil
		}
		v := mb.Get(kMeta)
		if v == nil {
			return fmt.Errorf("%s is not a joren identity store (no meta record)", s.path())
		}
		if err := json.Unmarshal(v, &s.meta); err != nil {
			return fmt.Errorf("%s: unreadable meta record: %w", s.path(), err)
		}
		schema = s.meta.Schema
		return nil
	})
	if err != nil {
		return err
	}
	if schema == 0 {
		// A new file (bbolt creates an empty one).
		if o.ReadOnly {
			return fmt.Errorf("%s is empty, not an identity store", s.path())
		}
		zone := o.Zone
		if zone == "" {
			zone = "UTC"
		}
		if _, err := time.LoadLocation(zone); err != nil {
			return fmt.Errorf("time zone %q: %w", zone, err)
		}
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		if o.Model.Dim <= 0 {
			return fmt.Errorf("creating identity store in %s: the model of its descriptors is needed", s.dir)
		}
		mode := o.Mode
		if mode == "" {
			mode = Counting
		}
		if _, err := ParseMode(string(mode)); err != nil {
			return fmt.Errorf("creating identity store in %s: %w", s.dir, err)
		}
		s.meta = Meta{Schema: Schema, Model: o.Model, Zone: zone, Created: now().UTC(), Mode: mode}
		if o.KeyFile != "" {
			// The key before anything is written: a store is never made
			// unencrypted because its key could not be.
			key, made, err := LoadOrCreateKey(o.KeyFile)
			if err != nil {
				return fmt.Errorf("creating identity store in %s: %w", s.dir, err)
			}
			s.keys, s.keyCreated = keying{key}, made
			s.meta.Cipher, s.meta.KeyID = Cipher, key.ID()
		}
		created = true
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, b := range buckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return putMeta(tx, s.meta)
		})
		if err != nil {
			return fmt.Errorf("creating identity store %s: %w", s.path(), err)
		}
	}
	if schema > Schema {
		return fmt.Errorf("identity store %s was written by a newer joren (schema %d; this build reads up to %d): upgrade joren, or use another store", s.dir, schema, Schema)
	}
	if !created {
		// An encrypted store's key is checked before anything is read or
		// migrated.
		if err := s.checkKey(o.KeyFile); err != nil {
			return err
		}
	}
	if schema != 0 && schema < Schema {
		if o.ReadOnly {
			return fmt.Errorf("identity store %s has schema %d, this build uses %d: open it once for writing (any joren command that changes it) to migrate", s.dir, schema, Schema)
		}
		if err := s.migrate(schema); err != nil {
			return err
		}
	}
	if !created {
		if o.Model.Dim > 0 && o.Model.ID() != s.meta.Model.ID() || o.Model.Dim > 0 && o.Model.Dim != s.meta.Model.Dim {
			return &ModelError{Dir: s.dir, Store: s.meta.Model, Want: o.Model}
		}
		if o.Zone != "" && o.Zone != s.meta.Zone {
			return fmt.Errorf("identity store %s counts days in time zone %s, not %s: days already counted would shift; keep %s or start a new store", s.dir, s.meta.Zone, o.Zone, s.meta.Zone)
		}
		if !s.Encrypted() && o.KeyFile != "" && !o.ReadOnly {
			if err := s.encrypt(o.KeyFile); err != nil {
				return err
			}
		}
	}
	if !o.ReadOnly {
		// What an interrupted Compact or encryption left behind.
		os.Remove(s.path() + compactSuffix)
	}
	return nil
}

// checkKey loads the key of an encrypted store and checks it is the one
// the store was encrypted with.
func (s *Store) checkKey(keyFile string) error {
	if s.meta.Cipher == "" {
		return nil
	}
	if s.meta.Cipher != Cipher {
		return fmt.Errorf("identity store %s is encrypted with %q, which this build does not know: upgrade joren", s.dir, s.meta.Cipher)
	}
	if keyFile == "" {
		return &EncryptedError{Dir: s.dir, Reason: "no key file given"}
	}
	key, err := LoadKey(keyFile)
	var ke *KeyError
	switch {
	case errors.As(err, &ke) && ke.Missing:
		return &EncryptedError{Dir: s.dir, KeyFile: keyFile, Reason: "missing"}
	case errors.As(err, &ke):
		return &EncryptedError{Dir: s.dir, KeyFile: keyFile, Reason: ke.Err.Error()}
	case err != nil:
		return err
	case key.ID() != s.meta.KeyID:
		return &EncryptedError{Dir: s.dir, KeyFile: keyFile, Reason: "wrong key"}
	}
	s.keys = keying{key}
	return nil
}

// Encrypted tells whether the store's values are encrypted.
func (s *Store) Encrypted() bool { return s.keys.sealed() }

// KeyCreated tells whether Open made the key file (the caller may want to
// say so: the file must be backed up).
func (s *Store) KeyCreated() bool { return s.keyCreated }

func putMeta(tx *bolt.Tx, m Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kMeta, b)
}

func (s *Store) path() string { return filepath.Join(s.dir, FileName) }

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Meta describes the store.
func (s *Store) Meta() Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta
}

// Zone is the store's time zone.
func (s *Store) Zone() (*time.Location, error) {
	z, err := time.LoadLocation(s.meta.Zone)
	if err != nil {
		return nil, fmt.Errorf("identity store %s: time zone %q: %w", s.dir, s.meta.Zone, err)
	}
	return z, nil
}

// Limits are the store's bounds.
func (s *Store) Limits() Limits { return s.limits }

// Close closes the store.
func (s *Store) Close() error {
	s.swap.Lock()
	defer s.swap.Unlock()
	return s.db.Close()
}

// FileSize is the size of the store's file in bytes.
func (s *Store) FileSize() (int64, error) {
	st, err := os.Stat(s.path())
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// damaged turns a panic of bbolt on a damaged page into an error: bbolt
// asserts rather than returns when a page is garbage, and a damaged SD card
// must give a message, not a crash. (bbolt rolls the transaction back
// before the panic goes on.)
func (s *Store) damaged(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("identity store %s is damaged (%v): run `joren store check`; restore a backup or start a new store", s.dir, r)
	}
}

// Check verifies the file's integrity (bbolt's page checks) and that every
// record decodes and every index entry points at a record.
func (s *Store) Check() (err error) {
	defer s.damaged(&err)
	s.swap.RLock()
	defer s.swap.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("identity store %s is corrupt: %w", s.dir, errors.Join(errs...))
		}
		tx := &Tx{tx: btx, s: s}
		return tx.checkRecords()
	})
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) (err error) {
	defer s.damaged(&err)
	s.swap.RLock()
	defer s.swap.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, s: s}) })
}

// Update runs fn in a read-write transaction, committed (and durable,
// unless NoSync) when fn returns nil and rolled back otherwise.
func (s *Store) Update(fn func(*Tx) error) (err error) {
	defer s.damaged(&err)
	s.swap.RLock()
	defer s.swap.RUnlock()
	var meta *Meta
	err = s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{tx: btx, s: s, meta: s.Meta()}
		if err := fn(tx); err != nil {
			return err
		}
		if tx.metaChanged {
			if err := putMeta(btx, tx.meta); err != nil {
				return err
			}
			meta = &tx.meta
		}
		return nil
	})
	if err == nil && meta != nil {
		s.mu.Lock()
		s.meta = *meta
		s.mu.Unlock()
	}
	return err
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
