package pipeline

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/onnx"
	"joren/vocab"
)

// NetDescriber describes faces with an ONNX network (`--embedder onnx`),
// aligned on the five points of the landmarks Shapes finds (dlib's
// shape predictor). The track stage is its only caller, so the network
// needs no lock.
type NetDescriber struct {
	Shapes interface {
		Landmarks(fr dlib.Frame, box image.Rectangle) ([]image.Point, error)
	}
	Net *onnx.Net
}

// Describe computes the descriptor of the face in box.
func (d NetDescriber) Describe(fr dlib.Frame, box image.Rectangle) (vision.Face, error) {
	pts, err := d.Shapes.Landmarks(fr, box)
	if err != nil {
		return vision.Face{}, err
	}
	five, err := vision.FivePoints(pts)
	if err != nil {
		return vision.Face{}, fmt.Errorf("aligning the face at %v: %w", box, err)
	}
	im := compact(frame.Image(fr))
	m, err := gocv.NewMatFromBytes(im.Rows, im.Cols, gocv.MatTypeCV8UC3, im.Pix)
	if err != nil {
		return vision.Face{}, err
	}
	defer m.Close()
	desc, err := d.Net.Describe(m, five)
	if err != nil {
		return vision.Face{}, fmt.Errorf("describing the face at %v: %w", box, err)
	}
	return vision.Face{Box: box, Landmarks: pts, Descriptor: desc}, nil
}

// Model describes the network's descriptors.
func (d NetDescriber) Model() vocab.Model { return d.Net.Model() }
