package onnx

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/picture"
	"joren/vocab"
)

// Embedder finds faces with dlib and describes them with an ONNX network.
type Embedder struct {
	frames *dlib.Frames
	net    *Net
	cnn    bool
}

// NewEmbedder combines dlib's detector and landmarks (frames; cnn selects
// the MMOD detector, which frames must have loaded) with a network. Close
// closes both.
func NewEmbedder(frames *dlib.Frames, net *Net, cnn bool) *Embedder {
	return &Embedder{frames: frames, net: net, cnn: cnn}
}

// Model describes the network's descriptors.
func (e *Embedder) Model() vocab.Model { return e.net.Model() }

// Faces finds and describes every face of a JPEG picture (a prepared one:
// vision/picture). Its header is checked and no OpenCV exception escapes
// the decoding (picture.Decode).
func (e *Embedder) Faces(jpeg []byte) ([]vision.Face, error) {
	img, _, err := picture.Decode(jpeg, picture.Options{})
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return e.FacesIn(img)
}

// FacesIn finds and describes every face of a BGR picture.
func (e *Embedder) FacesIn(img gocv.Mat) ([]vision.Face, error) {
	pix, err := img.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("reading picture: %w", err)
	}
	fr := dlib.Frame{Pix: pix, Rows: img.Rows(), Cols: img.Cols(), Step: img.Step()}
	dets, err := e.frames.Detect(fr, e.cnn)
	if err != nil {
		return nil, err
	}
	faces := make([]vision.Face, 0, len(dets))
	for _, d := range dets {
		shape, err := e.frames.Landmarks(fr, d.Box)
		if err != nil {
			return nil, err
		}
		desc, err := e.DescribeShape(img, shape)
		if err != nil {
			return nil, fmt.Errorf("face at %v: %w", d.Box, err)
		}
		faces = append(faces, vision.Face{Box: d.Box, Landmarks: shape, Descriptor: desc})
	}
	return faces, nil
}

// DescribeShape describes the face with the given 68-point shape.
func (e *Embedder) DescribeShape(img gocv.Mat, shape []image.Point) ([]float32, error) {
	five, err := vision.FivePoints(shape)
	if err != nil {
		return nil, err
	}
	return e.net.Describe(img, five)
}

// Close frees the detector and the network.
func (e *Embedder) Close() error {
	e.frames.Close()
	return e.net.Close()
}
