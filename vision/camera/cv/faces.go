package cv

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"path/filepath"
	"sync"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/camera"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/onnx"
	"joren/vocab"
)

// Faces runs dlib's models on frames in memory: the HOG (or MMOD)
// detector on frames shrunk with OpenCV, the shape predictor, and dlib's
// ResNet or an ONNX network for descriptors. It is the pipeline's Detector
// and Describer. Safe for concurrent use: dlib serialises the calls to
// each of its models, so a detection and a description run at the same
// time; the ONNX network is used by Describe only.
type Faces struct {
	frames *dlib.Frames
	cnn    bool
	net    *onnx.Embedder // nil: dlib's ResNet describes
	dnn    *onnx.ResNet   // dlib's ResNet through OpenCV's DNN; nil: dlib's own code

	// small is the picture Detect searches once shrunk: one buffer for
	// every frame instead of one each (Detect runs for most frames).
	mu    sync.Mutex
	small gocv.Mat
}

// Open loads the face models of dir for the detector o names: OpenYuNet
// for YuNet (the default), OpenFaces for dlib's detectors.
func Open(dir string, o camera.FaceOptions) (camera.Faces, error) {
	// Auto without a store: as for a new box.
	o.Detector, _ = camera.Choose(o.Detector, dir, "")
	if o.Detector == camera.YuNet {
		f, err := OpenYuNet(dir, o)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	f, err := OpenFaces(dir, o)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenFaces loads the face models of dir: dlib's detector (HOG, or MMOD
// if o.Detector says so) and shape predictor, and dlib's ResNet (run by
// OpenCV's DNN if `joren models build` or `fetch` converted it: the same
// descriptors for less CPU) or the registered ONNX network o.ONNX.
func OpenFaces(dir string, o camera.FaceOptions) (*Faces, error) {
	cnn := o.Detector == camera.MMOD
	frames, err := dlib.OpenFrames(dir, cnn)
	if err != nil {
		return nil, err
	}
	f := &Faces{frames: frames, cnn: cnn}
	if o.ONNX == nil {
		f.dnn = openDNN(dir, frames, o.Log)
	}
	if o.ONNX != nil {
		net, err := onnx.Open(filepath.Join(dir, o.ONNX.File()), *o.ONNX)
		if err != nil {
			frames.Close()
			return nil, err
		}
		f.net = onnx.NewEmbedder(frames, net, cnn)
	}
	f.small = gocv.NewMat()
	return f, nil
}

// Model describes the descriptors Describe computes.
func (f *Faces) Model() vocab.Model {
	if f.net != nil {
		return f.net.Model()
	}
	return f.frames.Model()
}

// Detect finds the faces of im, searched for in im shrunk by scale (at
// most 1) with OpenCV's area interpolation, and returns them in im's
// pixels.
func (f *Faces) Detect(im frame.Image, scale float64) ([]image.Rectangle, error) {
	search := dlib.Frame(im)
	if scale < 1 {
		src, err := mat(im)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		sz := image.Pt(max(1, int(float64(im.Cols)*scale)), max(1, int(float64(im.Rows)*scale)))
		gocv.Resize(src, &f.small, sz, 0, 0, gocv.InterpolationArea)
		src.Close()
		pix, err := f.small.DataPtrUint8()
		if err != nil {
			return nil, err
		}
		search = dlib.Frame{Pix: pix, Rows: f.small.Rows(), Cols: f.small.Cols(), Step: f.small.Step()}
	}
	dets, err := f.frames.Detect(search, f.cnn)
	if err != nil {
		return nil, err
	}
	boxes := make([]image.Rectangle, len(dets))
	for i, d := range dets {
		b := d.Box
		if scale < 1 {
			b = image.Rect(int(float64(b.Min.X)/scale), int(float64(b.Min.Y)/scale), int(float64(b.Max.X)/scale), int(float64(b.Max.Y)/scale))
		}
		boxes[i] = b
	}
	return boxes, nil
}

// Landmarks returns the shape predictor's points of the face in box.
func (f *Faces) Landmarks(im frame.Image, box image.Rectangle) ([]image.Point, error) {
	return f.frames.Landmarks(dlib.Frame(im), box)
}

// Describe computes the descriptor of the face in box, with its
// landmarks.
func (f *Faces) Describe(im frame.Image, box image.Rectangle) (vision.Face, error) {
	if f.dnn != nil {
		return f.dnn.Describe(dlib.Frame(im), box)
	}
	if f.net == nil {
		return f.frames.Describe(dlib.Frame(im), box)
	}
	pts, err := f.frames.Landmarks(dlib.Frame(im), box)
	if err != nil {
		return vision.Face{}, err
	}
	m, err := mat(im)
	if err != nil {
		return vision.Face{}, err
	}
	defer m.Close()
	desc, err := f.net.DescribeShape(m, pts)
	if err != nil {
		return vision.Face{}, fmt.Errorf("describing the face at %v: %w", box, err)
	}
	return vision.Face{Box: box, Landmarks: pts, Descriptor: desc}, nil
}

// Close frees the models.
func (f *Faces) Close() error {
	f.mu.Lock()
	f.small.Close()
	f.mu.Unlock()
	if f.dnn != nil {
		f.dnn.Close()
	}
	if f.net != nil {
		return f.net.Close() // the frames too
	}
	return f.frames.Close()
}

// openDNN loads dlib's ResNet converted for OpenCV's DNN, for the ResNet
// frames loaded. Without it (a model directory made before conversions
// existed), or if OpenResNet refuses it (a conversion of another file, an
// OpenCV that computes differently), it returns nil and dlib's own code
// describes: the same descriptors for more CPU.
func openDNN(dir string, frames *dlib.Frames, log *slog.Logger) *onnx.ResNet {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, err := onnx.OpenResNet(dir, frames, onnx.ResNetOptions{})
	switch {
	case errors.Is(err, onnx.ErrNoResNet):
		log.Info("dlib's ResNet runs in dlib: the model directory has no conversion for OpenCV (joren models build or fetch makes one)")
		return nil
	case err != nil:
		log.Warn("dlib's ResNet runs in dlib, not through OpenCV's DNN", "err", err)
		return nil
	}
	log.Info("dlib's ResNet runs through OpenCV's DNN")
	return r
}

// mat wraps im's pixels in a Mat (copied first if its rows are not
// contiguous: gocv wraps Go memory only as a contiguous Mat). The caller
// closes it.
func mat(im frame.Image) (gocv.Mat, error) {
	if err := im.Check(); err != nil {
		return gocv.Mat{}, err
	}
	if im.Step != 3*im.Cols {
		im = im.Clone()
	}
	return gocv.NewMatFromBytes(im.Rows, im.Cols, gocv.MatTypeCV8UC3, im.Pix)
}
