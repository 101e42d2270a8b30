package picture

// #cgo !windows pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++17 -O2 -Wno-psabi
// #include <stdlib.h>
// #include "decode.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"gocv.io/x/gocv"
)

// cvMat is the cv::Mat behind a gocv Mat (gocv's C.Mat: a cv::Mat pointer
// in C++, a void pointer in C).
func cvMat(m *gocv.Mat) unsafe.Pointer { return unsafe.Pointer(m.Ptr()) }

// cError turns a message from decode.cc into an error (nil for NULL) and
// frees it.
func cError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

// OpenCV's imdecode flags: 3-channel BGR, EXIF orientation applied, and
// the JPEG-only reductions (libjpeg's scaled decoding).
const (
	imreadColor    = 1
	imreadReduced2 = 16 | imreadColor
	imreadReduced4 = 32 | imreadColor
	imreadReduced8 = 64 | imreadColor
)

// Decode checks a picture's header (format, size against o.MaxPixels, a
// JPEG's completeness) and decodes it into a 3-channel BGR Mat, upright
// (EXIF orientation applied), which the caller closes. With o.MaxSide > 0
// a JPEG at least twice as large is decoded at 1/2, 1/4 or 1/8 of its size
// by libjpeg's scaled decoding (never below MaxSide): a fraction of the
// memory and time; the caller scales it to its final size. The header is
// returned, with the orientation OpenCV applied.
func Decode(data []byte, o Options) (gocv.Mat, Header, error) {
	h, err := checkHeader(data, o)
	if err != nil {
		return gocv.Mat{}, h, err
	}
	if h.Format == "jpeg" && !jpegComplete(data) {
		return gocv.Mat{}, h, errors.New("truncated or corrupt JPEG: the data ends before the end-of-image marker")
	}
	denom, flags := 1, imreadColor
	if h.Format == "jpeg" && o.MaxSide > 0 {
		long := max(h.Width, h.Height)
		for _, r := range []struct{ denom, flags int }{{8, imreadReduced8}, {4, imreadReduced4}, {2, imreadReduced2}} {
			if ceilDiv(long, r.denom) >= o.MaxSide {
				denom, flags = r.denom, r.flags
				break
			}
		}
	}
	m, err := imdecode(data, flags)
	if err != nil {
		return gocv.Mat{}, h, fmt.Errorf("decoding %s: %w", formatName(h.Format), err)
	}
	// The decoder must have made what the header said. OpenCV's EXIF
	// reader has the last word on a quarter turn: a picture turned where
	// ours saw no turn (or the reverse) is taken as turned.
	uw, uh := h.Upright()
	cols, rows := m.Cols(), m.Rows()
	switch {
	case cols == ceilDiv(uw, denom) && rows == ceilDiv(uh, denom):
	case cols == ceilDiv(uh, denom) && rows == ceilDiv(uw, denom):
		if h.Orientation >= 5 {
			h.Orientation = 1
		} else {
			h.Orientation = 6
		}
	default:
		m.Close()
		return gocv.Mat{}, h, fmt.Errorf("decoding %s: the decoder made %dx%d pixels of a %dx%d picture (1/%d): its headers are inconsistent", formatName(h.Format), cols, rows, uw, uh, denom)
	}
	if m.Type() != gocv.MatTypeCV8UC3 {
		m.Close()
		return gocv.Mat{}, h, fmt.Errorf("decoding %s: OpenCV made a %v picture, not 8-bit colour", formatName(h.Format), m.Type())
	}
	return m, h, nil
}

// imdecode is cv::imdecode with its exceptions caught: it never aborts,
// whatever the bytes. An empty result is an error.
func imdecode(data []byte, flags int) (gocv.Mat, error) {
	if len(data) == 0 {
		return gocv.Mat{}, errors.New("no data")
	}
	m := gocv.NewMat()
	if err := cError(C.joren_picture_decode((*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(flags), cvMat(&m))); err != nil {
		m.Close()
		return gocv.Mat{}, err
	}
	if m.Empty() {
		m.Close()
		return gocv.Mat{}, errors.New("OpenCV could not decode it (truncated or corrupt)")
	}
	return m, nil
}

// checkHeader reads the header and checks it against the limits. A size
// over the limits is the error even when the header is cut short after it.
func checkHeader(data []byte, o Options) (Header, error) {
	h, err := ReadHeader(data)
	if h.Width > 0 && h.Height > 0 {
		if err := h.Check(o.MaxPixels); err != nil {
			return h, err
		}
	}
	return h, err
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// resize scales m to w x h pixels into a new Mat the caller closes.
func resize(m gocv.Mat, w, h int) (gocv.Mat, error) {
	if m.Empty() || w < 1 || h < 1 {
		return gocv.Mat{}, fmt.Errorf("scaling a %dx%d picture to %dx%d: nothing to scale", m.Cols(), m.Rows(), w, h)
	}
	out := gocv.NewMat()
	if err := cError(C.joren_picture_resize(cvMat(&m), cvMat(&out), C.int(w), C.int(h))); err != nil {
		out.Close()
		return gocv.Mat{}, fmt.Errorf("scaling the picture to %dx%d: %w", w, h, err)
	}
	return out, nil
}

// toJPEG encodes a BGR Mat as a JPEG of the given quality.
func toJPEG(m gocv.Mat, quality int) ([]byte, error) {
	if m.Empty() || m.Cols() > MaxSideLimit || m.Rows() > MaxSideLimit {
		return nil, fmt.Errorf("encoding a %dx%d picture as JPEG: JPEG holds 1 to %d pixels a side", m.Cols(), m.Rows(), MaxSideLimit)
	}
	var (
		out *C.uint8_t
		n   C.size_t
	)
	if err := cError(C.joren_picture_encode_jpeg(cvMat(&m), C.int(quality), &out, &n)); err != nil {
		return nil, fmt.Errorf("encoding JPEG: %w", err)
	}
	defer C.free(unsafe.Pointer(out))
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(out)), int(n))), nil
}
