package picture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Header is what a picture's header says about it, read without decoding
// a pixel.
type Header struct {
	// Format is "jpeg", "png", "bmp" or "webp".
	Format string
	// Width and Height are the stored picture's, before EXIF orientation.
	Width, Height int
	// Orientation is a JPEG's EXIF orientation (1-8), 0 if it has none.
	Orientation int
	// threeComponents: a JPEG with the three colour components go-face
	// decodes (image/jpeg reads them as YCbCr, or RGB for Adobe's
	// transform 0).
	threeComponents bool
}

// Pixels is the picture's pixel count.
func (h Header) Pixels() int64 { return int64(h.Width) * int64(h.Height) }

// Upright returns the width and height as the picture is shown: EXIF
// orientations 5-8 turn it a quarter.
func (h Header) Upright() (w, ht int) {
	if h.Orientation >= 5 && h.Orientation <= 8 {
		return h.Height, h.Width
	}
	return h.Width, h.Height
}

// MaxSideLimit is the longest side read, in pixels, whatever the pixel
// limit: the recognizer reads JPEG, which cannot be larger, and OpenCV's
// own width and height limits are set to it (OpenCVEnv).
const MaxSideLimit = 65500

// ErrUnsupported is wrapped by the error for a picture format that is
// recognised but not read.
var ErrUnsupported = errors.New("unsupported picture format")

// ReadHeader reads a picture's format and size from its header. Only the
// formats this package decodes are read (JPEG, PNG, BMP, WebP); anything
// else is an error wrapping ErrNotImage or ErrUnsupported. A size of 0 is
// an error; the limits are Header.Check's. A header cut short is an error,
// but the Header keeps any size read before the cut, so that a file that
// claims too much is told so even when it is nothing but a header.
func ReadHeader(data []byte) (Header, error) {
	h := Header{Format: Format(data)}
	var err error
	switch h.Format {
	case "":
		return h, fmt.Errorf("%w: unknown format (starts with %q)", ErrNotImage, head(data))
	case "tiff":
		// OpenCV would read it with libtiff, whose many features are each
		// a way to disagree with a header check about the size.
		return h, fmt.Errorf("%w: TIFF is not read (convert it to JPEG or PNG)", ErrUnsupported)
	case "jpeg":
		err = h.readJPEG(data)
	case "png":
		var cfg image.Config
		if cfg, err = png.DecodeConfig(bytes.NewReader(data)); err == nil {
			h.Width, h.Height = cfg.Width, cfg.Height
		}
	case "bmp":
		h.Width, h.Height, err = bmpSize(data)
	case "webp":
		var cfg image.Config
		if cfg, err = webp.DecodeConfig(bytes.NewReader(data)); err == nil {
			h.Width, h.Height = cfg.Width, cfg.Height
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// h keeps a size read before the end, for Check.
		return h, fmt.Errorf("truncated %s: the data ends in its header", formatName(h.Format))
	}
	if err != nil {
		return h, fmt.Errorf("reading the %s header: %w", formatName(h.Format), err)
	}
	if h.Width <= 0 || h.Height <= 0 {
		return h, fmt.Errorf("the %s header says %dx%d pixels: no picture", formatName(h.Format), h.Width, h.Height)
	}
	return h, nil
}

// readJPEG reads the size with image/jpeg and checks it against the first
// frame header (SOF) found by walking the markers as libjpeg does: the two
// parsers must agree, or a crafted file could show one size to the check
// and another to the decoder.
func (h *Header) readJPEG(data []byte) error {
	w, ht, ok := jpegFrameSize(data)
	if ok {
		h.Width, h.Height = w, ht
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no frame header before the image data")
	}
	if w != cfg.Width || ht != cfg.Height {
		return fmt.Errorf("its frame headers disagree about its size (%dx%d and %dx%d)", cfg.Width, cfg.Height, w, ht)
	}
	h.Width, h.Height = w, ht
	h.Orientation = orientation(data)
	h.threeComponents = cfg.ColorModel == color.YCbCrModel || cfg.ColorModel == color.RGBAModel
	return nil
}

// Check returns a *TooLargeError if the picture has more than maxPixels
// pixels (maxPixels <= 0: DefaultMaxPixels; never more than MaxPixels), or
// a side longer than MaxSideLimit.
func (h Header) Check(maxPixels int64) error {
	maxPixels = Limit(maxPixels)
	if h.Pixels() > maxPixels {
		return &TooLargeError{Header: h, Limit: maxPixels}
	}
	if s := maxSide(); h.Width > s || h.Height > s {
		return &TooLargeError{Header: h, Side: s}
	}
	return nil
}

// TooLargeError is a picture whose header claims more pixels than the
// limit, or a side longer than MaxSideLimit.
type TooLargeError struct {
	Header Header
	// Limit is the pixel limit exceeded, or 0 when a side is too long.
	Limit int64
	// Side is the side limit exceeded, or 0.
	Side int
}

func (e *TooLargeError) Error() string {
	h := e.Header
	claim := fmt.Sprintf("%s of %dx%d pixels (%s by its header)", formatName(h.Format), h.Width, h.Height, megapixels(h.Pixels()))
	if e.Side > 0 {
		return fmt.Sprintf("%s: a side is longer than %d pixels, the most read", claim, e.Side)
	}
	return fmt.Sprintf("%s is over the limit of %s", claim, megapixels(e.Limit))
}

func megapixels(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0f megapixels", float64(n)/1e6)
	case n >= 100_000:
		return fmt.Sprintf("%.1f megapixels", float64(n)/1e6)
	}
	return fmt.Sprintf("%d pixels", n)
}

