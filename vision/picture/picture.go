package picture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Quality is the JPEG quality of re-encoded pictures: high enough that
// descriptors move by far less than their natural spread.
const Quality = 95

// Options limit what is decoded and handed to the recognizer.
type Options struct {
	// MaxSide, if > 0, scales pictures down so that neither side exceeds it:
	// detection time grows with the pixel count, and faces in a 12-megapixel
	// photo are far larger than the detector needs.
	MaxSide int
	// MaxPixels refuses pictures whose header claims more pixels, before
	// anything is decoded (0: DefaultMaxPixels; never more than MaxPixels()).
	MaxPixels int64
}

// Prepared is a picture ready for the recognizer.
type Prepared struct {
	JPEG []byte
	// Scale is prepared pixels per original pixel (1 unless scaled down):
	// divide coordinates found in JPEG by Scale to get original ones.
	Scale float64
	// Width and Height are the original picture's, upright.
	Width, Height int
	// Reencoded tells whether JPEG differs from the input bytes.
	Reencoded bool
}

// Format names a picture format from its first bytes, or "" if unknown.
func Format(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "webp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	}
	return ""
}

// ErrNotImage is wrapped by Prepare's error for data that is no picture.
var ErrNotImage = errors.New("not an image")

// Prepare turns an encoded picture into the recognizer's input. Its header
// is checked first (Decode): a picture over the pixel limit is refused with
// a *TooLargeError before a byte of it is decoded.
func Prepare(data []byte, o Options) (Prepared, error) {
	h, err := checkHeader(data, o)
	if err != nil {
		return Prepared{}, err
	}
	if h.Format == "jpeg" {
		if !jpegComplete(data) {
			return Prepared{}, errors.New("truncated or corrupt JPEG: the data ends before the end-of-image marker")
		}
		if h.threeComponents && h.Orientation <= 1 && fits(h.Width, h.Height, o.MaxSide) {
			return Prepared{JPEG: data, Scale: 1, Width: h.Width, Height: h.Height}, nil
		}
	}
	m, h, err := Decode(data, o)
	if err != nil {
		return Prepared{}, err
	}
	defer m.Close()
	w, ht := h.Upright()
	return encode(m, w, ht, o)
}

// FromMat encodes a BGR frame or picture for the recognizer. The Mat is not
// closed.
func FromMat(m gocv.Mat, o Options) (Prepared, error) {
	if m.Empty() {
		return Prepared{}, errors.New("empty picture")
	}
	if m.Type() != gocv.MatTypeCV8UC3 {
		return Prepared{}, fmt.Errorf("picture of OpenCV type %v, not 8-bit BGR", m.Type())
	}
	return encode(m, m.Cols(), m.Rows(), o)
}

// encode scales m, a picture of w x h original pixels (m may be smaller:
// decoded at a fraction of its size), to fit o.MaxSide and encodes it.
func encode(m gocv.Mat, w, h int, o Options) (Prepared, error) {
	p := Prepared{Scale: 1, Width: w, Height: h, Reencoded: true}
	tw, th := w, h
	if !fits(w, h, o.MaxSide) {
		p.Scale = float64(o.MaxSide) / float64(max(w, h))
		tw, th = max(1, int(math.Round(float64(w)*p.Scale))), max(1, int(math.Round(float64(h)*p.Scale)))
	}
	src := m
	if tw != m.Cols() || th != m.Rows() {
		small, err := resize(m, tw, th)
		if err != nil {
			return Prepared{}, err
		}
		defer small.Close()
		src = small
	}
	jpg, err := toJPEG(src, Quality)
	if err != nil {
		return Prepared{}, err
	}
	p.JPEG = jpg
	return p, nil
}

// Unscale maps a rectangle found in p.JPEG back to original pixels.
func (p Prepared) Unscale(r image.Rectangle) image.Rectangle {
	if p.Scale == 1 {
		return r
	}
	f := func(v int) int { return int(math.Round(float64(v) / p.Scale)) }
	return image.Rect(f(r.Min.X), f(r.Min.Y), f(r.Max.X), f(r.Max.Y))
}

// UnscalePoint maps a point found in p.JPEG back to original pixels.
func (p Prepared) UnscalePoint(pt image.Point) image.Point {
	if p.Scale == 1 {
		return pt
	}
	return image.Pt(int(math.Round(float64(pt.X)/p.Scale)), int(math.Round(float64(pt.Y)/p.Scale)))
}

func fits(w, h, maxSide int) bool { return maxSide <= 0 || (w <= maxSide && h <= maxSide) }

func head(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return string(b)
}
