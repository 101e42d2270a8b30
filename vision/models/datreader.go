package models

import (
	"encoding/binary"
	"fmt"
	"math"
)

// datReader reads the values of dlib's serialisation format (dlib/serialize.h
// and the tensors of dlib/cuda/tensor.h) from memory. Every read checks what
// is left first: no length in the file is trusted.
type datReader struct {
	b   []byte
	off int
}

func (r *datReader) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d: %s", r.off, fmt.Sprintf(format, args...))
}

// int reads dlib's integer: a control byte (bit 7 the sign, bits 0-3 the
// number of bytes, bits 4-6 zero), then that many bytes, least significant
// first.
func (r *datReader) int(what string) (int64, error) {
	if r.off >= len(r.b) {
		return 0, r.errorf("%s: file ends (truncated)", what)
	}
	ctl := r.b[r.off]
	size := int(ctl & 0x0f)
	if ctl&0x70 != 0 || size == 0 || size > 8 {
		return 0, r.errorf("%s: 0x%02x is not an integer's control byte", what, ctl)
	}
	if size > len(r.b)-r.off-1 {
		return 0, r.errorf("%s: file ends (truncated)", what)
	}
	var u uint64
	for i := size; i >= 1; i-- {
		u = u<<8 | uint64(r.b[r.off+i])
	}
	if u > math.MaxInt64 {
		return 0, r.errorf("%s: integer out of range", what)
	}
	r.off += 1 + size
	v := int64(u)
	if ctl&0x80 != 0 {
		v = -v
	}
	return v, nil
}

func (r *datReader) expectInt(what string, lo, hi int64) error {
	start := r.off
	v, err := r.int(what)
	if err != nil {
		return err
	}
	if v < lo || v > hi {
		r.off = start
		if lo == hi {
			return r.errorf("%s is %d, want %d", what, v, lo)
		}
		return r.errorf("%s is %d, want %d-%d", what, v, lo, hi)
	}
	return nil
}

// maxName bounds the strings read: dlib's layer and version names are short.
const maxName = 64

func (r *datReader) str(what string) (string, error) {
	n, err := r.int(what + " length")
	if err != nil {
		return "", err
	}
	if n < 0 || n > maxName || n > int64(len(r.b)-r.off) {
		return "", r.errorf("%s: a name of %d bytes (damaged file, or not a dlib network)", what, n)
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

func (r *datReader) expectStr(want string) error {
	start := r.off
	s, err := r.str("layer name")
	if err != nil {
		return err
	}
	if s != want {
		r.off = start
		return r.errorf("layer is %q, want %q", s, want)
	}
	return nil
}

// float reads dlib's portable floating-point number: a mantissa and an
// exponent, both integers (value = mantissa * 2^exponent), with three
// exponents reserved for infinities and NaN. dlib's older text format is
// refused.
func (r *datReader) float(what string) (float64, error) {
	if r.off < len(r.b) && r.b[r.off]&0x70 != 0 {
		return 0, r.errorf("%s: a number in dlib's old text format (not supported: re-save the file with dlib 19 or later)", what)
	}
	m, err := r.int(what + " mantissa")
	if err != nil {
		return 0, err
	}
	e, err := r.int(what + " exponent")
	if err != nil {
		return 0, err
	}
	switch {
	case e == 32000:
		return math.Inf(1), nil
	case e == 32001:
		return math.Inf(-1), nil
	case e == 32002:
		return math.NaN(), nil
	case e < math.MinInt16 || e > math.MaxInt16:
		return 0, r.errorf("%s: exponent %d out of range", what, e)
	}
	return math.Ldexp(float64(m), int(e)), nil
}

func (r *datReader) bool(what string) (bool, error) {
	if r.off >= len(r.b) {
		return false, r.errorf("%s: file ends (truncated)", what)
	}
	c := r.b[r.off]
	if c != '0' && c != '1' {
		return false, r.errorf("%s: 0x%02x is not a boolean", what, c)
	}
	r.off++
	return c == '1', nil
}

// dims reads four non-negative sizes and returns them with their product,
// failing when the product would exceed limit.
func (r *datReader) dims(what string, limit int64) ([4]int64, int64, error) {
	var d [4]int64
	total := int64(1)
	for i := range d {
		v, err := r.int(what + " size")
		if err != nil {
			return d, 0, err
		}
		if v < 0 {
			return d, 0, r.errorf("%s: negative size %d", what, v)
		}
		d[i] = v
		if v != 0 && total > limit/v {
			return d, 0, r.errorf("%s: shape %v holds more than the %d values left (truncated or damaged file)", what, d[:i+1], limit)
		}
		total *= v
	}
	return d, total, nil
}

// tensor reads a resizable_tensor: version 2, four sizes, then the values
// as little-endian float32. want >= 0 is the number of values it must hold.
func (r *datReader) tensor(what string, want int) ([]float32, error) {
	if err := r.expectInt(what+" tensor version", 2, 2); err != nil {
		return nil, err
	}
	_, n, err := r.dims(what, int64(len(r.b)-r.off)/4)
	if err != nil {
		return nil, err
	}
	if want >= 0 && n != int64(want) {
		return nil, r.errorf("%s: %d values, want %d", what, n, want)
	}
	if 4*n > int64(len(r.b)-r.off) {
		return nil, r.errorf("%s: %d values, %d bytes left (truncated)", what, n, len(r.b)-r.off)
	}
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.off+4*i:]))
	}
	r.off += int(4 * n)
	return vals, nil
}

// alias reads an alias_tensor: version 1 and four sizes, no values.
func (r *datReader) alias(what string) ([4]int64, error) {
	if err := r.expectInt(what+" version", 1, 1); err != nil {
		return [4]int64{}, err
	}
	d, _, err := r.dims(what, math.MaxInt32)
	return d, err
}

func (r *datReader) expectAlias(what string, want [4]int64) error {
	d, err := r.alias(what)
	if err != nil {
		return err
	}
	if d != want {
		return r.errorf("%s %v, want %v", what, d, want)
	}
	return nil
}
