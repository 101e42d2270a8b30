package dlib

// #include <stdlib.h>
// #include "frames.h"
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"joren/vocab"
)

// ChipSide is the side of dlib's aligned face chip, the ResNet's input.
const ChipSide = 150

// ChipBytes is the size of a chip: ChipSide x ChipSide RGB pixels.
const ChipBytes = ChipSide * ChipSide * 3

// Chip returns the landmarks of the face in box and dlib's aligned face
// chip: exactly what Describe feeds dlib's ResNet (150 pixels, 0.25
// padding), RGB, row by row. Another runner of the same network (package
// onnx's ResNet) starts from it.
func (f *Frames) Chip(fr Frame, box image.Rectangle) ([]image.Point, []byte, error) {
	if err := fr.check(); err != nil {
		return nil, nil, err
	}
	rect := [4]C.long{C.long(box.Min.X), C.long(box.Min.Y), C.long(box.Max.X), C.long(box.Max.Y)}
	var (
		points [2 * 68]C.long
		cerr   *C.char
	)
	chip := make([]byte, ChipBytes)
	n := C.joren_frames_chip(f.f, (*C.uint8_t)(unsafe.Pointer(&fr.Pix[0])), C.int(fr.Rows), C.int(fr.Cols), C.int(fr.Step),
		&rect[0], &points[0], 68, (*C.uint8_t)(unsafe.Pointer(&chip[0])), &cerr)
	if n < 0 {
		defer C.free(unsafe.Pointer(cerr))
		return nil, nil, fmt.Errorf("cutting the face chip at %v: %s", box, C.GoString(cerr))
	}
	pts := make([]image.Point, min(int(n), 68))
	for i := range pts {
		pts[i] = image.Pt(int(points[2*i]), int(points[2*i+1]))
	}
	return pts, chip, nil
}

// DescribeChip runs dlib's ResNet on a chip as Chip returns it.
func (f *Frames) DescribeChip(chip []byte) ([]float32, error) {
	if len(chip) != ChipBytes {
		return nil, fmt.Errorf("a face chip has %d bytes (%dx%d RGB), got %d", ChipBytes, ChipSide, ChipSide, len(chip))
	}
	desc := make([]float32, vocab.DlibResNetDim)
	var cerr *C.char
	if C.joren_frames_chip_descriptor(f.f, (*C.uint8_t)(unsafe.Pointer(&chip[0])), (*C.float)(unsafe.Pointer(&desc[0])), &cerr) < 0 {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("describing a face chip: %s", C.GoString(cerr))
	}
	return desc, nil
}
