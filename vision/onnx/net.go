package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"sync"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/models"
	"joren/vocab"
)

// Net is a loaded network. OpenCV's Net is not safe for concurrent use;
// calls are serialised.
type Net struct {
	mu    sync.Mutex
	net   gocv.Net
	s     models.ONNX
	model vocab.Model
}

// Open loads an ONNX file and checks it by running it once. The file is
// checked for ONNX structure first; a network OpenCV parses but cannot run
// with these settings still aborts the process (OpenCV's C++ exception
// crosses gocv uncaught), so new networks are tried in a child process
// first (joren models add-onnx does).
func Open(path string, s models.ONNX) (*Net, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("ONNX model %s settings: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ONNX model: %w", err)
	}
	// OpenCV aborts the process on a file it cannot parse, or on an
	// input of another size than the file declares: check first.
	if err := models.CheckFaceNetwork(data, s); err != nil {
		return nil, fmt.Errorf("ONNX model %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil || net.Empty() {
		return nil, fmt.Errorf("ONNX model %s: OpenCV could not load it: %v", path, err)
	}
	n := &Net{net: net, s: s}
	probe := gocv.NewMatWithSize(s.Size, s.Size, gocv.MatTypeCV8UC3)
	defer probe.Close()
	out, err := n.forward(probe)
	if err != nil {
		net.Close()
		return nil, fmt.Errorf("ONNX model %s: %w", path, err)
	}
	n.model = vocab.Model{
		Name:      "onnx:" + s.Name,
		Digest:    digest,
		Dim:       len(out),
		Metric:    vocab.Cosine,
		Threshold: s.Threshold,
	}
	return n, nil
}

// Model describes the descriptors the network computes.
func (n *Net) Model() vocab.Model { return n.model }

// Settings returns the network's input settings.
func (n *Net) Settings() models.ONNX { return n.s }

// Describe aligns the face whose five landmarks are given (ArcFace order:
// eye centres, nose tip, mouth corners) in a BGR picture and returns its
// L2-normalised descriptor.
func (n *Net) Describe(img gocv.Mat, five [5]vision.Point) ([]float32, error) {
	aligned := gocv.NewMat()
	defer aligned.Close()
	if err := Align(img, five, n.s.Size, &aligned); err != nil {
		return nil, err
	}
	return n.forward(aligned)
}

// Align warps the face in img to the ArcFace template scaled to size×size
// pixels, into dst.
func Align(img gocv.Mat, five [5]vision.Point, size int, dst *gocv.Mat) error {
	if img.Empty() {
		return errors.New("aligning a face: empty picture")
	}
	k := float64(size) / 112
	tmpl := make([]vision.Point, 5)
	for i, p := range vision.ArcFaceTemplate {
		tmpl[i] = vision.Point{X: p.X * k, Y: p.Y * k}
	}
	s, err := vision.FitSimilarity(five[:], tmpl)
	if err != nil {
		return fmt.Errorf("aligning a face: %w", err)
	}
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for r := 0; r < 2; r++ {
		for c := 0; c < 3; c++ {
			m.SetDoubleAt(r, c, s[r][c])
		}
	}
	gocv.WarpAffine(img, dst, m, image.Pt(size, size))
	return nil
}

// forward runs the network on an aligned size×size BGR face.
func (n *Net) forward(face gocv.Mat) ([]float32, error) {
	blob := gocv.BlobFromImage(face, n.s.Scale, image.Pt(n.s.Size, n.s.Size),
		gocv.NewScalar(n.s.Mean, n.s.Mean, n.s.Mean, 0), n.s.SwapRB, false)
	defer blob.Close()
	n.mu.Lock()
	n.net.SetInput(blob, "")
	out := n.net.Forward("")
	n.mu.Unlock()
	defer out.Close()
	d, err := outputValues(out)
	if err != nil {
		return nil, err
	}
	if !normalise(d) {
		return nil, errors.New("the network's output is all zeros")
	}
	return d, nil
}

// normalise scales d to unit length; false if it is all zeros.
func normalise(d []float32) bool {
	var norm float64
	for _, v := range d {
		norm += float64(v) * float64(v)
	}
	if norm == 0 {
		return false
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := range d {
		d[i] *= inv
	}
	return true
}

// outputValues copies a network's output, which must be numbers.
func outputValues(out gocv.Mat) ([]float32, error) {
	if out.Empty() {
		return nil, errors.New("the network produced no output")
	}
	vals, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("reading the network's output: %w", err)
	}
	d := make([]float32, len(vals))
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("the network's output %d is %v", i, v)
		}
		d[i] = v
	}
	return d, nil
}

// Close frees the network.
func (n *Net) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.net.Close()
}

// Describe returns the model description of a registered network without
// loading it: its dimension is not known before it runs, so Dim is 0 and
// descriptor files give it.
func Describe(s models.ONNX) vocab.Model {
	return vocab.Model{Name: "onnx:" + s.Name, Metric: vocab.Cosine, Threshold: s.Threshold}
}
