package appliance

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"joren/cluster/store"
	"joren/internal/boltfile"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vocab"
)

// A damaged file (an SD card that lost a file's tail, flipped bits) never
// stops the box, nor makes it restart in a loop: the store or the outbox
// is set aside, named with the time, and a new one holding all that could
// be saved takes its place (store.Recover, outbox.Recover). The box says so
// in its log, its health (and so the status event and the installer's
// page) and its metrics.

// damagedNotice is how long health reports a damaged file set aside by an
// earlier run (the run that set it aside reports it as long as it runs).
const damagedNotice = 7 * 24 * time.Hour

// recovery is a damaged file this run set aside.
type recovery struct {
	key    string // "store" or "outbox"
	reason string // what happened and what was kept, for a person
	at     time.Time
	aside  string
}

// recoveries are what this run recovered, read by health and metrics.
type recoveries struct {
	mu   sync.Mutex
	list []recovery
}

func (r *recoveries) add(rec recovery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
}

func (r *recoveries) all() []recovery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recovery(nil), r.list...)
}

// count is how many files of kind key this run recovered.
func (r *recoveries) count(key string) int {
	n := 0
	for _, rec := range r.all() {
		if rec.key == key {
			n++
		}
	}
	return n
}

// recoverStore replaces the damaged store in dir (Open said so: cause)
// with what can be saved of it and of its backup.
func (a *Appliance) recoverStore(dir string, o store.Options, cause error) error {
	a.log.Error("the identity store is damaged: setting it aside and salvaging it", "store", dir, "error", cause)
	rec, err := store.Recover(dir, o, cause, time.Now())
	if err != nil {
		return fmt.Errorf("the identity store is damaged (%v), and recovering it failed: %w", cause, err)
	}
	a.log.Error("the damaged identity store is kept aside; a new store holds what could be saved", "kept", rec.Aside,
		"visitors", rec.Kept.Identities, "restored", rec.Restored.Identities, "lost", rec.Lost(), "report", rec.String())
	a.recovered.add(recovery{key: "store", reason: rec.String(), at: time.Now(), aside: rec.Aside})
	return nil
}

// recoverOutbox replaces the damaged outbox (publish.Open said so: cause)
// with the events that can be saved of it.
func (a *Appliance) recoverOutbox(cause error) error {
	path := filepath.Join(a.dataDir, publish.OutboxFile)
	a.log.Error("the event outbox is damaged: setting it aside and salvaging it", "outbox", path, "error", cause)
	rec, err := outbox.Recover(path, cause, time.Now())
	if err != nil {
		return fmt.Errorf("the event outbox is damaged (%v), and recovering it failed: %w", cause, err)
	}
	a.log.Error("the damaged outbox is kept aside; a new outbox holds the events that could be saved", "kept", rec.Aside, "events", rec.Events, "report", rec.String())
	a.recovered.add(recovery{key: "outbox", reason: rec.String(), at: time.Now(), aside: rec.Aside})
	return nil
}

// keptFiles lists the damaged files kept aside, by kind ("store",
// "outbox").
func (a *Appliance) keptFiles() map[string][]boltfile.Kept {
	out := map[string][]boltfile.Kept{}
	if kept, err := store.KeptCopies(a.storeDir()); err == nil {
		out["store"] = kept
	}
	if kept, err := outbox.KeptCopies(filepath.Join(a.dataDir, publish.OutboxFile)); err == nil {
		out["outbox"] = kept
	}
	return out
}

// pruneKept deletes the damaged files kept longer than the store keeps
// records: they hold the records they held.
func (a *Appliance) pruneKept(now time.Time) {
	before := now.AddDate(0, 0, -a.cfg.Store.RetentionDays)
	store.PruneKept(a.storeDir(), before)
	outbox.PruneKept(filepath.Join(a.dataDir, publish.OutboxFile), before)
}

// fileProblems adds to h what a person should know of damaged files:
// this run's recoveries, and the damaged files earlier runs set aside in
// the last days; and a store whose backup fails.
func (a *Appliance) fileProblems(h *vocab.Health, now time.Time) {
	this := map[string]bool{}
	for _, r := range a.recovered.all() {
		this[r.aside] = true
		h.Add(vocab.Problem{Key: r.key, Reason: r.reason + "; the damaged file is kept for a person to look at (the SD card may be failing)", Since: r.at})
	}
	for key, kept := range a.keptFiles() {
		for _, k := range kept {
			if this[k.Path] || now.Sub(k.Time) > damagedNotice {
				continue
			}
			h.Add(vocab.Problem{Key: key, Reason: fmt.Sprintf("a damaged file was set aside on %s and replaced by what could be saved of it: %s is kept for a person to look at (the SD card may be failing)",
				k.Time.Format("2006-01-02 15:04 MST"), filepath.Base(k.Path)), Since: k.Time})
		}
	}
	if a.st != nil {
		if err := a.st.BackupError(); err != nil {
			h.Add(vocab.Problem{Key: "store", Reason: fmt.Sprintf("the store's nightly backup failed: %v", err)})
		}
	}
	if a.box != nil {
		if err := a.box.Broken(); err != nil {
			h.Add(vocab.Problem{Key: "outbox", Reason: err.Error()})
		}
	}
}
