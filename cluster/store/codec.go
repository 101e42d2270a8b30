package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Records are encoded in a compact binary form: a store holds tens of
// thousands of identities and opening it decodes every one, so JSON's
// size and speed would cost seconds on a device. Every record starts with
// its encoding version; a build reads every version up to its own.
// Identity encoding 2 added Customer.
const (
	identityCodec = 2
	visitCodec    = 1
)

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(math.MinInt64)
		return
	}
	e.varint(t.UnixNano())
}
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) floats(v []float32) {
	e.uvarint(uint64(len(v)))
	for _, f := range v {
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(f))
	}
}

var errShort = errors.New("record ends early")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and checks that at least size bytes per element
// remain, so a corrupt length cannot make us allocate gigabytes.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/max(size, 1)) {
		d.err = fmt.Errorf("length %d exceeds the record", n)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if v == math.MinInt64 || d.err != nil {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 {
		d.err = errShort
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v != 0
}

func (d *decoder) floats() []float32 {
	n := d.count(4)
	if d.err != nil {
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.b[4*i:]))
	}
	d.b = d.b[4*n:]
	return v
}

// version reads the encoding version, 1 to latest.
func (d *decoder) version(latest byte, what string) byte {
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	if v < 1 || v > latest {
		d.err = fmt.Errorf("%s record encoding %d, this build reads 1 to %d", what, v, latest)
		return 0
	}
	d.b = d.b[1:]
	return v
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.b))
	}
	return d.err
}

func encodeIdentity(id Identity) []byte {
	e := encoder{b: make([]byte, 0, 64+len(id.Exemplars)*(24+4*len(firstMean(id))))}
	e.b = append(e.b, identityCodec)
	e.str(id.ID)
	e.time(id.Created)
	e.time(id.LastSeen)
	e.str(id.LastVisit)
	e.time(id.LastEnd)
	e.uvarint(uint64(id.Visits))
	e.uvarint(uint64(id.TotalDays))
	e.uvarint(uint64(len(id.Days)))
	prev := int64(0)
	for _, d := range id.Days {
		e.varint(int64(d) - prev)
		prev = int64(d)
	}
	e.bool(id.Regular)
	e.bool(id.EverRegular)
	e.time(id.RegularSince)
	e.uvarint(uint64(len(id.Exemplars)))
	for _, x := range id.Exemplars {
		e.str(x.Visit)
		e.time(x.Time)
		e.varint(int64(x.Day))
		e.uvarint(uint64(x.Count))
		e.floats(x.Mean)
	}
	e.uvarint(uint64(len(id.Apart)))
	for _, a := range id.Apart {
		e.str(a)
	}
	e.str(id.Customer)
	return e.b
}

func firstMean(id Identity) []float32 {
	if len(id.Exemplars) == 0 {
		return nil
	}
	return id.Exemplars[0].Mean
}

func decodeIdentity(b []byte) (Identity, error) {
	d := decoder{b: b}
	version := d.version(identityCodec, "identity")
	var id Identity
	id.ID = d.str()
	id.Created = d.time()
	id.LastSeen = d.time()
	id.LastVisit = d.str()
	id.LastEnd = d.time()
	id.Visits = int(d.uvarint())
	id.TotalDays = int(d.uvarint())
	if n := d.count(1); n > 0 {
		id.Days = make([]int32, n)
		prev := int64(0)
		for i := range id.Days {
			prev += d.varint()
			id.Days[i] = int32(prev)
		}
	}
	id.Regular = d.bool()
	id.EverRegular = d.bool()
	id.RegularSince = d.time()
	if n := d.count(4); n > 0 {
		id.Exemplars = make([]Exemplar, n)
		for i := range id.Exemplars {
			x := &id.Exemplars[i]
			x.Visit = d.str()
			x.Time = d.time()
			x.Day = int32(d.varint())
			x.Count = int(d.uvarint())
			x.Mean = d.floats()
		}
	}
	if n := d.count(1); n > 0 {
		id.Apart = make([]string, n)
		for i := range id.Apart {
			id.Apart[i] = d.str()
		}
	}
	if version >= 2 {
		id.Customer = d.str()
	}
	if err := d.done(); err != nil {
		return Identity{}, fmt.Errorf("decoding identity: %w", err)
	}
	return id, nil
}

func encodeVisit(v Visit) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.b = append(e.b, visitCodec)
	e.str(v.ID)
	e.str(v.Identity)
	e.str(v.Visitor)
	e.str(v.Staff)
	e.time(v.Time)
	e.uvarint(uint64(v.Days))
	e.uvarint(uint64(v.Visits))
	e.bool(v.Regular)
	e.bool(v.New)
	e.bool(v.Became)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v.Confidence))
	return e.b
}

func decodeVisit(b []byte) (Visit, error) {
	d := decoder{b: b}
	d.version(visitCodec, "visit")
	var v Visit
	v.ID = d.str()
	v.Identity = d.str()
	v.Visitor = d.str()
	v.Staff = d.str()
	v.Time = d.time()
	v.Days = int(d.uvarint())
	v.Visits = int(d.uvarint())
	v.Regular = d.bool()
	v.New = d.bool()
	v.Became = d.bool()
	if d.err == nil && len(d.b) >= 8 {
		v.Confidence = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
	} else if d.err == nil {
		d.err = errShort
	}
	if err := d.done(); err != nil {
		return Visit{}, fmt.Errorf("decoding visit: %w", err)
	}
	return v, nil
}
