package cv

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"joren/vision"
	"joren/vision/camera"
	"joren/vision/dlib"
	"joren/vision/embed"
	"joren/vision/frame"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/pipeline"
	"joren/vision/yunet"
	"joren/vocab"
)

// YuNetFaces finds faces with YuNet and describes them aligned on its five
// landmarks: dlib's ResNet on dlib's chip cut from the five points and
// averaged with its mirror image (through OpenCV's DNN where the model
// directory has the conversion), or an ONNX network on ArcFace's
// template. Only those models are loaded: no shape predictor, no HOG
// detector, and dlib's own ResNet only when OpenCV's copy is missing (or
// refused). It is the pipeline's FiveDetector and FiveDescriber. Safe for concurrent use: YuNet and each network
// serialise their calls.
type YuNetFaces struct {
	det *yunet.Detector
	emb *embed.Embedder // owns det and the network
	dnn *onnx.ResNet
}

var (
	_ pipeline.FiveDetector  = (*YuNetFaces)(nil)
	_ pipeline.FiveDescriber = (*YuNetFaces)(nil)
)

// OpenYuNet loads YuNet from dir and the describing network: dlib's
// ResNet, or the registered ONNX network o.ONNX. Mirroring is as the
// photo commands' `--mirror auto` (docs/embedders.md): on for dlib, where
// it separates people better, off for ONNX networks, where it did not.
func OpenYuNet(dir string, o camera.FaceOptions) (*YuNetFaces, error) {
	path := filepath.Join(dir, models.YuNetFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("YuNet's model file %s is missing (run `joren models build` or `joren models fetch yunet`, or choose the hog detector): %w", path, err)
	}
	det, err := yunet.Open(path, yunet.Options{})
	if err != nil {
		return nil, err
	}
	f := &YuNetFaces{det: det}
	if o.ONNX != nil {
		net, err := onnx.Open(filepath.Join(dir, o.ONNX.File()), *o.ONNX)
		if err != nil {
			det.Close()
			return nil, err
		}
		f.emb = embed.ONNX(det, net, embed.Options{})
		return f, nil
	}
	// dlib's ResNet only: no HOG detector, no shape predictor (about
	// 100 MB) that YuNet's five points make useless.
	frames, err := dlib.OpenParts(dir, dlib.Parts{ResNet: true})
	if err != nil {
		det.Close()
		return nil, err
	}
	f.dnn = openDNN(dir, frames, o.Log)
	if f.dnn != nil {
		// OpenCV's copy describes; dlib's only served to check it.
		frames.DropResNet()
	}
	f.emb = embed.Dlib(det, frames, embed.Options{Mirror: true, DNN: f.dnn})
	return f, nil
}

// Model describes the descriptors.
func (f *YuNetFaces) Model() vocab.Model { return f.emb.Model() }

// DetectFive finds the faces of im, searched for in im shrunk by scale
// (at most 1). A picture too small for YuNet once shrunk holds no face it
// can find; one too large is shrunk further.
func (f *YuNetFaces) DetectFive(im frame.Image, scale float64) ([]pipeline.Five, error) {
	b := im.Bounds()
	scale = math.Min(scale, yunet.FitScale(b, yunet.MaxSide))
	if float64(min(b.Dx(), b.Dy()))*scale < yunet.MinSide {
		return nil, nil
	}
	found, err := f.det.Detect(im, b, scale)
	if err != nil {
		return nil, err
	}
	faces := make([]pipeline.Five, len(found))
	for i, fc := range found {
		faces[i] = pipeline.Five{Box: fc.Box, Points: fc.Five}
	}
	return faces, nil
}

// Detect finds the faces' boxes (DetectFive without the landmarks).
func (f *YuNetFaces) Detect(im frame.Image, scale float64) ([]image.Rectangle, error) {
	faces, err := f.DetectFive(im, scale)
	boxes := make([]image.Rectangle, len(faces))
	for i, fc := range faces {
		boxes[i] = fc.Box
	}
	return boxes, err
}

// errNoShape: YuNet's faces carry five landmarks, not a shape.
var errNoShape = errors.New("YuNet gives five landmarks with each face, not the shape predictor's points")

// Landmarks is not available: the pipeline uses DetectFive's points.
func (f *YuNetFaces) Landmarks(frame.Image, image.Rectangle) ([]image.Point, error) {
	return nil, errNoShape
}

// DescribeFive computes the descriptor of the face in box, aligned on its
// five landmarks (in im's pixels).
func (f *YuNetFaces) DescribeFive(im frame.Image, box image.Rectangle, five [5]vision.Point) (vision.Face, error) {
	return f.emb.DescribeFive(im, box, five)
}

// Describe finds the landmarks of the face in box with YuNet (the face
// of im that overlaps box most) and describes it.
func (f *YuNetFaces) Describe(im frame.Image, box image.Rectangle) (vision.Face, error) {
	faces, err := f.DetectFive(im, yunet.FitScale(im.Bounds(), 640))
	if err != nil {
		return vision.Face{}, err
	}
	best, overlap := -1, 0
	for i, fc := range faces {
		if a := area(fc.Box.Intersect(box)); a > overlap {
			best, overlap = i, a
		}
	}
	if best < 0 {
		return vision.Face{}, fmt.Errorf("describing the face at %v: YuNet finds no face there", box)
	}
	return f.emb.DescribeFive(im, box, faces[best].Points)
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// Close frees the models.
func (f *YuNetFaces) Close() error {
	var err error
	if f.dnn != nil {
		err = f.dnn.Close() // before the frames it was opened for
	}
	return errors.Join(err, f.emb.Close())
}
