package dlib

// #include <stdlib.h>
// #include "frames.h"
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"joren/vision"
	"joren/vision/models"
	"joren/vocab"
)

// Frames runs dlib's models on raw BGR frames, one step at a time: detect
// on a small frame, then landmarks and descriptors only for the faces worth
// it. It computes what go-face computes (same models, same face chip) but
// takes pixels instead of a JPEG, which a camera frame would otherwise be
// encoded to at every step. Safe for concurrent use: calls to one model
// (HOG, MMOD, ResNet) are serialised, so detection in one goroutine and
// description in another run at the same time. OpenParts loads only some
// of the models.
type Frames struct {
	f     *C.joren_frames
	model vocab.Model
}

// Frame is a BGR image in memory: Rows x Cols pixels, Step bytes per row,
// three bytes per pixel (OpenCV's CV_8UC3 layout).
type Frame struct {
	Pix              []byte
	Rows, Cols, Step int
}

func (fr Frame) check() error {
	if fr.Rows <= 0 || fr.Cols <= 0 || fr.Step < 3*fr.Cols || len(fr.Pix) < (fr.Rows-1)*fr.Step+3*fr.Cols {
		return fmt.Errorf("frame %dx%d with step %d and %d bytes is not a BGR image", fr.Cols, fr.Rows, fr.Step, len(fr.Pix))
	}
	return nil
}

// Detection is a face found by a detector.
type Detection struct {
	Box image.Rectangle
	// Score is the detector's confidence (HOG: SVM margin; CNN: network
	// output); higher is surer.
	Score float64
}

// Parts selects the models OpenParts loads. Each costs memory on the box
// (dlib's ResNet about 25 MB, the shape predictor about 100 MB): load only
// those used. A method that needs a model not loaded returns an error
// naming it.
type Parts struct {
	HOG    bool // dlib's frontal face detector: Detect
	MMOD   bool // dlib's CNN detector: Detect with cnn
	Shape  bool // the shape predictor: Landmarks, Chip, Describe
	ResNet bool // dlib's ResNet: Describe, DescribeChips, DescribeChip
}

// files are the model files the parts read. The ResNet's is always read:
// its digest names the descriptors (Model), whichever copy of the network
// computes them.
func (p Parts) files() []string {
	names := []string{models.ResNetFile}
	if p.Shape {
		names = append(names, models.ShapePredictorFile)
	}
	if p.MMOD {
		names = append(names, models.DetectorFile)
	}
	return names
}

func (p Parts) bits() C.int {
	var b C.int
	if p.HOG {
		b |= C.JOREN_PART_HOG
	}
	if p.MMOD {
		b |= C.JOREN_PART_MMOD
	}
	if p.Shape {
		b |= C.JOREN_PART_SHAPE
	}
	if p.ResNet {
		b |= C.JOREN_PART_RESNET
	}
	return b
}

// OpenFrames loads the HOG detector, the shape predictor and the ResNet
// from dir; cnn also loads the MMOD detector.
func OpenFrames(dir string, cnn bool) (*Frames, error) {
	return OpenParts(dir, Parts{HOG: true, MMOD: cnn, Shape: true, ResNet: true})
}

// OpenParts loads the models p asks for from dir. With none, the Frames
// only names the descriptors (Model) of a ResNet run elsewhere.
func OpenParts(dir string, p Parts) (*Frames, error) {
	if err := models.CheckFiles(dir, p.files()...); err != nil {
		return nil, err
	}
	digest, err := fileDigest(dir + "/" + models.ResNetFile)
	if err != nil {
		return nil, err
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var cerr *C.char
	f := C.joren_frames_open(cdir, p.bits(), &cerr)
	if f == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("loading dlib models from %s: %s", dir, C.GoString(cerr))
	}
	return &Frames{f: f, model: withDigest(Describe(), digest)}, nil
}

// DropResNet frees dlib's ResNet, for a caller that has another copy of
// the network describe chips (package onnx's, once checked against this
// one): Model stays, descriptions fail afterwards.
func (f *Frames) DropResNet() {
	if f.f != nil {
		C.joren_frames_drop_resnet(f.f)
	}
}

// Model describes the descriptors computed.
func (f *Frames) Model() vocab.Model { return f.model }

// maxFaces bounds the faces reported per frame (a doorway, not a stadium).
const maxFaces = 64

// Detect finds the faces of a frame with the HOG detector, or the MMOD
// detector if cnn is set (and was loaded).
func (f *Frames) Detect(fr Frame, cnn bool) ([]Detection, error) {
	if err := fr.check(); err != nil {
		return nil, err
	}
	var (
		rects  [4 * maxFaces]C.long
		scores [maxFaces]C.double
		cerr   *C.char
	)
	c := 0
	if cnn {
		c = 1
	}
	n := C.joren_frames_detect(f.f, (*C.uint8_t)(unsafe.Pointer(&fr.Pix[0])), C.int(fr.Rows), C.int(fr.Cols), C.int(fr.Step),
		C.int(c), &rects[0], &scores[0], maxFaces, &cerr)
	if n < 0 {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("detecting faces: %s", C.GoString(cerr))
	}
	out := make([]Detection, min(int(n), maxFaces))
	for i := range out {
		out[i] = Detection{
			Box:   image.Rect(int(rects[4*i]), int(rects[4*i+1]), int(rects[4*i+2]), int(rects[4*i+3])),
			Score: float64(scores[i]),
		}
	}
	return out, nil
}

// Landmarks returns the shape predictor's points for a detected face.
func (f *Frames) Landmarks(fr Frame, box image.Rectangle) ([]image.Point, error) {
	pts, _, err := f.describe(fr, box, false)
	return pts, err
}

// Describe returns the landmarks and descriptor of a detected face.
func (f *Frames) Describe(fr Frame, box image.Rectangle) (vision.Face, error) {
	pts, d, err := f.describe(fr, box, true)
	return vision.Face{Box: box, Landmarks: pts, Descriptor: d}, err
}

func (f *Frames) describe(fr Frame, box image.Rectangle, withDescriptor bool) ([]image.Point, []float32, error) {
	if err := fr.check(); err != nil {
		return nil, nil, err
	}
	rect := [4]C.long{C.long(box.Min.X), C.long(box.Min.Y), C.long(box.Max.X), C.long(box.Max.Y)}
	var (
		points [2 * 68]C.long
		desc   []float32
		dp     *C.float
		cerr   *C.char
	)
	if withDescriptor {
		desc = make([]float32, vocab.DlibResNetDim)
		dp = (*C.float)(unsafe.Pointer(&desc[0]))
	}
	n := C.joren_frames_describe(f.f, (*C.uint8_t)(unsafe.Pointer(&fr.Pix[0])), C.int(fr.Rows), C.int(fr.Cols), C.int(fr.Step),
		&rect[0], &points[0], 68, dp, &cerr)
	if n < 0 {
		defer C.free(unsafe.Pointer(cerr))
		return nil, nil, fmt.Errorf("describing face %v: %s", box, C.GoString(cerr))
	}
	pts := make([]image.Point, min(int(n), 68))
	for i := range pts {
		pts[i] = image.Pt(int(points[2*i]), int(points[2*i+1]))
	}
	return pts, desc, nil
}

// Close frees dlib's memory.
func (f *Frames) Close() error {
	if f.f != nil {
		C.joren_frames_close(f.f)
		f.f = nil
	}
	return nil
}
