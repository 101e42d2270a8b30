package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"joren/vision"
	"joren/vision/frame"
	"joren/vision/motion"
	"joren/vision/quality"
	"joren/vision/track"
	"joren/vocab"
)

// Source delivers frames and closes out when it returns; *capture.Source
// is one.
type Source interface {
	Run(ctx context.Context, out chan<- *frame.Frame) error
}

// Detector finds faces and their landmarks; *cv.Faces (package
// vision/camera/cv: dlib's HOG or MMOD detector and shape predictor) is
// one. The detect stage calls it while the track stage calls the
// Describer: if they are one value, it must allow that.
type Detector interface {
	// Detect finds the faces of im, searched for in im shrunk by scale
	// (at most 1: a smaller picture is searched faster, and HOG finds
	// faces of about 80 pixels and more in it), and returns their boxes
	// in im's pixels.
	Detect(im frame.Image, scale float64) ([]image.Rectangle, error)
	// Landmarks returns the shape predictor's points of the face in box.
	Landmarks(im frame.Image, box image.Rectangle) ([]image.Point, error)
}

// Describer computes a face's descriptor; *cv.Faces is one (dlib's ResNet,
// or an ONNX network).
type Describer interface {
	Describe(im frame.Image, box image.Rectangle) (vision.Face, error)
	Model() vocab.Model
}

// FiveDetector is a Detector whose faces come with five landmarks (eye
// centres, nose tip, mouth corners: YuNet's, in vision.ArcFace's order).
// When the pipeline's detector is one, the five points are what the
// quality gate judges frontalness on and what the face is aligned on: the
// shape predictor (Landmarks) is never run, and the Describer must be a
// FiveDescriber.
type FiveDetector interface {
	Detector
	// DetectFive finds the faces of im, searched for in im shrunk by
	// scale (at most 1), in im's pixels.
	DetectFive(im frame.Image, scale float64) ([]Five, error)
}

// Five is a face a FiveDetector found.
type Five struct {
	Box    image.Rectangle
	Points [5]vision.Point
}

// FiveDescriber describes a face aligned on its five landmarks.
type FiveDescriber interface {
	Describer
	DescribeFive(im frame.Image, box image.Rectangle, five [5]vision.Point) (vision.Face, error)
}

// Debug receives what the pipeline may not keep: the pictures of the faces
// it described. Only `--debug-dir` sets one.
type Debug interface {
	// Face is called for every described face: the crop, its box in the
	// crop, its quality, and the track it was given to.
	Face(trackID string, crop frame.Crop, q quality.Assessment)
	// Visit is called for every visit reported.
	Visit(v track.Visit)
}

// Preview receives a few frames a second for a live view (the installer's
// page), and only while somebody watches it: Wants is asked for every
// frame and is all a frame costs while it says no.
type Preview interface {
	// Wants tells whether the frame being processed should be previewed.
	// It is called from detect for every frame: it must be cheap (an
	// atomic load) and decide how often to say yes.
	Wants() bool
	// Frame receives a copy of a frame Wants asked for, once its faces are
	// found and tracked: faces[i] was given to track tracks[i]. The copy
	// is the receiver's; it may keep faces and tracks but not change them.
	// It is called from track, so it must return quickly.
	Frame(im frame.Image, at time.Time, faces []track.Detection, tracks []string)
}

// Config tunes the pipeline. Zero values take the defaults.
type Config struct {
	// DetectWidth is the width frames are shrunk to before detection
	// (default 640; frames no wider are searched at full size). HOG finds
	// faces of about 80 pixels and more in the shrunk frame; dlib's MMOD
	// detector (camera.FaceOptions.CNN) costs about 10 s per megapixel on a
	// CPU, so give it a small DetectWidth.
	DetectWidth int
	// Hold keeps detection running around faces seen this recently even
	// when nothing moves (default 1 s): someone standing still in the door
	// fades from the motion mask.
	Hold time.Duration
	// Gate decides which faces are worth a descriptor.
	Gate quality.Gate
	// Motion tunes the motion gate.
	Motion motion.Config
	// Track tunes the tracker.
	Track track.Config
	// Debug, if set, receives the described faces' pictures.
	Debug Debug
	// Preview, if set, receives frames for a live view when it wants them.
	Preview Preview
	// Drain is how long Run, once ctx is done, keeps trying to hand over
	// the visits of the people still in view (default 2 s): a consumer
	// that stopped reading, or a camera that does not stop, never holds
	// Run longer.
	Drain time.Duration
	// Sampler, if set, receives the descriptor of the face in front of
	// the camera when it wants one (enrolment from the live camera).
	Sampler Sampler
	// Log receives the pipeline's events (nil: discarded).
	Log *slog.Logger
}

// Stats counts what the pipeline did; all counts are since Run started.
type Stats struct {
	Frames    int64 // frames processed
	Dropped   int64 // frames the source dropped because the pipeline was busy
	Moving    int64 // frames in which the motion gate saw motion
	Searched  int64 // frames in which faces were searched for
	Faces     int64 // faces found
	Worth     int64 // faces that passed the quality gate
	Described int64 // descriptors computed
	Visits    int64 // visits reported
	Usable    int64 // visits with at least one descriptor
	Discarded int64 // tracks too short to be visits
	// Lost counts visits that were not handed over: Run was stopped and
	// its consumer did not take them within Config.Drain.
	Lost int64
	// DetectBusy and TrackBusy are the time each stage spent working (not
	// waiting): detect's share of the wall time is the load of one core.
	DetectBusy, TrackBusy time.Duration
}

