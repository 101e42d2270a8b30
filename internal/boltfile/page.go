package boltfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// bbolt's file format (version 2). Every structure is in the machine's
// byte order, as bbolt writes it from memory.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	metaSize         = 64 // magic, version, page size, flags u32; root bucket; freelist, pgid, txid, checksum u64
	metaChecksummed  = 56 // the meta's bytes the checksum covers

	magic      uint32 = 0xED0CDAED
	version    uint32 = 2
	noFreelist uint64 = 0xFFFFFFFFFFFFFFFF

	branchFlag   = 0x01
	leafFlag     = 0x02
	metaFlag     = 0x04
	freelistFlag = 0x10

	bucketLeafFlag = 0x01

	// Page sizes bbolt can have made: the operating system's page size
	// (4 KB; 16 KB on a Raspberry Pi 5 kernel; 64 KB on some arm64
	// kernels) unless a program asks for another.
	minPageSize = 1024
	maxPageSize = 1 << 24
)

var order = binary.NativeEndian

// meta is a meta page's content.
type meta struct {
	pageSize  uint32
	root, seq uint64 // the root bucket
	freelist  uint64
	pages     uint64 // the high-water mark: pages [0, pages) are in use or free
	txid      uint64
}

// parseMeta reads a meta page (from its first byte) as bbolt's Validate
// does, and checks what bbolt would trust without checking.
func parseMeta(b []byte) (meta, error) {
	if len(b) < pageHeaderSize+metaSize {
		return meta{}, errors.New("too short for a meta page")
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	switch {
	case order.Uint32(m[0:]) != magic:
		return meta{}, errors.New("no bbolt signature")
	case order.Uint32(m[4:]) != version:
		return meta{}, fmt.Errorf("bbolt format version %d, not %d", order.Uint32(m[4:]), version)
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksummed])
	if h.Sum64() != order.Uint64(m[56:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	mt := meta{
		pageSize: order.Uint32(m[8:]),
		root:     order.Uint64(m[16:]),
		seq:      order.Uint64(m[24:]),
		freelist: order.Uint64(m[32:]),
		pages:    order.Uint64(m[40:]),
		txid:     order.Uint64(m[48:]),
	}
	switch {
	case mt.pageSize < minPageSize || mt.pageSize > maxPageSize || mt.pageSize&(mt.pageSize-1) != 0:
		return meta{}, fmt.Errorf("page size %d", mt.pageSize)
	case mt.root < 2 || mt.root >= mt.pages:
		return meta{}, fmt.Errorf("root page %d outside pages 2 to %d", mt.root, mt.pages-1)
	case mt.freelist != noFreelist && (mt.freelist < 2 || mt.freelist >= mt.pages):
		return meta{}, fmt.Errorf("free list page %d outside pages 2 to %d", mt.freelist, mt.pages-1)
	}
	return mt, nil
}

// metas are a file's two meta pages as bbolt finds them.
type metas struct {
	pageSize int
	m        [2]meta
	err      [2]error
	// For a page that fails validation: the meta it was before one bit
	// flipped, if one bit explains it (nil otherwise), and the
	// transaction it claims if it bears bbolt's signature (0 otherwise).
	fixed   [2]*meta
	claimed [2]uint64
}

// repairMeta finds the meta page b was before one of its bits flipped:
// the checksum tells which flip restores it. (Checking that every single
// flip fails is 512 checksums of 56 bytes.)
func repairMeta(b []byte) *meta {
	c := bytes.Clone(b[:pageHeaderSize+metaSize])
	for bit := range metaSize * 8 {
		i := pageHeaderSize + bit/8
		c[i] ^= 1 << (bit % 8)
		if m, err := parseMeta(c); err == nil {
			return &m
		}
		c[i] ^= 1 << (bit % 8)
	}
	return nil
}

// parse reads meta page i, and what a damaged one still tells.
func (ms *metas) parse(i int, b []byte) {
	ms.m[i], ms.err[i] = parseMeta(b)
	if ms.err[i] == nil {
		return
	}
	ms.fixed[i] = repairMeta(b)
	if m := b[pageHeaderSize:]; order.Uint32(m[0:]) == magic && order.Uint32(m[4:]) == version {
		ms.claimed[i] = order.Uint64(m[48:])
	}
}

// readMetas finds the page size and reads both meta pages as bbolt does:
// the first page tells the page size; if it is unreadable, the second is
// looked for at every page size bbolt supports.
func readMetas(r io.ReaderAt, size int64) metas {
	var ms metas
	read := func(off int64) []byte {
		b := make([]byte, pageHeaderSize+metaSize)
		if n, _ := r.ReadAt(b, off); n < len(b) {
			return nil
		}
		return b
	}
	if b := read(0); b != nil {
		ms.parse(0, b)
	} else {
		ms.err[0] = errors.New("cut short")
	}
	ps := 0
	switch {
	case ms.err[0] == nil:
		ps = int(ms.m[0].pageSize)
	case ms.fixed[0] != nil:
		ps = int(ms.fixed[0].pageSize)
	}
	if ps != 0 {
		ms.pageSize = ps
		if b := read(int64(ps)); b != nil {
			ms.parse(1, b)
		} else {
			ms.err[1] = errors.New("cut short")
		}
		if ms.err[1] == nil && int(ms.m[1].pageSize) != ps {
			ms.err[1] = fmt.Errorf("page size %d, the first meta page says %d", ms.m[1].pageSize, ps)
		}
		return ms
	}
	ms.err[1] = errors.New("not found")
	for ps := int64(minPageSize); ps <= maxPageSize && ps < size; ps <<= 1 {
		if b := read(ps); b != nil {
			if m, err := parseMeta(b); err == nil && int64(m.pageSize) == ps {
				ms.pageSize, ms.m[1], ms.err[1] = int(ps), m, nil
				break
			}
			if m := repairMeta(b); m != nil && int64(m.pageSize) == ps {
				ms.pageSize, ms.fixed[1] = int(ps), m
				break
			}
		}
	}
	return ms
}

// lost says whether bbolt would miss the newest transaction: a meta page
// that fails validation but is, or claims to be, newer than the one bbolt
// reads (bbolt then reads the transaction before, as after a power cut
// during a commit; a meta page is written in one sector, so on an SD card
// that is damage, and the last transaction, a forgotten visitor say,
// would be undone). It says why.
func (ms metas) lost() string {
	m, _, ok := ms.newest()
	if !ok {
		return ""
	}
	for i := range 2 {
		switch {
		case ms.err[i] == nil:
		case ms.fixed[i] != nil && ms.fixed[i].txid > m.txid:
			return fmt.Sprintf("meta page %d has a flipped bit: it describes the newest transaction (%d), which bbolt would not read", i, ms.fixed[i].txid)
		case ms.fixed[i] == nil && ms.claimed[i] > m.txid:
			return fmt.Sprintf("meta page %d is damaged (%v) and claims a newer transaction (%d) than the other one (%d): the last transaction is lost", i, ms.err[i], ms.claimed[i], m.txid)
		}
	}
	return ""
}

// best is the meta page the newest transaction left: the newest valid
// one, or one that one flipped bit damaged, if it is newer.
func (ms metas) best() (meta, bool) {
	m, _, ok := ms.newest()
	for i := range 2 {
		if ms.err[i] != nil && ms.fixed[i] != nil && (!ok || ms.fixed[i].txid > m.txid) {
			m, ok = *ms.fixed[i], true
		}
	}
	return m, ok
}

// newest is the meta page bbolt uses (the valid one of the highest
// transaction), and the other if it is valid too.
func (ms metas) newest() (m meta, older *meta, ok bool) {
	a, b := 0, 1
	if ms.err[0] == nil && ms.err[1] == nil && ms.m[1].txid > ms.m[0].txid {
		a, b = 1, 0
	}
	switch {
	case ms.err[a] == nil && ms.err[b] == nil:
		o := ms.m[b]
		return ms.m[a], &o, true
	case ms.err[a] == nil:
		return ms.m[a], nil, true
	case ms.err[b] == nil:
		return ms.m[b], nil, true
	}
	return meta{}, nil, false
}

// page is a page read from the file (with its overflow pages), or an
// inline bucket's page inside its parent's value.
type page struct {
	id       uint64
	flags    uint16
	count    int
	overflow uint32
	b        []byte // from the page header on
}

func parsePage(b []byte) (page, bool) {
	if len(b) < pageHeaderSize {
		return page{}, false
	}
	return page{
		id:       order.Uint64(b[0:]),
		flags:    order.Uint16(b[8:]),
		count:    int(order.Uint16(b[10:])),
		overflow: order.Uint32(b[12:]),
		b:        b,
	}, true
}

func (p page) kind() string {
	switch p.flags {
	case branchFlag:
		return "branch"
	case leafFlag:
		return "leaf"
	case metaFlag:
		return "meta"
	case freelistFlag:
		return "free list"
	}
	return fmt.Sprintf("unknown (flags %#x)", p.flags)
}

// element returns element i's header, or false if it does not fit.
func (p page) element(i int) ([]byte, int, bool) {
	off := pageHeaderSize + i*elementSize
	if off+elementSize > len(p.b) {
		return nil, 0, false
	}
	return p.b[off : off+elementSize], off, true
}

// span returns n bytes at off+pos, or false if they are not all inside
// the page.
func (p page) span(off int, pos uint32, n uint64) ([]byte, bool) {
	start := uint64(off) + uint64(pos)
	end := start + n
	if end > uint64(len(p.b)) {
		return nil, false
	}
	return p.b[start:end], true
}

// branch returns branch element i: its key and child page.
func (p page) branch(i int) (key []byte, child uint64, err error) {
	e, off, ok := p.element(i)
	if !ok {
		return nil, 0, fmt.Errorf("element %d of %d runs past the page", i, p.count)
	}
	key, ok = p.span(off, order.Uint32(e[0:]), uint64(order.Uint32(e[4:])))
	if !ok {
		return nil, 0, fmt.Errorf("key of element %d runs past the page", i)
	}
	return key, order.Uint64(e[8:]), nil
}

// leaf returns leaf element i: its flags, key and value.
func (p page) leaf(i int) (flags uint32, key, value []byte, err error) {
	e, off, ok := p.element(i)
	if !ok {
		return 0, nil, nil, fmt.Errorf("element %d of %d runs past the page", i, p.count)
	}
	flags = order.Uint32(e[0:])
	ks := order.Uint32(e[8:])
	kv, ok := p.span(off, order.Uint32(e[4:]), uint64(ks)+uint64(order.Uint32(e[12:])))
	if !ok {
		return 0, nil, nil, fmt.Errorf("element %d runs past the page", i)
	}
	return flags, kv[:ks:ks], kv[ks:], nil
}

// freeIDs returns the page ids of a free list page.
func (p page) freeIDs() ([]uint64, error) {
	n, at := uint64(p.count), pageHeaderSize
	if p.count == 0xFFFF {
		if len(p.b) < at+8 {
			return nil, errors.New("its count runs past the page")
		}
		n, at = order.Uint64(p.b[at:]), at+8
	}
	if n > uint64(len(p.b)-at)/8 {
		return nil, fmt.Errorf("%d ids run past the page", n)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = order.Uint64(p.b[at+8*i:])
	}
	return ids, nil
}
