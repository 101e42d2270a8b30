package installer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"joren/vision/pipeline"
	"joren/vision/quality"
)

// CaptureOptions tune a Capture. Zero values take the defaults.
type CaptureOptions struct {
	// Every is the least time between two descriptors kept (default
	// 300 ms): faces a moment apart differ a little (expression, angle),
	// which makes a better enrolment than near copies.
	Every time.Duration
	// Timeout ends a collection that has not got its faces (default 30 s).
	Timeout time.Duration
	// Lost is how long the face being collected may go unseen before
	// another face takes its place and the collection starts again
	// (default 2 s).
	Lost time.Duration
	// Same, if set, tells whether two descriptors show one person (the
	// model's threshold): a face on a new track that Same says is the
	// person being collected is kept (a busy pipeline, or a person who
	// turned away, ends tracks); without it, a new track is another
	// person.
	Same func(a, b []float32) bool
	// MinWidth is the narrowest face kept, in frame pixels (default 100):
	// the door describes faces down to vision.min_face, but a descriptor
	// moves away from the person's full-size one as the face shrinks
	// (docs/pipeline.md), and an enrolment is what the door's faces are
	// compared with.
	MinWidth int
}

// Capture collects descriptors of the face in front of the camera for the
// page's enrolment and "forget the person at the camera" flows. It is the
// pipeline's Sampler: it asks for frames only while a collection runs,
// and gets descriptors, never pictures. One collection at a time.
type Capture struct {
	opt CaptureOptions
	now func() time.Time

	active atomic.Bool  // a collection runs
	next   atomic.Int64 // unix ns: no sample before

	mu  sync.Mutex
	job *collection
}

// collection is one run of Collect.
type collection struct {
	want      int
	started   time.Time
	track     string    // the face being collected
	trackSeen time.Time // when it was last seen
	descs     [][]float32
	hint      string
	done      chan struct{}
	err       error
}

// Progress is what a collection has got so far.
type Progress struct {
	Got, Want int
	// Hint tells the person what to do ("Look at the camera").
	Hint string
}

// DefaultMinWidth is CaptureOptions.MinWidth's default.
const DefaultMinWidth = 100

// ErrBusy means a collection is already running.
var ErrBusy = errors.New("the camera is busy with another enrolment: wait for it to end")

// errCancelled ends a collection that was cancelled.
var errCancelled = errors.New("cancelled")

// NewCapture makes a capture.
func NewCapture(opt CaptureOptions) *Capture {
	if opt.Every <= 0 {
		opt.Every = 300 * time.Millisecond
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.Lost <= 0 {
		opt.Lost = 2 * time.Second
	}
	if opt.MinWidth <= 0 {
		opt.MinWidth = DefaultMinWidth
	}
	return &Capture{opt: opt, now: time.Now}
}

var _ pipeline.Sampler = (*Capture)(nil)

// Wants tells the pipeline whether to describe the face in view: only
// while a collection runs, at most once per Every.
func (c *Capture) Wants() bool {
	if !c.active.Load() {
		return false // the usual case: one atomic load
	}
	return c.now().UnixNano() >= c.next.Load()
}

// Sample takes a descriptor of the face in front of the camera.
func (c *Capture) Sample(s pipeline.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j := c.job
	if j == nil || j.err != nil || len(j.descs) >= j.want {
		return
	}
	now := c.now()
	switch {
	case s.Faces == 0:
		j.hint = "Nobody in front of the camera: stand facing it, about an arm's length away."
		return
	case s.Good > 1:
		j.hint = fmt.Sprintf("%d faces in view: only the person being enrolled may face the camera.", s.Good)
		return
	case s.Descriptor == nil:
		j.hint = "Look straight at the camera" + reasonHint(string(s.Quality.Reject)) + "."
		return
	case s.Box.Dx() < c.opt.MinWidth:
		j.hint = "Look straight at the camera" + reasonHint(string(quality.Small)) + "."
		return
	}
	if j.track != "" && s.Track != j.track && !c.same(j, s.Descriptor) {
		if now.Sub(j.trackSeen) < c.opt.Lost {
			j.hint = "Another face: only the person being enrolled may face the camera."
			return
		}
		// The first person left and another stands there: their faces
		// must not mix.
		j.descs = nil
	}
	j.track, j.trackSeen = s.Track, now
	j.descs = append(j.descs, s.Descriptor)
	c.next.Store(now.Add(c.opt.Every).UnixNano())
	j.hint = "Keep looking at the camera; turn your head a little."
	if len(j.descs) >= j.want {
		j.hint = "Got them."
		c.finish(j, nil)
	}
}

// same tells whether d shows the person whose faces j has: close to
// every one of them.
func (c *Capture) same(j *collection, d []float32) bool {
	if c.opt.Same == nil || len(j.descs) == 0 {
		return false
	}
	for _, e := range j.descs {
		if !c.opt.Same(e, d) {
			return false
		}
	}
	return true
}

func reasonHint(reason string) string {
	switch reason {
	case "small":
		return ", a little closer"
	case "blurred":
		return ", and keep still"
	case "turned":
		return ", not to the side"
	case "cut":
		return ", all of your face in the picture"
	}
	return ""
}

// finish ends j with err (nil: it has its faces). c.mu is held.
func (c *Capture) finish(j *collection, err error) {
	if j.err != nil || isClosed(j.done) {
		return
	}
	j.err = err
	c.active.Store(false)
	close(j.done)
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Collect gathers want descriptors of the face in front of the camera,
// each at least Every after the previous, all from one face. It fails after
// Timeout, when ctx is done, when Cancel is called, or with ErrBusy when
// another collection runs.
func (c *Capture) Collect(ctx context.Context, want int) ([][]float32, error) {
	if want <= 0 {
		return nil, errors.New("no faces asked for")
	}
	c.mu.Lock()
	if c.job != nil && !isClosed(c.job.done) {
		c.mu.Unlock()
		return nil, ErrBusy
	}
	j := &collection{want: want, started: c.now(), done: make(chan struct{}), hint: "Look at the camera."}
	c.job = j
	c.next.Store(0)
	c.active.Store(true)
	c.mu.Unlock()
	t := time.NewTimer(c.opt.Timeout)
	defer t.Stop()
	select {
	case <-j.done:
	case <-ctx.Done():
		c.end(j, ctx.Err())
	case <-t.C:
		c.mu.Lock()
		hint := j.hint
		c.mu.Unlock()
		c.end(j, fmt.Errorf("no good face for %s: %s", c.opt.Timeout, hint))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if j.err != nil {
		return nil, j.err
	}
	return j.descs, nil
}

func (c *Capture) end(j *collection, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finish(j, err)
}

// Progress tells how the running (or last) collection is doing.
func (c *Capture) Progress() Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.job == nil {
		return Progress{}
	}
	return Progress{Got: len(c.job.descs), Want: c.job.want, Hint: c.job.hint}
}

// Cancel ends the running collection, if any.
func (c *Capture) Cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.job != nil {
		c.finish(c.job, errCancelled)
	}
}
