package camera

import (
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

// FaceOptions choose the face models.
type FaceOptions struct {
	// CNN detects with dlib's MMOD network instead of HOG: it finds more
	// faces (turned, small, dim) but costs about 10 s per megapixel on a
	// CPU (give the pipeline a small DetectWidth).
	CNN bool
	// ONNX, if set, describes faces with that registered network (aligned
	// on dlib's landmarks) instead of dlib's ResNet.
	ONNX *models.ONNX
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
	// Log receives connection events (default: discarded).
	Log *slog.Logger
}
