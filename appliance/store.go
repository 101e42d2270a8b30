package appliance

import (
	"errors"
	"fmt"
	"time"

	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/cluster/store"
)

// storeDir is where the identity store lives: store.dir, or store/ in
// the data directory.
func (a *Appliance) storeDir() string { return a.cfg.StoreDir() }

// openStore opens the identity store for the face models' model, the
// identity service that decides visits with it, and the operations people
// ask of it (Ops: what the control socket serves).
func (a *Appliance) openStore() error {
	c := a.cfg
	mode, err := store.ParseMode(c.Store.Mode)
	if err != nil {
		return fmt.Errorf("store.mode: %w", err)
	}
	// The backup and the damaged files set aside hold records no longer
	// than the store does.
	retention := time.Duration(c.Store.RetentionDays) * 24 * time.Hour
	o := store.Options{Model: a.model, Zone: a.zone.String(), Create: true, Limits: c.Limits(), KeyFile: c.Store.KeyFile, Mode: mode, Backup: true, KeepDamaged: retention}
	a.pruneKept(time.Now())
	st, err := store.Open(a.storeDir(), o)
	if errors.Is(err, store.ErrDamaged) {
		// Never a restart loop on a damaged file: set it aside, go on
		// with what can be saved.
		if err = a.recoverStore(a.storeDir(), o, err); err == nil {
			st, err = store.Open(a.storeDir(), o)
		}
	}
	var ke *store.KeyError
	var ee *store.EncryptedError
	if errors.As(err, &ke) || errors.As(err, &ee) {
		return fmt.Errorf("store.key_file: %w", err)
	}
	if err != nil {
		return err
	}
	a.st = st
	a.onClose(st.Close)
	switch {
	case st.KeyCreated():
		a.log.Warn("made a new key for the identity store: back it up, without it the store cannot be read", "key_file", c.Store.KeyFile)
	case !st.Encrypted():
		a.log.Warn("the identity store is not encrypted (store.key_file is empty)", "store", a.storeDir())
	}
	// Visits are dated by the wall clock, unless camera.clock times a
	// recording: then the build time says nothing of them.
	var clock identity.ClockOptions
	if c.Camera.Clock == "" {
		clock.NotBefore = a.o.Built
	}
	svc, err := identity.New(st, identity.Options{Policy: c.Policy(), Log: a.log, Mode: mode, Clock: clock})
	if err != nil {
		return err
	}
	a.svc = svc
	// A visitor deleted by a command or the page leaves the page's list
	// of decisions and the button's "last customer" too.
	a.ops = control.New(st, svc, control.Options{Log: a.log, OnForget: a.dropRecent})
	a.forget = NewForgetLast(forgetter{svc}, 2*time.Minute)
	return nil
}
