package embed

import (
	"errors"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/onnx"
	"joren/vision/yunet"
	"joren/vocab"
)

// Options tune an embedder. Zero values take the defaults.
type Options struct {
	// Mirror averages each descriptor with its mirror image's.
	Mirror bool
	// SearchSide is the longer side, in pixels, pictures are shrunk to
	// for YuNet (default 640: YuNet finds faces of about 10 to 300
	// pixels; the face is then cut from the full picture).
	SearchSide int
	// Shape cuts dlib's chip with dlib's shape predictor, run on YuNet's
	// box, instead of from YuNet's five points (dlib only; for
	// comparison: it needs the 68-point or 5-point landmark model).
	Shape bool
	// DNN, if set, runs dlib's ResNet through OpenCV's DNN (package onnx:
	// the same descriptors, same model, for less CPU) on the chips (dlib
	// only; Close does not close it).
	DNN *onnx.ResNet
}

// DefaultSearchSide is Options.SearchSide's default.
const DefaultSearchSide = 640

// Embedder finds faces with YuNet and describes them with one network.
type Embedder struct {
	det      *yunet.Detector
	o        Options
	model    vocab.Model
	describe func(im frame.Image, f yunet.Face) ([]float32, []image.Point, error)
	close    func() error
}

// Model name suffixes: descriptors of one network cut or averaged
// differently are not comparable (dlib's descriptor of a face moves by
// 0.14-0.26 between its own chip and the five-point one, by about 0.09
// with mirroring), so they are other models, never mixed in one store.
const (
	// FiveSuffix marks dlib descriptors of chips cut from five landmarks.
	FiveSuffix = "+five"
	// MirrorSuffix marks descriptors averaged with their mirror image's.
	MirrorSuffix = "+mirror"
)

// Variant is the model of descriptors computed with a network m on chips
// cut from five landmarks (five: dlib's template instead of dlib's own
// chip) and, with mirror, averaged with their mirror image's.
func Variant(m vocab.Model, five, mirror bool) vocab.Model {
	if five {
		m.Name += FiveSuffix
	}
	if mirror {
		m.Name += MirrorSuffix
	}
	return m
}

// Dlib describes YuNet's faces with dlib's ResNet. frames needs dlib's
// ResNet unless o.DNN describes, and the shape predictor only with
// o.Shape (dlib.OpenParts). Close closes det and frames.
func Dlib(det *yunet.Detector, frames *dlib.Frames, o Options) *Embedder {
	e := newEmbedder(det, o, Variant(frames.Model(), !o.Shape, o.Mirror), frames.Close)
	e.describe = func(im frame.Image, f yunet.Face) ([]float32, []image.Point, error) {
		var (
			chip  frame.Image
			shape []image.Point
			err   error
		)
		if o.Shape {
			chip, shape, err = frames.Chip(dlib.Frame(im), f.Box)
		} else {
			chip, err = dlib.ChipFromFive(dlib.Frame(im), f.Five)
		}
		if err != nil {
			return nil, nil, err
		}
		if o.DNN != nil {
			d, err := o.DNN.DescribeChip(chip, o.Mirror)
			return d, shape, err
		}
		d, err := frames.DescribeChip(chip, o.Mirror)
		return d, shape, err
	}
	return e
}

// ONNX describes YuNet's faces with an ONNX network, aligned to the
// ArcFace template at the network's input size. Close closes det and net.
func ONNX(det *yunet.Detector, net *onnx.Net, o Options) *Embedder {
	if o.Shape {
		o.Shape = false // the network is always aligned from the five points
	}
	// ArcFace-style networks are always aligned from five points: only
	// mirroring makes another model.
	e := newEmbedder(det, o, Variant(net.Model(), false, o.Mirror), net.Close)
	size := net.Settings().Size
	tmpl := vision.ArcFace(size)
	e.describe = func(im frame.Image, f yunet.Face) ([]float32, []image.Point, error) {
		chip, err := vision.AlignChip(im, f.Five, tmpl, size)
		if err != nil {
			return nil, nil, err
		}
		d, err := net.DescribeChip(chip, o.Mirror)
		return d, nil, err
	}
	return e
}

func newEmbedder(det *yunet.Detector, o Options, m vocab.Model, closeNet func() error) *Embedder {
	if o.SearchSide <= 0 {
		o.SearchSide = DefaultSearchSide
	}
	return &Embedder{det: det, o: o, model: m, close: func() error {
		return errors.Join(closeNet(), det.Close())
	}}
}

// Model describes the descriptors.
func (e *Embedder) Model() vocab.Model { return e.model }

// Faces finds and describes every face of a JPEG picture.
func (e *Embedder) Faces(jpeg []byte) ([]vision.Face, error) {
	img, err := gocv.IMDecode(jpeg, gocv.IMReadColor)
	if err != nil {
		return nil, fmt.Errorf("decoding JPEG: %w", err)
	}
	defer img.Close()
	if img.Empty() {
		return nil, errors.New("decoding JPEG: not a picture OpenCV can read")
	}
	pix, err := img.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("reading picture: %w", err)
	}
	return e.FacesIn(frame.Image{Pix: pix, Rows: img.Rows(), Cols: img.Cols(), Step: img.Step()})
}

// FacesIn finds and describes every face of a BGR picture.
func (e *Embedder) FacesIn(im frame.Image) ([]vision.Face, error) {
	b := im.Bounds()
	if min(b.Dx(), b.Dy()) < yunet.MinSide {
		return nil, nil // no face fits
	}
	scale := yunet.FitScale(b, e.o.SearchSide)
	if float64(min(b.Dx(), b.Dy()))*scale < yunet.MinSide {
		// A panorama: search it at the smallest size YuNet accepts.
		scale = math.Min(1, float64(yunet.MinSide)/float64(min(b.Dx(), b.Dy())))
	}
	found, err := e.det.Detect(im, b, scale)
	if err != nil {
		return nil, err
	}
	faces := make([]vision.Face, 0, len(found))
	for _, f := range found {
		d, shape, err := e.describe(im, f)
		if err != nil {
			return nil, fmt.Errorf("face at %v: %w", f.Box, err)
		}
		five := f.Five
		faces = append(faces, vision.Face{Box: f.Box, Landmarks: shape, Five: &five, Descriptor: d})
	}
	return faces, nil
}

// DescribeFive computes the descriptor of the face in box of im, aligned
// on its five landmarks (in im's pixels, YuNet's order): the live
// pipeline's faces, found by the detector elsewhere.
func (e *Embedder) DescribeFive(im frame.Image, box image.Rectangle, five [5]vision.Point) (vision.Face, error) {
	d, shape, err := e.describe(im, yunet.Face{Box: box, Five: five})
	if err != nil {
		return vision.Face{}, fmt.Errorf("describing the face at %v: %w", box, err)
	}
	return vision.Face{Box: box, Landmarks: shape, Five: &five, Descriptor: d}, nil
}

// Detector is the embedder's YuNet.
func (e *Embedder) Detector() *yunet.Detector { return e.det }

// Close frees the detector and the network.
func (e *Embedder) Close() error { return e.close() }
