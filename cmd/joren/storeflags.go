package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vocab"
)

// storeFlags are the flags of every command that opens the identity store.
type storeFlags struct {
	withPolicy bool
	dir        string
	keyFile    string
	// mode is the mode a command expects ("": the store's); a new store
	// is made in it.
	mode        string
	tz          string
	regularDays int
	window      int
	merge       int
	retention   int
}

// register adds --store (defaulting to $JOREN_STORE), --key-file
// (defaulting to $JOREN_STORE_KEY_FILE) and, with policy, the regular
// policy's flags.
func (f *storeFlags) register(cmd *cobra.Command, policy bool) {
	cmd.Flags().StringVar(&f.dir, "store", os.Getenv("JOREN_STORE"), "identity store directory (env JOREN_STORE)")
	cmd.Flags().StringVar(&f.keyFile, "key-file", os.Getenv("JOREN_STORE_KEY_FILE"), "key file of an encrypted store (env JOREN_STORE_KEY_FILE; on the device /run/joren/store.key): a new store is encrypted with it, an unencrypted one when opened for writing; made (mode 0600) if missing and its directory exists")
	if !policy {
		return
	}
	f.withPolicy = true
	fl := cmd.Flags()
	fl.StringVar(&f.tz, "tz", "", "time zone whose local days count, as an IANA name like Asia/Tokyo (default: the store's; UTC for a new store)")
	fl.IntVar(&f.regularDays, "regular-days", identity.DefaultRegularDays, "a visitor is a regular once seen on this many distinct days within the window")
	fl.IntVar(&f.window, "window", identity.DefaultWindow, "the regular window, in days")
	fl.IntVar(&f.merge, "merge-minutes", int(identity.DefaultMergeWindow/time.Minute), "passages of one visitor less than this many minutes apart are one visit")
	fl.IntVar(&f.retention, "retention", identity.DefaultRetention, "visitors unseen for this many days are deleted")
}

// storePlace is where a command's store is and how it is kept.
type storePlace struct {
	dir     string
	keyFile string
	mode    store.Mode // expected ("": the store's); a new store's
	zone    string     // IANA name ("": the store's; UTC for a new store)
	// policy is the regular policy (zero fields: the defaults; Zone nil:
	// the store's).
	policy identity.Policy
}

// resolve says where the store is and how it is kept, or gives a usage
// error. With settings, it is the one place that reads the store's flags
// and environment: a device's configuration file would be read here too.
func (f *storeFlags) resolve() (storePlace, error) {
	if f.dir == "" {
		return storePlace{}, usagef("no identity store: give --store DIR (or set JOREN_STORE)")
	}
	return f.settings()
}

// settings is the store's place without requiring a directory (replay
// makes a temporary store without one).
func (f *storeFlags) settings() (storePlace, error) {
	p := storePlace{dir: f.dir, keyFile: f.keyFile, mode: store.Mode(f.mode), zone: f.tz}
	if p.zone != "" {
		if _, err := time.LoadLocation(p.zone); err != nil {
			return storePlace{}, usagef("--tz %q: not a time zone (want an IANA name like Europe/Paris): %v", p.zone, err)
		}
	}
	if p.mode != "" {
		if _, err := store.ParseMode(f.mode); err != nil {
			return storePlace{}, usagef("--mode: %v", err)
		}
	}
	if f.withPolicy {
		p.policy = identity.Policy{RegularDays: f.regularDays, Window: f.window, MergeWindow: time.Duration(f.merge) * time.Minute, Retention: f.retention}
		p.policy.Zone = time.UTC // only for validation here; the service uses the store's
		if err := p.policy.Validate(); err != nil {
			return storePlace{}, usagef("%v", err)
		}
		p.policy.Zone = nil
	}
	return p, nil
}

// check validates the store's flags (usage errors), for a command that
// does work (embedding faces) before it opens the store.
func (f *storeFlags) check() error {
	_, err := f.resolve()
	return err
}

// storeAccess is how a command uses the identity store.
type storeAccess int

const (
	// inspect reads the store and changes nothing (several readers may
	// share it); it must exist.
	inspect storeAccess = iota
	// change reads and writes it through its identity service; it must
	// exist.
	change
	// create is change, making the store first if there is none.
	create
)

// storeRequest is what a command asks of the store.
type storeRequest struct {
	access storeAccess
	// model is the model of the descriptors the command brings: a store
	// of another model is refused. The zero Model opens any store; a
	// store made now then records the installed model.
	model vocab.Model
	// newMode, if set, is the mode of a store made now (instead of
	// --mode).
	newMode store.Mode
	// noSpace is identity.Options.NoSpace: match by distance alone.
	noSpace bool
}

// openedStore is an open identity store, with its identity service unless
// it was opened to inspect.
type openedStore struct {
	storePlace
	db  *store.Store
	svc *identity.Service
	// made says the store did not exist and was made now.
	made bool
}

// Close closes the store.
func (s *openedStore) Close() error { return s.db.Close() }

// open resolves the store's place and opens it as r asks.
func (f *storeFlags) open(g *globals, r storeRequest) (*openedStore, error) {
	p, err := f.resolve()
	if err != nil {
		return nil, err
	}
	s := &openedStore{storePlace: p}
	model := r.model
	if r.access == create {
		if _, err := os.Stat(filepath.Join(p.dir, store.FileName)); err != nil {
			s.made = true
			if model.Dim == 0 {
				model = installedModel(g, g.modelDir)
			}
			if r.newMode != "" {
				s.mode = r.newMode
			}
		}
	}
	st, err := store.Open(p.dir, store.Options{
		Model: model, Zone: p.zone, Create: r.access == create, ReadOnly: r.access == inspect,
		KeyFile: p.keyFile, Mode: s.mode,
	})
	if errors.Is(err, store.ErrNoStore) {
		return nil, fmt.Errorf("%w (it is made by `joren replay --store DIR`, `joren staff add` or `joren customers add`)", err)
	}
	if err != nil {
		return nil, err
	}
	if st.KeyCreated() {
		g.log.Warn("made a new store key: keep a copy of it apart from the device; without it the store cannot be read", "key_file", p.keyFile)
	}
	s.db = st
	if r.access == inspect {
		return s, nil
	}
	s.svc, err = identity.New(st, identity.Options{Policy: p.policy, Log: g.log, Mode: s.mode, NoSpace: r.noSpace})
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// run is the RunE of a command that works on the store: it opens the
// store as r asks, runs do on it, and closes it.
func (f *storeFlags) run(g *globals, r storeRequest, do func(cmd *cobra.Command, args []string, s *openedStore) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.open(g, r)
		if err != nil {
			return err
		}
		defer s.Close()
		return do(cmd, args, s)
	}
}

// installedModel describes the descriptors of the dlib model installed in
// dir without loading it: its digest is the one `joren models` recorded,
// the same one the recognizer reports, so stores made by replay and by
// staff enrolment agree.
func installedModel(g *globals, dir string) vocab.Model {
	m := dlib.Describe()
	man, err := models.ReadManifest(dir)
	if e, ok := man.Lookup(models.ResNetFile); err == nil && ok {
		m.Digest = e.SHA256
		return m
	}
	g.log.Warn("no model manifest: the store records the model without its digest", "models", dir)
	return m
}
