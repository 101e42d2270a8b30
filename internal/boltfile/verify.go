package boltfile

import (
	"fmt"
	"io"
	"os"
)

// Info describes a sound file.
type Info struct {
	// Size is the file's length in bytes; PageSize its page size.
	Size     int64
	PageSize int
	// Pages is how many pages the file uses or has free; Txid the last
	// committed transaction.
	Pages, Txid uint64
}

// Verify checks the file at path as bbolt would find it, with plain
// reads: it never maps the file, so a file shorter than its pages says
// so instead of faulting. The error is a *DamageError for a damaged file.
func Verify(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	return verifyFile(f, path)
}

func verifyFile(f *os.File, path string) (Info, error) {
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	return verify(f, path, st.Size())
}

// verify checks what bbolt relies on: a valid meta page, a file long
// enough for every page it counts, and a tree whose every page is in
// range, of the right kind, referred to once and not free, whose elements
// lie inside their pages and whose keys are in order; and that every page
// is in the tree or free (bbolt's own check says the same).
func verify(r io.ReaderAt, path string, size int64) (Info, error) {
	if size == 0 {
		return Info{}, Damaged(path, "the file is empty (0 bytes)")
	}
	ms := readMetas(r, size)
	m, _, ok := ms.newest()
	if !ok {
		return Info{}, Damaged(path, fmt.Sprintf("not a bbolt file, or both its meta pages are damaged (first: %v; second: %v)", ms.err[0], ms.err[1]))
	}
	ps := uint64(ms.pageSize)
	info := Info{Size: size, PageSize: ms.pageSize, Pages: m.pages, Txid: m.txid}
	if why := ms.lost(); why != "" {
		return info, Damaged(path, why)
	}
	if m.pages > uint64(size)/ps {
		return info, Damaged(path, fmt.Sprintf("cut short: the file has %d bytes, its %d pages need %d (the end of the file is missing)", size, m.pages, m.pages*ps))
	}
	w := newWalker(&file{r: r, size: size, pageSize: ms.pageSize, meta: m})
	w.freeList()
	if err := w.tree(nil, m.root, nil, nil, 0); err != nil {
		return info, err
	}
	for id, in := range w.reached {
		if w.free != nil && !in && !w.free[id] {
			w.probs.addf("page %d: neither in use nor free", id)
		}
	}
	return info, w.probs.err(path)
}
