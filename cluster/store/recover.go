package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"joren/internal/boltfile"
)

// salvageDir is where Recover builds the new store, inside the store's
// directory (the same file system: the new file moves in with a rename).
const salvageDir = "salvage.tmp"

// Recovery is what Recover did with a damaged store.
type Recovery struct {
	SalvageReport
	// Cause is the damage that made Open refuse the store.
	Cause error
	// Aside is where the damaged file is kept (its name ends with the
	// time it was set aside).
	Aside string
	// Failed says why nothing could be salvaged (nil if something was):
	// the new store then holds only what the backup had, if anything.
	Failed error
}

// String says what happened and what was kept, for a person.
func (r Recovery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s was damaged", FileName)
	if why := firstProblem(r.Cause); why != "" {
		fmt.Fprintf(&b, " (%s)", why)
	}
	fmt.Fprintf(&b, "; it is kept as %s and a new store replaced it: ", filepath.Base(r.Aside))
	if r.Failed != nil {
		fmt.Fprintf(&b, "nothing could be salvaged (%v); ", r.Failed)
	}
	b.WriteString(r.SalvageReport.String())
	return b.String()
}

// firstProblem is the first thing a damage error says was wrong.
func firstProblem(err error) string {
	var de *boltfile.DamageError
	if errors.As(err, &de) && len(de.Problems) > 0 {
		p := de.Problems[0]
		if n := len(de.Problems) + de.More - 1; n > 0 {
			p += fmt.Sprintf(", and %d more problems", n)
		}
		return p
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// Recover puts a new store in place of the damaged one in dir, holding
// every record that can be saved: what Salvage reads of the damaged file,
// then, from the backup (BackupFile) if there is one of the same store,
// what the damaged file lost. The damaged file is kept beside it, named
// with the time (identities.db.damaged-20261202T101500Z). cause is the
// error Open gave.
//
// It is crash-safe: the new store is made whole in a directory of its own
// and moved in with a rename, so the store's file is at every moment the
// damaged one or the new one; a recovery cut short is done again (the
// damaged file is not kept twice).
//
// A wrong or missing key is not damage: Recover refuses (with the error
// Open gives) rather than set aside a store it cannot read. If nothing can
// be salvaged, the damaged file is still set aside and Failed says why;
// the next Open makes a new empty store.
func Recover(dir string, o Options, cause error, now time.Time) (Recovery, error) {
	rec := Recovery{Cause: cause}
	path := filepath.Join(dir, FileName)
	tmp := filepath.Join(dir, salvageDir)
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return rec, fmt.Errorf("recovering identity store %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	sv, rep, err := startSalvage(path, tmp, o, true)
	var (
		ee *EncryptedError
		ke *KeyError
		me *ModelError
	)
	if errors.As(err, &ee) || errors.As(err, &ke) || errors.As(err, &me) {
		return rec, err
	}
	fromBackup := false
	backup := filepath.Join(dir, BackupFile)
	bm, haveBackup := backupMeta(backup)
	switch {
	case err != nil:
		rec.Failed = err
		if haveBackup {
			// Nothing of the damaged file: the backup is all there is.
			os.RemoveAll(tmp)
			os.Mkdir(tmp, 0o700)
			if sv, rep, err = startSalvage(backup, tmp, o, true); err == nil {
				fromBackup = true
				rep.From, rep.Before = path, -1
			} else {
				sv = nil
			}
		}
	case haveBackup && sv.sameStore(bm):
		if _, err := sv.read(backup, true, nil); err != nil {
			rec.Failed = fmt.Errorf("reading the backup: %w", err)
		}
	}
	if sv != nil {
		if st, err := os.Stat(backup); err == nil && (fromBackup || sv.restored.total() > 0) {
			rep.Backup = st.ModTime()
		}
		err := sv.finish(now, &rep)
		if cerr := sv.dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			rec.Failed, sv = err, nil
		}
	}
	if fromBackup {
		rep.Restored, rep.Kept = rep.Kept, Counts{}
	}
	rec.SalvageReport = rep
	kept, err := boltfile.KeepAside(path, now)
	if err != nil {
		return rec, fmt.Errorf("recovering identity store %s: %w", dir, err)
	}
	rec.Aside = kept
	if sv == nil {
		rec.SalvageReport = SalvageReport{From: path, To: dir, Before: rep.Before, Damage: rep.Damage}
		if err := os.Remove(path); err != nil {
			return rec, fmt.Errorf("recovering identity store %s: %w", dir, err)
		}
		return rec, nil
	}
	if err := boltfile.Replace(filepath.Join(tmp, FileName), path); err != nil {
		return rec, fmt.Errorf("recovering identity store %s: %w", dir, err)
	}
	// Then the new file's list of deletions (empty): replaced in this
	// order, a recovery cut short between the two keeps the damaged
	// file's list, whose extra entries only name the deleted.
	if err := boltfile.Replace(filepath.Join(tmp, FileName+erasedSuffix), path+erasedSuffix); err != nil {
		os.Remove(path + erasedSuffix)
	}
	rec.To = dir
	return rec, nil
}

// sameStore tells whether a backup is of the store being salvaged: the
// same model and key (a store made anew since is another store).
func (sv *salvager) sameStore(backup Meta) bool {
	m := sv.dst.Meta()
	if m.Model.ID() != backup.Model.ID() || m.Model.Dim != backup.Model.Dim {
		return false
	}
	return !sv.meta.found || sv.meta.KeyID == backup.KeyID
}

// KeptCopies lists the damaged files of the store in dir kept aside by
// Recover, oldest first.
func KeptCopies(dir string) ([]boltfile.Kept, error) {
	return boltfile.KeptCopies(filepath.Join(dir, FileName))
}

// PruneKept deletes the damaged files kept aside before before (they hold
// people's records: they are kept no longer than the records would be).
func PruneKept(dir string, before time.Time) (int, error) {
	return boltfile.Prune(filepath.Join(dir, FileName), before)
}
