package camera

import (
	"fmt"
	"log/slog"

	"joren/vision/frame"
	"joren/vision/models"
	"joren/vision/pipeline"
)

// Faces finds faces, their landmarks and their descriptors: the
// pipeline's Detector and Describer in one, holding the models it loaded
// until Close.
type Faces interface {
	pipeline.Detector
	pipeline.Describer
	Close() error
}

// Detector names a face detector.
type Detector string

// The face detectors (docs/pipeline.md compares them).
const (
	// YuNet finds turned and small faces with five landmarks in one pass,
	// for less CPU than HOG; the faces are aligned on those five points
	// (dlib's chip cut from them, averaged with its mirror image: a model
	// of its own, vocab.Model name "+five+mirror").
	YuNet Detector = "yunet"
	// HOG is dlib's HOG detector, with dlib's shape predictor.
	HOG Detector = "hog"
	// MMOD is dlib's CNN detector: it finds more faces than HOG but costs
	// about 10 s per megapixel on a CPU (give the pipeline a small
	// DetectWidth).
	MMOD Detector = "mmod"
	// Auto lets Choose decide: YuNet, unless the store's people were
	// described from HOG's faces or YuNet is not installed. The default.
	Auto Detector = "auto"
)

// FaceOptions choose the face models.
type FaceOptions struct {
	// Detector finds the faces ("" or Auto: Choose's choice for a new
	// store).
	Detector Detector
	// ONNX, if set, describes faces with that registered network (aligned
	// on the detector's landmarks) instead of dlib's ResNet.
	ONNX *models.ONNX
	// Log hears which path computes dlib's descriptors, and why not the
	// faster one (nil: discarded).
	Log *slog.Logger
}

// ParseDetector reads a detector's name: auto, yunet, hog, or mmod (also
// cnn, its older name).
func ParseDetector(s string) (Detector, error) {
	switch s {
	case string(Auto), string(YuNet), string(HOG), string(MMOD):
		return Detector(s), nil
	case "cnn":
		return MMOD, nil
	}
	return "", fmt.Errorf("detector %q: want auto, yunet, hog or mmod", s)
}

// Source is where frames come from. Run it once.
type Source interface {
	pipeline.Source
	// Stats counts what the source did so far; safe to call while Run
	// runs.
	Stats() Stats
	// Live tells whether the source is a camera or a stream, which runs
	// on the wall clock: one that sends no frame has a fault, while a
	// recording has just ended.
	Live() bool
	// String names the source for logs, a stream's password hidden.
	String() string
}

// Stats counts what a source did.
type Stats struct {
	Frames     int64 // frames delivered
	Dropped    int64 // frames skipped because the pipeline was busy
	Unreadable int64 // frames that could not be decoded and were skipped
	Reconnects int64 // times the source was reopened after a loss
	// Problem is why the source was last lost, until frames flow again
	// ("" while they do).
	Problem string
}

// SourceOptions tune a source. Zero values take the defaults.
type SourceOptions struct {
	// Width and Height are asked of a camera (0: its default).
	Width, Height int
	// FPS is asked of a camera; it is the rate of a picture folder
	// (default 15), and overrides the rate a video file states.
	FPS float64
	// Timeline, if set, times a recording's frames from its marks (a door
	// video's truth: `joren sim video`) instead of from when it starts.
	Timeline frame.Timeline
	// MaxPixels is the largest picture a folder source reads (0: the
	// default of vision/picture); larger ones are skipped, unread.
	MaxPixels int64
	// Log receives connection events (default: discarded).
	Log *slog.Logger
}
