package onnx

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/models"
	"joren/vocab"
)

// ErrNoResNet is returned by OpenResNet for a model directory without the
// converted ResNet (one made before `joren models build` or `fetch`
// converted it): the caller describes faces with dlib instead.
var ErrNoResNet = fmt.Errorf("no %s in the model directory (run joren models build or fetch): %w", models.ResNetONNXFile, fs.ErrNotExist)

// ResNet runs dlib's face recognition ResNet, converted to ONNX by package
// models, with OpenCV's DNN module on dlib's own face chip: the same
// network and the same input as package dlib, so the same descriptors (to
// cosine 0.9999, rounding apart) for less CPU, and on as many threads as
// OpenCV is given (SetThreads). Its Model is
// dlib's, digest included: descriptors of the two paths are one model and
// stores never tell them apart (docs/embedders.md).
//
// Landmarks and the chip of Describe and Faces come from dlib (frames);
// dlib's ResNet is needed only to open it, and a caller that describes
// chips only (YuNet's) may drop it then (dlib.Frames.DropResNet). Calls
// are serialised on the network.
type ResNet struct {
	frames *dlib.Frames
	own    bool // Close closes frames (OpenResNetEmbedder)
	cnn    bool
	mu     sync.Mutex
	net    gocv.Net
	blob   gocv.Mat
	model  vocab.Model
}

// ResNetOptions tune OpenResNet.
type ResNetOptions struct {
	// CNN detects with dlib's MMOD network in Faces (frames must have
	// loaded it).
	CNN bool
}

// minAgreement is the cosine similarity below which the converted network
// is not dlib's: rounding alone stays far above it.
const minAgreement = 0.9999

