package picture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // DecodeConfig of JPEG headers
	"math"

	"gocv.io/x/gocv"
)

// Quality is the JPEG quality of re-encoded pictures: high enough that
// descriptors move by far less than their natural spread.
const Quality = 95

// Options limit what is handed to the recognizer.
type Options struct {
	// MaxSide, if > 0, scales pictures down so that neither side exceeds it:
	// detection time grows with the pixel count, and faces in a 12-megapixel
	// photo are far larger than the detector needs.
	MaxSide int
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

// Prepare turns an encoded picture into the recognizer's input.
func Prepare(data []byte, o Options) (Prepared, error) {
	format := Format(data)
	switch format {
	case "":
		return Prepared{}, fmt.Errorf("%w: unknown format (starts with %q)", ErrNotImage, head(data))
	case "jpeg":
		if !jpegComplete(data) {
			return Prepared{}, errors.New("truncated or corrupt JPEG: the data ends before the end-of-image marker")
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return Prepared{}, fmt.Errorf("reading JPEG header: %w", err)
		}
		if threeComponents(cfg) && orientation(data) <= 1 && fits(cfg.Width, cfg.Height, o.MaxSide) {
			return Prepared{JPEG: data, Scale: 1, Width: cfg.Width, Height: cfg.Height}, nil
		}
	}
	// IMReadColor converts to 3-channel BGR and applies EXIF orientation.
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return Prepared{}, fmt.Errorf("decoding %s: %w", format, err)
	}
	defer m.Close()
	if m.Empty() {
		return Prepared{}, fmt.Errorf("decoding %s: OpenCV could not decode it (corrupt or truncated)", format)
	}
	return FromMat(m, o)
}

// FromMat encodes a BGR frame or picture for the recognizer. The Mat is not
// closed.
func FromMat(m gocv.Mat, o Options) (Prepared, error) {
	if m.Empty() {
		return Prepared{}, errors.New("empty picture")
	}
	w, h := m.Cols(), m.Rows()
	p := Prepared{Scale: 1, Width: w, Height: h, Reencoded: true}
	src := m
	if !fits(w, h, o.MaxSide) {
		p.Scale = float64(o.MaxSide) / float64(max(w, h))
		sz := image.Pt(max(1, int(math.Round(float64(w)*p.Scale))), max(1, int(math.Round(float64(h)*p.Scale))))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, sz, 0, 0, gocv.InterpolationArea)
		src = small
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, src, []int{gocv.IMWriteJpegQuality, Quality})
	if err != nil {
		return Prepared{}, fmt.Errorf("encoding JPEG: %w", err)
	}
	defer buf.Close()
	p.JPEG = bytes.Clone(buf.GetBytes())
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

// threeComponents tells whether a JPEG has the three colour components
// go-face's decoder accepts. image/jpeg reports such files as YCbCr (or RGB
// for Adobe's transform 0), one component as Gray, four as CMYK.
func threeComponents(cfg image.Config) bool {
	return cfg.ColorModel == color.YCbCrModel || cfg.ColorModel == color.RGBAModel
}

func head(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return string(b)
}