type counters struct {
	frames, dropped, moving, searched, faces, worth, described, visits, usable, discarded, lost atomic.Int64
	detectBusy, trackBusy                                                                       atomic.Int64
}

// Pipeline is one camera's frames-to-visits pipeline. Run it once.
type Pipeline struct {
	cfg  Config
	det  Detector
	desc Describer
	log  *slog.Logger
	five FiveDetector // det, when it finds five landmarks
	n    counters
	// waiting is when detect began waiting for a frame (Unix ns), 0 while
	// it works on one: the track stage tells a silent camera (detect
	// waits) from a stalled pipeline (detect works).
	waiting atomic.Int64
}

// New makes a pipeline with det finding faces and desc describing them
// (usually the same *cv.Faces).
func New(det Detector, desc Describer, cfg Config) *Pipeline {
	if cfg.DetectWidth <= 0 {
		cfg.DetectWidth = 640
	}
	if cfg.Hold <= 0 {
		cfg.Hold = time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 2 * time.Second
	}
	cfg.Gate = cfg.Gate.WithDefaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{cfg: cfg, det: det, desc: desc, log: log}
	p.five, _ = det.(FiveDetector)
	return p
}

// Model is the model of the visits' descriptors.
func (p *Pipeline) Model() vocab.Model { return p.desc.Model() }

// Stats returns the counts so far; safe to call while Run runs.
func (p *Pipeline) Stats() Stats {
	return Stats{
		Frames: p.n.frames.Load(), Dropped: p.n.dropped.Load(), Moving: p.n.moving.Load(),
		Searched: p.n.searched.Load(), Faces: p.n.faces.Load(), Worth: p.n.worth.Load(),
		Described: p.n.described.Load(), Visits: p.n.visits.Load(), Usable: p.n.usable.Load(),
		Discarded: p.n.discarded.Load(), Lost: p.n.lost.Load(),
		DetectBusy: time.Duration(p.n.detectBusy.Load()), TrackBusy: time.Duration(p.n.trackBusy.Load()),
	}
}

// Run reads src until it ends or fails, or ctx is done, and sends every
// visit on out, which it closes when it returns: the caller must read out
// until then. It returns nil when the source ended (a recording), the
// source's or a stage's error, or ctx's.
//
// However it stops, the tracks still open are ended and their visits sent
// before out is closed: the people in view when the box is stopped still
// get their visits. Stopping never waits on anyone for long: once ctx is
// done (or a stage failed), the source is stopped, detection stops at the
// frame in hand, and every send gives up Config.Drain later; a source
// that has not returned by then (a camera hung in a read that Run cannot
// interrupt) is left behind. So Run returns within Drain of ctx being
// done, plus the detector or describer call in progress.
func (p *Pipeline) Run(ctx context.Context, src Source, out chan<- track.Visit) error {
	if _, ok := p.desc.(FiveDescriber); p.five != nil && !ok {
		close(out)
		return errors.New("the face detector gives five landmarks, but the describer cannot align faces on them")
	}
	g, gctx := errgroup.WithContext(ctx)
	drain, stopDrain := outlive(gctx, p.cfg.Drain)
	defer stopDrain()
	frames := make(chan *frame.Frame, 1)
	faces := make(chan observation, 8)
	srcDone := make(chan error, 1)
	go func() { srcDone <- src.Run(gctx, frames) }()
	g.Go(func() error {
		select {
		case err := <-srcDone:
			return err
		case <-drain.Done():
			p.log.Warn("the camera did not stop in time; it is left behind", "waited", p.cfg.Drain)
			return nil
		}
	})
	g.Go(func() error { return newDetectStage(p).Run(gctx, frames, faces) })
	g.Go(func() error { return newTrackStage(p, drain).Run(gctx, faces, out) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return context.Canceled
	}
	return err
}

// outlive returns a context that is done d after ctx is (or when stop is
// called): the time a stopped stage has to hand over what it holds.
func outlive(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var t *time.Timer
	var mu sync.Mutex
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		t = time.AfterFunc(d, cancel)
		mu.Unlock()
	})
	return c, func() {
		unhook()
		mu.Lock()
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// seen is one face of a frame as detect hands it to track.
type seen struct {
	box  image.Rectangle
	q    quality.Assessment
	crop *frame.Crop // set for faces worth a descriptor
	// five are the face's landmarks in crop's pixels, from a
	// FiveDetector (nil with another detector).
	five *[5]vision.Point
}

// observation is what detect learnt from one frame.
type observation struct {
	seq   int64
	time  time.Time
	live  bool
	faces []seen
	// preview is a copy of the frame, made only when Config.Preview
	// wanted it.
	preview *frame.Image
}

func wrap(what string, seq int64, err error) error {
	return fmt.Errorf("%s in frame %d: %w", what, seq, err)
}