// OpenResNet loads the converted ResNet of dir, for the dlib ResNet frames
// runs. It refuses a conversion of another ResNet file than the one frames
// loaded, and one whose descriptor of a test chip does not agree with
// dlib's own to cosine 0.9999 (an OpenCV that computes differently).
func OpenResNet(dir string, frames *dlib.Frames, o ResNetOptions) (*ResNet, error) {
	path := filepath.Join(dir, models.ResNetONNXFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoResNet
	}
	if err != nil {
		return nil, fmt.Errorf("reading the converted ResNet: %w", err)
	}
	// OpenCV aborts the process on a file it cannot parse: check first.
	if err := models.CheckONNXFile(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	src, err := models.ResNetONNXSource(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	model := frames.Model()
	if src != model.Digest {
		return nil, fmt.Errorf("%s was converted from a ResNet file with sha256 %s, but the installed %s has %s (run joren models build or fetch again)",
			path, src, models.ResNetFile, model.Digest)
	}
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil || net.Empty() {
		return nil, fmt.Errorf("%s: OpenCV could not load it: %v", path, err)
	}
	r := &ResNet{
		frames: frames,
		cnn:    o.CNN,
		net:    net,
		blob:   gocv.NewMatWithSizes([]int{1, 3, dlib.ChipSize, dlib.ChipSize}, gocv.MatTypeCV32F),
		model:  model,
	}
	if err := r.selfCheck(); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// OpenResNetEmbedder loads dlib's detector and landmarks (cnn: the MMOD
// detector too) and the converted ResNet from dir: a vision.Embedder that
// computes dlib's descriptors through OpenCV, for the photo commands. Close
// closes both. ErrNoResNet says to use dlib.Open instead.
func OpenResNetEmbedder(dir string, cnn bool) (*ResNet, error) {
	if _, err := os.Stat(filepath.Join(dir, models.ResNetONNXFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoResNet
	}
	frames, err := dlib.OpenFrames(dir, cnn)
	if err != nil {
		return nil, err
	}
	r, err := OpenResNet(dir, frames, ResNetOptions{CNN: cnn})
	if err != nil {
		frames.Close()
		return nil, err
	}
	r.own = true
	return r, nil
}

// selfCheck compares the network's descriptor of a synthetic chip with
// dlib's.
func (r *ResNet) selfCheck() error {
	chip := TestChip()
	want, err := r.frames.DescribeChip(chip, false)
	if err != nil {
		return err
	}
	got, err := r.DescribeChip(chip, false)
	if err != nil {
		return err
	}
	if c := Cosine(got, want); !(c >= minAgreement) {
		return fmt.Errorf("its descriptor of a test chip agrees with dlib's to cosine %.6f, want at least %v: not the same network on this OpenCV", c, minAgreement)
	}
	return nil
}

// TestChip is a synthetic face chip (dlib.ChipSize square, BGR): smooth
// gradients and stripes in every channel, so that every filter of the
// network sees structure.
func TestChip() frame.Image {
	chip := frame.New(dlib.ChipSize, dlib.ChipSize)
	for y := range dlib.ChipSize {
		for x := range dlib.ChipSize {
			i := y*chip.Step + 3*x
			chip.Pix[i+2] = byte(128 + 100*math.Sin(float64(x)/9)*math.Cos(float64(y)/13)) // red
			chip.Pix[i+1] = byte((x*y)/90 + 40)
			chip.Pix[i] = byte(255 - (x+2*y)*255/450)
		}
	}
	return chip
}

// Cosine is the cosine similarity of two descriptors.
func Cosine(a, b []float32) float64 {
	return 1 - vocab.Cosine.Distance(a, b)
}

// Model describes the descriptors: dlib's ResNet, with the digest of the
// .dat file the network was converted from.
func (r *ResNet) Model() vocab.Model { return r.model }

// Describe computes the landmarks and descriptor of the face in box, as
// dlib.Frames.Describe does.
func (r *ResNet) Describe(fr dlib.Frame, box image.Rectangle) (vision.Face, error) {
	chip, pts, err := r.frames.Chip(fr, box)
	if err != nil {
		return vision.Face{}, err
	}
	d, err := r.DescribeChip(chip, false)
	if err != nil {
		return vision.Face{}, fmt.Errorf("describing the face at %v: %w", box, err)
	}
	return vision.Face{Box: box, Landmarks: pts, Descriptor: d}, nil
}

// DescribeChip runs the network on a face chip as dlib.Frames.Chip cuts
// it (dlib.ChipSize square, BGR); with mirror, the mean of the
// descriptors of the chip and of its mirror image, as
// dlib.Frames.DescribeChip computes it.
func (r *ResNet) DescribeChip(chip frame.Image, mirror bool) ([]float32, error) {
	if err := chip.Check(); err != nil || chip.Cols != dlib.ChipSize || chip.Rows != dlib.ChipSize {
		return nil, fmt.Errorf("a face chip is a %dx%d BGR image, got %dx%d", dlib.ChipSize, dlib.ChipSize, chip.Cols, chip.Rows)
	}
	d, err := r.forwardChip(chip)
	if err != nil || !mirror {
		return d, err
	}
	m, err := r.forwardChip(vision.Mirror(chip))
	if err != nil {
		return nil, err
	}
	for i := range d {
		d[i] = (d[i] + m[i]) / 2
	}
	return d, nil
}

// forwardChip runs the network on one chip.
func (r *ResNet) forwardChip(chip frame.Image) ([]float32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The graph takes planes of red, green and blue values 0-255 and
	// normalises them as dlib does.
	in, err := r.blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("filling the network's input: %w", err)
	}
	const plane = dlib.ChipSize * dlib.ChipSize
	for y := range dlib.ChipSize {
		row := chip.Pix[y*chip.Step:]
		for x := range dlib.ChipSize {
			p := y*dlib.ChipSize + x
			in[p] = float32(row[3*x+2])
			in[plane+p] = float32(row[3*x+1])
			in[2*plane+p] = float32(row[3*x])
		}
	}
	r.net.SetInput(r.blob, models.ResNetONNXInput)
	out := r.net.Forward("")
	defer out.Close()
	d, err := outputValues(out)
	if err != nil {
		return nil, err
	}
	if len(d) != vocab.DlibResNetDim {
		return nil, fmt.Errorf("the network produced %d values, want %d", len(d), vocab.DlibResNetDim)
	}
	return d, nil
}

// Faces finds every face of a JPEG picture with dlib's detector and
// describes it (vision.Embedder).
func (r *ResNet) Faces(jpeg []byte) ([]vision.Face, error) {
	return facesOfJPEG(jpeg, func(img gocv.Mat) ([]vision.Face, error) {
		return detectAndDescribe(r.frames, r.cnn, img, r.Describe)
	})
}

// Close frees the network, and the frames if OpenResNetEmbedder opened
// them (OpenResNet's frames belong to the caller).
func (r *ResNet) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blob.Close()
	err := r.net.Close()
	if r.own {
		r.frames.Close()
	}
	return err
}
