package dlib

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	face "github.com/Kagami/go-face"

	"joren/vision"
	"joren/vision/models"
	"joren/vocab"
)

// Detector selects go-face's face detector.
type Detector string

const (
	// HOG is dlib's frontal face detector: fast, misses faces under about
	// 80 pixels and strong profiles.
	HOG Detector = "hog"
	// CNN is dlib's MMOD detector: finds more faces, seconds per picture on
	// a CPU.
	CNN Detector = "cnn"
)

// ParseDetector reads a detector name from a flag or configuration.
func ParseDetector(s string) (Detector, error) {
	switch Detector(s) {
	case HOG, CNN:
		return Detector(s), nil
	}
	return "", fmt.Errorf("unknown face detector %q (want %q or %q)", s, HOG, CNN)
}

// Options tune the recognizer.
type Options struct {
	Detector Detector
	// Jitter > 0 averages the descriptor over that many jittered copies of
	// the face: steadier descriptors at Jitter times the cost.
	Jitter int
}

// Recognizer finds faces and computes their descriptors. go-face serialises
// calls on one recognizer, so one per process is enough.
type Recognizer struct {
	rec   *face.Recognizer
	model vocab.Model
	opts  Options
}

// Open loads the three model files from dir. A missing or unreadable file is
// named in the error before dlib is asked to parse anything.
func Open(dir string, opts Options) (*Recognizer, error) {
	if opts.Detector == "" {
		opts.Detector = HOG
	}
	if _, err := ParseDetector(string(opts.Detector)); err != nil {
		return nil, err
	}
	if err := CheckFiles(dir); err != nil {
		return nil, err
	}
	digest, err := fileDigest(filepath.Join(dir, models.ResNetFile))
	if err != nil {
		return nil, err
	}
	// 150 pixels and 0.25 padding are dlib's face chip for this network.
	rec, err := face.NewRecognizerWithConfig(dir, 150, 0.25, opts.Jitter)
	if err != nil {
		return nil, fmt.Errorf("loading dlib models from %s: %w", dir, err)
	}
	return &Recognizer{
		rec:   rec,
		opts:  opts,
		model: withDigest(Describe(), digest),
	}, nil
}

// CheckFiles tells which model file of dir is missing or empty, if any.
func CheckFiles(dir string) error { return models.CheckFiles(dir) }

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading model file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading model file %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Model describes the descriptors this recognizer computes.
func (r *Recognizer) Model() vocab.Model { return r.model }

// Faces finds every face of a JPEG picture, sorted as dlib sorts rectangles,
// with landmarks and descriptors. A picture without faces gives an empty
// slice and no error.
//
// go-face decodes the JPEG with libjpeg, every warning an error, and
// catches the C++ exceptions of decoding and recognition; it does not
// bound the picture's size, so the bytes must come from vision/picture
// (Prepare checks the header against a pixel limit first).
func (r *Recognizer) Faces(jpeg []byte) ([]vision.Face, error) {
	if len(jpeg) == 0 {
		// go-face takes the address of the first byte: it would panic.
		return nil, errors.New("decoding JPEG: no data")
	}
	var (
		found []face.Face
		err   error
	)
	if r.opts.Detector == CNN {
		found, err = r.rec.RecognizeCNN(jpeg)
	} else {
		found, err = r.rec.Recognize(jpeg)
	}
	if err != nil {
		var load face.ImageLoadError
		if errors.As(err, &load) {
			return nil, fmt.Errorf("decoding JPEG: %s", string(load))
		}
		return nil, fmt.Errorf("recognising faces: %w", err)
	}
	faces := make([]vision.Face, len(found))
	for i, f := range found {
		d := make([]float32, vocab.DlibResNetDim)
		copy(d, f.Descriptor[:])
		faces[i] = vision.Face{Box: f.Rectangle, Landmarks: f.Shapes, Descriptor: d}
	}
	return faces, nil
}

// Close frees dlib's memory. The recognizer must not be used afterwards.
func (r *Recognizer) Close() error {
	if r.rec != nil {
		r.rec.Close()
		r.rec = nil
	}
	return nil
}

// Describe returns the model description of dlib's descriptors without
// loading anything; its Digest is empty (any copy of the weights).
func Describe() vocab.Model {
	return vocab.DlibResNet()
}

func withDigest(m vocab.Model, digest string) vocab.Model {
	m.Digest = digest
	return m
}
