package boltfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// maxDepth bounds how deep a walk goes (branch levels and nested buckets
// together): a real tree of a few GB is less than 10 levels deep; a
// damaged one can be a cycle.
const maxDepth = 64

// file is a bbolt file read with plain reads: a page past its end is an
// error, never a fault.
type file struct {
	r        io.ReaderAt
	size     int64
	pageSize int
	meta     meta
}

// read reads page id with its overflow pages.
func (f *file) read(id uint64) (page, error) {
	if id < 2 {
		return page{}, fmt.Errorf("page %d: a meta page where a tree page belongs", id)
	}
	if id >= f.meta.pages {
		return page{}, fmt.Errorf("page %d: past the last page (%d)", id, f.meta.pages-1)
	}
	ps := int64(f.pageSize)
	off := int64(id) * ps
	if off+ps > f.size {
		return page{}, fmt.Errorf("page %d: past the end of the file (%d bytes)", id, f.size)
	}
	b := make([]byte, ps)
	if _, err := f.r.ReadAt(b, off); err != nil {
		return page{}, fmt.Errorf("page %d: %v", id, err)
	}
	p, _ := parsePage(b)
	if p.id != id {
		return page{}, fmt.Errorf("page %d: holds the header of page %d", id, p.id)
	}
	if p.overflow == 0 {
		return p, nil
	}
	if uint64(p.overflow) >= f.meta.pages-id {
		return page{}, fmt.Errorf("page %d: its %d overflow pages run past the last page (%d)", id, p.overflow, f.meta.pages-1)
	}
	n := (1 + int64(p.overflow)) * ps
	if off+n > f.size {
		return page{}, fmt.Errorf("page %d: its %d overflow pages run past the end of the file (%d bytes)", id, p.overflow, f.size)
	}
	full := make([]byte, n)
	copy(full, b)
	if _, err := f.r.ReadAt(full[ps:], off+ps); err != nil {
		return page{}, fmt.Errorf("page %d: %v", id, err)
	}
	p.b = full
	return p, nil
}

// Item is one thing a walk found: a record, or a nested bucket.
type Item struct {
	// Path names the bucket holding the item, from the top.
	Path [][]byte
	// Key and Value are the record's (a nested bucket's name and nil).
	// They are valid only during the call.
	Key, Value []byte
	// Bucket says Key names a nested bucket, whose sequence is Seq.
	Bucket bool
	Seq    uint64
	// Orphan says the item was on a page cut off from the tree: Path is
	// then relative to a bucket that is not known (Salvage).
	Orphan bool
}

// walker walks a file's tree from its root bucket. It reads each page
// once, checks it, and goes on past what it cannot read: the problems say
// what was skipped.
type walker struct {
	f       *file
	probs   problems
	reached []bool // pages reached, overflow included
	free    []bool // pages on the free list (nil: unknown)
	lost    int    // pages or elements skipped
	// readFree: the orphans' walk reads free pages too (orphans).
	readFree bool
	items    int
	orphan   bool // walking pages cut off from the tree
	// visit receives every item (nil: none).
	visit func(Item) error
	// staleOK: read cut-off pages without a free list (SalvageOptions).
	staleOK bool
}

func newWalker(f *file) *walker {
	w := &walker{f: f, reached: make([]bool, f.meta.pages)}
	w.reached[0], w.reached[1] = true, true
	return w
}

func where(path [][]byte) string {
	if len(path) == 0 {
		return "top level"
	}
	names := make([]string, len(path))
	for i, p := range path {
		names[i] = printable(p)
	}
	return "bucket " + strings.Join(names, "/")
}

// printable shows a key: as it is if it is text, in hex otherwise.
func printable(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", k)
		}
	}
	return string(k)
}

func (w *walker) lose(format string, a ...any) {
	w.lost++
	w.probs.addf(format, a...)
}

// freeList reads the free list, so that the walk can tell a page in use
// from a free one (which holds old, possibly deleted, records).
func (w *walker) freeList() {
	id := w.f.meta.freelist
	if id == noFreelist {
		return
	}
	p, err := w.f.read(id)
	if err != nil {
		w.probs.addf("free list: %v", err)
		return
	}
	if p.flags != freelistFlag {
		w.probs.addf("free list: page %d is a %s page", id, p.kind())
		return
	}
	ids, err := p.freeIDs()
	if err != nil {
		w.probs.addf("free list page %d: %v", id, err)
		return
	}
	w.mark(p, "free list")
	w.free = make([]bool, w.f.meta.pages)
	for _, f := range ids {
		switch {
		case f < 2 || f >= w.f.meta.pages:
			w.probs.addf("free list: page %d is outside pages 2 to %d", f, w.f.meta.pages-1)
		case w.free[f]:
			w.probs.addf("free list: page %d is listed twice", f)
		default:
			w.free[f] = true
		}
	}
}

