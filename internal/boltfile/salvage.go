package boltfile

import (
	"fmt"
	"os"
	"time"
)

// Report says what Salvage read.
type Report struct {
	// Records is how many records were handed over.
	Records int
	// Lost counts the pages and elements that could not be read; a lost
	// page may have held any number of records.
	Lost int
	// Orphans counts the records found on pages cut off from the tree
	// (included in Records).
	Orphans int
	// Damage says what was wrong (nil when nothing was).
	Damage *DamageError
}

// SalvageOptions tune Salvage.
type SalvageOptions struct {
	// LockTimeout is how long to wait for a writer to release the file
	// (default 2 s).
	LockTimeout time.Duration
	// StaleOK reads the pages cut off from the tree even when the free
	// list is lost too (a file cut short usually loses both: they are
	// among the newest pages). Free pages are read then, and with them
	// old versions of records and records deleted since the file was last
	// rewritten whole: only a caller that can tell those apart may set it
	// (the outbox, whose consumers ignore an event they already have; the
	// identity store, which lists what it deleted since its last
	// compaction).
	StaleOK bool
}

// Salvage hands every record of the file at path that it can read to
// visit, bucket by bucket, and goes on past what it cannot read.
//
// It reads the tree of the meta page bbolt would use, never free pages: a
// record deleted before the damage stays deleted (bbolt keeps the
// previous transaction's tree too, but reading it would bring back what
// the last transaction deleted, a forgotten visitor, say). Then, if the
// free list is readable, it reads the pages that are neither in the tree
// nor free: pages in use that damage above them cut off (StaleOK: all
// the pages the tree does not reach). Their records come as orphans
// (Item.Orphan), their bucket unknown: the caller tells by their content
// where they belong, or drops them.
//
// The file is not changed. The error is for a file that cannot be read
// at all or is in use by another process, or visit's.
func Salvage(path string, o SalvageOptions, visit func(Item) error) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, err
	}
	defer f.Close()
	// Not while a writer changes it (bbolt holds an exclusive lock).
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if err := flock(f, false, o.LockTimeout); err != nil {
		return Report{}, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return Report{}, err
	}
	size := st.Size()
	if size == 0 {
		return Report{Damage: Damaged(path, "the file is empty (0 bytes)")}, nil
	}
	ms := readMetas(f, size)
	m, ok := ms.best()
	if !ok {
		return Report{Damage: Damaged(path, fmt.Sprintf("not a bbolt file, or both its meta pages are damaged (first: %v; second: %v)", ms.err[0], ms.err[1]))}, nil
	}
	var r Report
	w := newWalker(&file{r: f, size: size, pageSize: ms.pageSize, meta: m})
	w.visit, w.staleOK = visit, o.StaleOK
	if why := ms.lost(); why != "" {
		w.probs.addf("%s", why)
	}
	if m.pages > uint64(size)/uint64(ms.pageSize) {
		w.probs.addf("cut short: the file has %d bytes, its %d pages need %d (the end of the file is missing)", size, m.pages, m.pages*uint64(ms.pageSize))
	}
	w.freeList()
	if err := w.tree(nil, m.root, nil, nil, 0); err != nil {
		return r, err
	}
	inTree := w.items
	if err := w.orphans(); err != nil {
		return r, err
	}
	r.Records, r.Lost, r.Orphans = w.items, w.lost, w.items-inTree
	if err := w.probs.err(path); err != nil {
		r.Damage = err.(*DamageError)
	}
	return r, nil
}
