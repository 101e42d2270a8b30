package dlib

// #include <stdlib.h>
// #include "frames.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"joren/vision"
	"joren/vision/frame"
	"joren/vocab"
)

// ChipSize is the side of the face chip dlib's ResNet describes.
const ChipSize = C.JOREN_CHIP

// maxBatch bounds the chips described in one call.
const maxBatch = 16

// Chip finds the landmarks of the face in box with the shape predictor and
// cuts dlib's own face chip from them (the one Describe describes):
// ChipSize x ChipSize BGR pixels.
func (f *Frames) Chip(fr Frame, box image.Rectangle) (frame.Image, []image.Point, error) {
	if err := fr.check(); err != nil {
		return frame.Image{}, nil, err
	}
	rect := [4]C.long{C.long(box.Min.X), C.long(box.Min.Y), C.long(box.Max.X), C.long(box.Max.Y)}
	var (
		points [2 * 68]C.long
		cerr   *C.char
	)
	chip := frame.New(ChipSize, ChipSize)
	n := C.joren_frames_chip(f.f, (*C.uint8_t)(unsafe.Pointer(&fr.Pix[0])), C.int(fr.Rows), C.int(fr.Cols), C.int(fr.Step),
		&rect[0], &points[0], 68, (*C.uint8_t)(unsafe.Pointer(&chip.Pix[0])), &cerr)
	if n < 0 {
		defer C.free(unsafe.Pointer(cerr))
		return frame.Image{}, nil, fmt.Errorf("cutting the face chip at %v: %s", box, C.GoString(cerr))
	}
	pts := make([]image.Point, min(int(n), 68))
	for i := range pts {
		pts[i] = image.Pt(int(points[2*i]), int(points[2*i+1]))
	}
	return chip, pts, nil
}

// ChipFromFive cuts dlib's face chip from five landmarks in ArcFace's
// order (YuNet's), without a shape predictor (vision.DlibChipTemplate).
func ChipFromFive(fr Frame, five [5]vision.Point) (frame.Image, error) {
	return vision.AlignChip(frame.Image(fr), five, vision.DlibChipTemplate, ChipSize)
}

// DescribeChips computes the descriptors of face chips (ChipSize x
// ChipSize BGR pixels each) in one batch.
func (f *Frames) DescribeChips(chips ...frame.Image) ([][]float32, error) {
	if len(chips) == 0 {
		return nil, nil
	}
	if len(chips) > maxBatch {
		return nil, fmt.Errorf("describing %d face chips at once (at most %d)", len(chips), maxBatch)
	}
	const side = 3 * ChipSize
	buf := make([]byte, len(chips)*side*ChipSize)
	for i, c := range chips {
		if err := c.Check(); err != nil || c.Cols != ChipSize || c.Rows != ChipSize {
			return nil, fmt.Errorf("face chip %d is %dx%d, want a %dx%d BGR image", i, c.Cols, c.Rows, ChipSize, ChipSize)
		}
		for y := 0; y < ChipSize; y++ {
			copy(buf[(i*ChipSize+y)*side:], c.Pix[y*c.Step:y*c.Step+side])
		}
	}
	desc := make([]float32, len(chips)*vocab.DlibResNetDim)
	var cerr *C.char
	if C.joren_frames_describe_chips(f.f, (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.int(len(chips)), (*C.float)(unsafe.Pointer(&desc[0])), &cerr) != 0 {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("describing face chips: %s", C.GoString(cerr))
	}
	out := make([][]float32, len(chips))
	for i := range out {
		out[i] = desc[i*vocab.DlibResNetDim : (i+1)*vocab.DlibResNetDim : (i+1)*vocab.DlibResNetDim]
	}
	return out, nil
}

// DescribeChip computes the descriptor of one face chip; with mirror, the
// mean of the descriptors of the chip and of its mirror image (both in
// one batch).
func (f *Frames) DescribeChip(chip frame.Image, mirror bool) ([]float32, error) {
	chips := []frame.Image{chip}
	if mirror {
		if err := chip.Check(); err != nil {
			return nil, errors.New("describing a face chip: " + err.Error())
		}
		chips = append(chips, vision.Mirror(chip))
	}
	d, err := f.DescribeChips(chips...)
	if err != nil {
		return nil, err
	}
	if mirror {
		for i := range d[0] {
			d[0][i] = (d[0][i] + d[1][i]) / 2
		}
	}
	return d[0], nil
}