func formatName(f string) string {
	switch f {
	case "jpeg":
		return "JPEG"
	case "png":
		return "PNG"
	case "bmp":
		return "BMP"
	case "webp":
		return "WebP"
	case "tiff":
		return "TIFF"
	}
	return "picture"
}

// jpegFrameSize returns the width and height of a JPEG's first frame
// header (SOF0-SOF15), the one libjpeg decodes (it refuses a second one).
func jpegFrameSize(b []byte) (w, h int, ok bool) {
	jpegSegments(b, func(m byte, n int, body []byte) bool {
		// SOFn, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
		if m < 0xC0 || m > 0xCF || m == 0xC4 || m == 0xC8 || m == 0xCC {
			return true
		}
		// Precision, height, width, components: 6 bytes at least.
		if n >= 8 && len(body) >= 5 {
			w, h, ok = int(binary.BigEndian.Uint16(body[3:])), int(binary.BigEndian.Uint16(body[1:])), true
		}
		return false
	})
	return w, h, ok
}

// bmpSize reads a BMP's size as OpenCV's decoder does: a BITMAPINFOHEADER
// or a later version (36 bytes or more) has signed 32-bit width and height,
// the height negative for a top-down picture; the old OS/2 header (12
// bytes) has unsigned 16-bit ones; OpenCV refuses any other.
func bmpSize(b []byte) (w, h int, err error) {
	if len(b) < 18 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	size := binary.LittleEndian.Uint32(b[14:])
	switch {
	case size >= 36 && size < 1<<31:
		if len(b) < 26 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		w = int(int32(binary.LittleEndian.Uint32(b[18:])))
		h64 := int64(int32(binary.LittleEndian.Uint32(b[22:])))
		if h64 < 0 {
			h64 = -h64 // top-down; -2^31 becomes 2^31, refused as too tall
		}
		return w, int(min(h64, 1<<31-1)), nil
	case size == 12:
		if len(b) < 22 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return int(binary.LittleEndian.Uint16(b[18:])), int(binary.LittleEndian.Uint16(b[20:])), nil
	}
	return 0, 0, fmt.Errorf("info header of %d bytes: not a BMP OpenCV reads", size)
}