// tree walks page id of the bucket at path and the pages under it. Its
// keys must lie in [lo, hi) (nil: unbounded).
func (w *walker) tree(path [][]byte, id uint64, lo, hi []byte, depth int) error {
	if depth > maxDepth {
		w.lose("page %d (%s): the tree is more than %d levels deep", id, where(path), maxDepth)
		return nil
	}
	// A page already read, or free, is not read (again) here; that is not
	// a loss, only a damaged reference (or, among the pages cut off from
	// the tree, an old page that refers to a page in use).
	if id < uint64(len(w.reached)) && w.reached[id] {
		if !w.orphan {
			w.probs.addf("page %d (%s): referred to twice", id, where(path))
		}
		return nil
	}
	if w.free != nil && id < uint64(len(w.free)) && w.free[id] && !w.readFree {
		w.probs.addf("page %d (%s): in use and on the free list", id, where(path))
		return nil
	}
	p, err := w.f.read(id)
	if err != nil {
		w.lose("%v (%s)", err, where(path))
		return nil
	}
	if !w.inRange(p, lo, hi) {
		// A damaged reference that leads to another tree's page: it is
		// left for its own tree (or for the orphans) to read.
		w.probs.addf("page %d (%s): its keys are outside its parent's range", id, where(path))
		return nil
	}
	w.mark(p, where(path))
	switch p.flags {
	case leafFlag:
		return w.leaf(path, p, lo, hi, depth)
	case branchFlag:
	default:
		w.lose("page %d (%s): a %s page where a branch or leaf page belongs", id, where(path), p.kind())
		return nil
	}
	if p.count == 0 {
		w.lose("page %d (%s): a branch page without elements", id, where(path))
		return nil
	}
	w.layout(p, where(path))
	prev := lo
	for i := 0; i < p.count; i++ {
		k, child, err := p.branch(i)
		if err != nil {
			w.lose("page %d (%s): %v", id, where(path), err)
			continue
		}
		w.order(path, id, i, k, prev, hi)
		next := hi
		if i+1 < p.count {
			if nk, _, err := p.branch(i + 1); err == nil {
				next = nk
			}
		}
		if err := w.tree(path, child, k, next, depth+1); err != nil {
			return err
		}
		prev = k
	}
	return nil
}

// mark marks page p reached, with its overflow pages. bbolt writes a
// page's overflow count from the size of its elements, so a count that
// disagrees with them is damaged: only the pages the elements use are
// taken as p's (the others belong to someone else).
func (w *walker) mark(p page, where string) {
	n := uint64(p.overflow)
	if need := w.overflowNeeded(p); need != n {
		w.probs.addf("page %d (%s): says it has %d overflow pages, its content needs %d", p.id, where, n, need)
		n = min(n, need)
	}
	for i := p.id; i <= p.id+n; i++ {
		if w.reached[i] {
			w.probs.addf("page %d (%s): overlaps page %d", p.id, where, i)
		}
		w.reached[i] = true
	}
}

// overflowNeeded is the overflow pages p's elements need: its content
// ends where the furthest key or value (or free list id) ends.
func (w *walker) overflowNeeded(p page) uint64 {
	end := uint64(pageHeaderSize + p.count*elementSize)
	for i := 0; i < p.count; i++ {
		e, off, ok := p.element(i)
		if !ok {
			break
		}
		var n uint64
		switch p.flags {
		case branchFlag:
			n = uint64(off) + uint64(order.Uint32(e[0:])) + uint64(order.Uint32(e[4:]))
		case leafFlag:
			n = uint64(off) + uint64(order.Uint32(e[4:])) + uint64(order.Uint32(e[8:])) + uint64(order.Uint32(e[12:]))
		}
		if n <= uint64(len(p.b)) {
			end = max(end, n)
		}
	}
	if p.flags == freelistFlag {
		ids, _ := p.freeIDs()
		end = uint64(pageHeaderSize + 8*len(ids))
		if p.count == 0xFFFF {
			end += 8
		}
	}
	ps := uint64(w.f.pageSize)
	return (end+ps-1)/ps - 1
}

// inRange tells whether the first and last keys of p lie in [lo, hi).
func (w *walker) inRange(p page, lo, hi []byte) bool {
	if p.count == 0 || lo == nil && hi == nil {
		return true
	}
	key := func(i int) []byte {
		if p.flags == branchFlag {
			k, _, err := p.branch(i)
			if err != nil {
				return nil
			}
			return k
		}
		_, k, _, err := p.leaf(i)
		if err != nil {
			return nil
		}
		return k
	}
	first, last := key(0), key(p.count-1)
	if lo != nil && first != nil && bytes.Compare(first, lo) < 0 {
		return false
	}
	return hi == nil || last == nil || bytes.Compare(last, hi) < 0
}

