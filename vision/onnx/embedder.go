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
	return facesOfJPEG(jpeg, e.FacesIn)
}

// FacesIn finds and describes every face of a BGR picture.
func (e *Embedder) FacesIn(img gocv.Mat) ([]vision.Face, error) {
	return detectAndDescribe(e.frames, e.cnn, img, func(fr dlib.Frame, box image.Rectangle) (vision.Face, error) {
		shape, err := e.frames.Landmarks(fr, box)
		if err != nil {
			return vision.Face{}, err
		}
		desc, err := e.DescribeShape(img, shape)
		if err != nil {
			return vision.Face{}, fmt.Errorf("face at %v: %w", box, err)
		}
		return vision.Face{Box: box, Landmarks: shape, Descriptor: desc}, nil
	})
}

// facesOfJPEG decodes a JPEG picture (its header checked, no OpenCV
// exception escaping: picture.Decode) and hands it to facesIn.
func facesOfJPEG(jpeg []byte, facesIn func(gocv.Mat) ([]vision.Face, error)) ([]vision.Face, error) {
	img, _, err := picture.Decode(jpeg, picture.Options{})
	if err != nil {
		return nil, fmt.Errorf("decoding JPEG: %w", err)
	}
	defer img.Close()
	return facesIn(img)
}

// detectAndDescribe finds the faces of a BGR picture with dlib's detector
// and describes each.
func detectAndDescribe(frames *dlib.Frames, cnn bool, img gocv.Mat, describe func(dlib.Frame, image.Rectangle) (vision.Face, error)) ([]vision.Face, error) {
	pix, err := img.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("reading picture: %w", err)
	}
	fr := dlib.Frame{Pix: pix, Rows: img.Rows(), Cols: img.Cols(), Step: img.Step()}
	dets, err := frames.Detect(fr, cnn)
	if err != nil {
		return nil, err
	}
	faces := make([]vision.Face, 0, len(dets))
	for _, d := range dets {
		f, err := describe(fr, d.Box)
		if err != nil {
			return nil, err
		}
		faces = append(faces, f)
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