// order checks that key i of page id comes after prev and before hi.
func (w *walker) order(path [][]byte, id uint64, i int, k, prev, hi []byte) {
	switch c := bytes.Compare(k, prev); {
	case prev != nil && (c < 0 || c == 0 && i > 0):
		w.probs.addf("page %d (%s): key %d is out of order", id, where(path), i)
	case hi != nil && bytes.Compare(k, hi) >= 0:
		w.probs.addf("page %d (%s): key %d is past its parent's range", id, where(path), i)
	}
}

// layout checks that p's keys and values lie one after the other, from
// the end of its elements on, as bbolt writes them: a damaged position or
// length makes one overlap another, which bbolt reads without noticing
// and cannot write back ("circular dependency").
func (w *walker) layout(p page, where string) {
	at := uint64(pageHeaderSize + p.count*elementSize)
	for i := 0; i < p.count; i++ {
		e, off, ok := p.element(i)
		if !ok {
			return // reported by the reader of the element
		}
		var start, n uint64
		switch p.flags {
		case branchFlag:
			start, n = uint64(off)+uint64(order.Uint32(e[0:])), uint64(order.Uint32(e[4:]))
		default:
			start, n = uint64(off)+uint64(order.Uint32(e[4:])), uint64(order.Uint32(e[8:]))+uint64(order.Uint32(e[12:]))
		}
		if start != at {
			w.probs.addf("page %d (%s): element %d's key and value are out of place (at %d, not %d)", p.id, where, i, start, at)
			return
		}
		at += n
	}
}

// leaf walks a leaf page: its records and nested buckets.
func (w *walker) leaf(path [][]byte, p page, lo, hi []byte, depth int) error {
	w.layout(p, where(path))
	prev := lo
	for i := 0; i < p.count; i++ {
		flags, k, v, err := p.leaf(i)
		if err != nil {
			w.lose("page %d (%s): %v", p.id, where(path), err)
			continue
		}
		w.order(path, p.id, i, k, prev, hi)
		prev = k
		switch flags {
		case 0:
			w.items++
			if w.visit != nil {
				if err := w.visit(Item{Path: path, Key: k, Value: v, Orphan: w.orphan}); err != nil {
					return err
				}
			}
		case bucketLeafFlag:
			if len(v) < bucketHeaderSize {
				w.lose("page %d (%s): bucket %s has a short header", p.id, where(path), printable(k))
				continue
			}
			if w.visit != nil {
				if err := w.visit(Item{Path: path, Key: k, Bucket: true, Seq: order.Uint64(v[8:]), Orphan: w.orphan}); err != nil {
					return err
				}
			}
			sub := append(append([][]byte(nil), path...), bytes.Clone(k))
			if err := w.bucket(sub, v, depth+1); err != nil {
				return err
			}
		default:
			w.lose("page %d (%s): element %d has flags %#x", p.id, where(path), i, flags)
		}
	}
	return nil
}

// bucket walks a nested bucket from its header: its root page, or its
// inline page, kept in the header's value.
func (w *walker) bucket(path [][]byte, v []byte, depth int) error {
	if root := order.Uint64(v); root != 0 {
		return w.tree(path, root, nil, nil, depth)
	}
	p, ok := parsePage(v[bucketHeaderSize:])
	if !ok || p.flags != leafFlag {
		w.lose("%s: its inline page is not a leaf page", where(path))
		return nil
	}
	return w.leaf(path, p, nil, nil, depth)
}

// orphans walks the pages in use that the tree does not reach: damage
// above them cut them off. Without a readable free list a page in use
// cannot be told from a free one (whose records may have been deleted),
// so nothing is read then, unless the caller can tell (staleOK); such a
// caller gets the free pages too when the tree lost pages. Each
// cut-off subtree is read from its top page: a page that no other
// cut-off branch page refers to.
func (w *walker) orphans() error {
	if w.free == nil && !w.staleOK {
		return nil
	}
	var (
		tops  []uint64
		child = map[uint64]bool{}
		// When the tree lost pages, a free page may hold the only
		// copy left of a record (an older version of its page): a
		// caller that tells old and deleted records apart reads them.
		skipFree = w.free != nil && !(w.staleOK && w.lost > 0)
	)
	for id := uint64(2); id < w.f.meta.pages; id++ {
		if w.reached[id] || skipFree && w.free[id] {
			continue
		}
		p, err := w.f.read(id)
		if err != nil || p.flags != leafFlag && p.flags != branchFlag {
			continue
		}
		tops = append(tops, id)
		for i := 0; p.flags == branchFlag && i < p.count; i++ {
			if _, c, err := p.branch(i); err == nil {
				child[c] = true
			}
		}
	}
	w.orphan, w.readFree = true, w.free != nil && !skipFree
	defer func() { w.orphan, w.readFree = false, false }()
	for pass := 0; pass < 2; pass++ {
		for _, id := range tops {
			// Tops first; then what a damaged branch kept from being one.
			if w.reached[id] || pass == 0 && child[id] {
				continue
			}
			if err := w.tree(nil, id, nil, nil, 0); err != nil {
				return err
			}
		}
	}
	return nil
}
