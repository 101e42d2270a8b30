package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"joren/vision/frame"
	"joren/vision/picture"
)

// DefaultFPS is the frame rate of folders, and of files and cameras that
// do not say theirs.
const DefaultFPS = 15

// Retry is the reconnection policy.
type Retry struct {
	// Min is the first delay before reopening (default 500 ms); each
	// failure in a row doubles it up to Max (default 30 s).
	Min, Max time.Duration
	// Attempts is how many failures in a row are tolerated before Run gives
	// up with an error; 0 means never for cameras and streams, and 3 for
	// files and folders. A session that delivered frames resets the count.
	Attempts int
}

// Options tune a source. Zero values take the defaults.
type Options struct {
	// Width and Height are asked of a camera (0: its default).
	Width, Height int
	// FPS is asked of a camera; it is the rate of an image folder (default
	// 15), and overrides the rate a video file states.
	FPS float64
	// Realtime plays files and folders at their frame rate and drops frames
	// when the pipeline is busy, as a camera would. Without it every frame
	// is delivered, as fast as the pipeline takes them.
	Realtime bool
	// Start is the time of the first frame of a file or folder (default:
	// when Run starts). Timeline, if set, overrides it from its first
	// mark on (a door video's truth file has one: `joren sim video`).
	Start    time.Time
	Timeline frame.Timeline
	// Retry is the reconnection policy.
	Retry Retry
	// Stall is how long a camera or stream may go without a frame before
	// it is taken for lost and reopened (default 10 s).
	Stall time.Duration
	// Buffers is how many idle frame buffers are kept for reuse (default 4).
	Buffers int
	// MaxPixels is the largest picture a folder source reads (0:
	// picture.DefaultMaxPixels): a picture whose header claims more is
	// skipped and counted as unreadable before anything is decoded. It
	// also bounds the frames of cameras, streams, videos and pipelines:
	// a source whose frames are larger is refused with an error naming
	// their size.
	MaxPixels int64
	// Log receives connection events (nil: discarded).
	Log *slog.Logger
	// Machine says which board this is, for csi sources: libcamera on a
	// Raspberry Pi, Argus on a Jetson (default: ProbeMachine).
	Machine func() (Machine, error)
}

// Stats counts what a source did.
type Stats struct {
	Frames     int64 // frames delivered
	Dropped    int64 // frames skipped because the consumer was busy
	Unreadable int64 // frames that could not be decoded and were skipped
	Reconnects int64 // times the source was reopened after a loss
	// Problem is why the source was last lost ("/dev/video0 does not
	// exist", "no frame for 10s: stalled"), until a connection delivers
	// a frame again; "" while frames flow.
	Problem string
}

// Source is one camera or recording. Run it once.
type Source struct {
	spec  Spec
	opts  Options
	stack cameraStack // a csi source's camera stack
	pool  *frame.Pool
	log   *slog.Logger
	start time.Time

	// mu guards closed against sessions delivering a frame while Run
	// closes the output channel.
	mu       sync.RWMutex
	closed   bool
	sessions sync.WaitGroup

	seq                                    atomic.Int64
	frames, dropped, unreadable, reconnect atomic.Int64
	problem                                atomic.Pointer[string] // Stats.Problem; nil: none
}

// Open parses a source string and checks the options; nothing is opened
// until Run.
func Open(source string, o Options) (*Source, error) {
	spec, err := Parse(source)
	if err != nil {
		return nil, err
	}
	return New(spec, o)
}

// New makes a source from a parsed spec.
func New(spec Spec, o Options) (*Source, error) {
	if o.Width < 0 || o.Height < 0 || (o.Width > 0) != (o.Height > 0) {
		return nil, fmt.Errorf("%s: resolution %dx%d: give both width and height", spec, o.Width, o.Height)
	}
	if o.FPS < 0 || math.IsNaN(o.FPS) || math.IsInf(o.FPS, 0) {
		return nil, fmt.Errorf("%s: frame rate %v", spec, o.FPS)
	}
	if err := o.Timeline.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	if o.MaxPixels != 0 {
		if err := picture.CheckMaxPixels("the pixel limit", o.MaxPixels); err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
	}
	if o.Retry.Min <= 0 {
		o.Retry.Min = 500 * time.Millisecond
	}
	if o.Retry.Max < o.Retry.Min {
		o.Retry.Max = max(o.Retry.Min, 30*time.Second)
	}
	if o.Retry.Attempts == 0 && !spec.Kind.Live() {
		o.Retry.Attempts = 3
	}
	if o.Stall <= 0 {
		o.Stall = 10 * time.Second
	}
	if o.Buffers <= 0 {
		o.Buffers = 4
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{spec: spec, opts: o, pool: frame.NewPool(o.Buffers), log: log.With("source", spec.String())}
	if spec.Kind == CSI {
		probe := o.Machine
		if probe == nil {
			probe = ProbeMachine
		}
		m, err := probe()
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", spec, errNoCSI, err)
		}
		if s.stack, err = m.csiStack(); err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		s.log = s.log.With("camera_stack", s.stack.String())
	}
	if spec.Kind == CSI || spec.Kind == Pipeline {
		if err := gstCheck(spec, s.stack, o); err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
	}
	return s, nil
}

// Spec is what the source reads.
func (s *Source) Spec() Spec { return s.spec }

// Stats returns the counts so far; safe to call while Run runs.
func (s *Source) Stats() Stats {
	st := Stats{Frames: s.frames.Load(), Dropped: s.dropped.Load(), Unreadable: s.unreadable.Load(), Reconnects: s.reconnect.Load()}
	if p := s.problem.Load(); p != nil {
		st.Problem = *p
	}
	return st
}

// Wait returns when every connection Run opened is closed. A connection
// given up as stalled is closed by its own goroutine when OpenCV's read
// returns (FFmpeg and V4L2 time out on their own, in 30 s at most), or
// within 0.1 s for GStreamer pipelines (csi and gst: sources).
func (s *Source) Wait() { s.sessions.Wait() }

// position is where a recording resumes after a loss.
type position struct {
	index int    // video files: the frame to seek to
	after string // folders: the last file read
}

// session is one connection, read by its own goroutine.
type session struct {
	quit     chan struct{} // closed when Run stops waiting for it
	done     chan struct{} // closed by the session when it has closed its reader
	activity atomic.Int64  // unix nanoseconds of its last sign of life
	frames   atomic.Int64
	opened   atomic.Bool
	pos      atomic.Pointer[position]
	err      error // read after done is closed
}

func (ss *session) quitting() bool {
	select {
	case <-ss.quit:
		return true
	default:
		return false
	}
}

// Run reads frames into out until the recording ends (nil), ctx is done
// (ctx.Err()) or the source is given up (an error naming it). It closes out
// when it returns. Every frame sent must be released by the consumer.
func (s *Source) Run(ctx context.Context, out chan<- *frame.Frame) error {
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(out)
	}()
	s.start = time.Now()
	if !s.opts.Start.IsZero() {
		s.start = s.opts.Start
	}
	pos := position{}
	failures := 0
	worked := false
	retry := s.opts.Retry.backOff()
	for {
		ss := &session{quit: make(chan struct{}), done: make(chan struct{})}
		ss.pos.Store(&pos)
		ss.activity.Store(time.Now().UnixNano())
		s.sessions.Add(1)
		go s.read(ctx, ss, out, pos)
		err := s.supervise(ctx, ss)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			s.log.Info("source ended", "frames", s.frames.Load(), "dropped", s.dropped.Load())
			return nil
		}
		if !s.spec.Kind.Live() && !worked && !ss.opened.Load() {
			// A recording that cannot be opened at all will not heal.
			return fmt.Errorf("%s: %w", s.spec, err)
		}
		if ss.frames.Load() > 0 {
			failures, worked = 0, true
			retry.Reset()
		}
		failures++
		problem := err.Error()
		s.problem.Store(&problem)
		if a := s.opts.Retry.Attempts; a > 0 && failures >= a {
			return fmt.Errorf("%s: gave up after %d failed attempt(s): %w", s.spec, failures, err)
		}
		pos = *ss.pos.Load()
		if s.spec.Kind == File && ss.opened.Load() {
			pos.index++ // skip the frame that could not be read
		}
		delay := retry.NextBackOff()
		s.log.Warn("source lost, reopening", "err", err, "failures", failures, "retry_in", delay)
		s.reconnect.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// backOff is the delay before each reopening: Min, doubling with each
// failure in a row up to Max, without jitter (one box, one camera: no
// crowd to spread out).
func (r Retry) backOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: r.Min, Multiplier: 2, MaxInterval: r.Max}
}

// supervise waits for a session to end, and gives up on a live one that
// shows no sign of life for Stall (OpenCV may block in open or read for
// half a minute).
func (s *Source) supervise(ctx context.Context, ss *session) error {
	var tick <-chan time.Time
	if s.spec.Kind.Live() {
		t := time.NewTicker(max(s.opts.Stall/4, 10*time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ss.done:
			return ss.err
		case <-ctx.Done():
			close(ss.quit)
			if !s.spec.Kind.Live() {
				<-ss.done // a file read returns promptly
			}
			return ctx.Err()
		case <-tick:
			idle := time.Since(time.Unix(0, ss.activity.Load()))
			if idle > s.opts.Stall {
				close(ss.quit)
				if ss.opened.Load() {
					return fmt.Errorf("no frame for %v: stalled", idle.Round(time.Millisecond))
				}
				return fmt.Errorf("opening took more than %v: no answer", s.opts.Stall)
			}
		}
	}
}

// read is a session's goroutine: open, then read frames until the source
// ends, fails, or Run stops waiting.
func (s *Source) read(ctx context.Context, ss *session, out chan<- *frame.Frame, from position) {
	defer s.sessions.Done()
	defer close(ss.done)
	var (
		r   reader
		err error
	)
	switch s.spec.Kind {
	case Folder:
		r, err = openFolder(s.spec, s.opts, from.after)
	case CSI, Pipeline:
		var desc string
		if desc, err = gstDescription(s.spec, s.stack, s.opts); err == nil {
			r, err = openGst(desc, s.opts, ss.quit)
		}
	default:
		r, err = openVideo(s.spec, s.opts, from.index)
	}
	if err != nil {
		ss.err = err
		return
	}
	defer func() {
		r.close()
		s.log.Debug("connection closed")
	}()
	ss.opened.Store(true)
	ss.activity.Store(time.Now().UnixNano())
	if ss.quitting() {
		return
	}
	s.log.Info("source open", "format", r.info())
	live := s.spec.Kind.Live()
	dropping := live || s.opts.Realtime
	t0, i0 := time.Now(), r.index()
	get := s.pool.Get
	for {
		if ss.quitting() {
			return
		}
		if s.opts.Realtime && !live {
			due := t0.Add(time.Duration(float64(r.index()-i0) / r.rate() * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ss.quit:
					return
				}
			}
		}
		// A live frame is numbered once it is read (or skipped): a read
		// that fails leaves no gap in the numbers.
		seq := int64(r.index())
		if dropping && cap(out) > 0 && len(out) >= cap(out) {
			// The pipeline is busy: pass over the frame without decoding it.
			if err := r.skip(); err != nil {
				if !errors.Is(err, io.EOF) {
					ss.err = err
				}
				return
			}
			if live {
				s.seq.Add(1)
			}
			s.dropped.Add(1)
			ss.activity.Store(time.Now().UnixNano())
			s.setPos(ss, r)
			continue
		}
		img, err := r.next(get)
		if errors.Is(err, errUnreadable) {
			s.unreadable.Add(1)
			s.log.Warn("frame skipped", "err", err)
			s.setPos(ss, r)
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				ss.err = err
			}
			return
		}
		if live {
			seq = s.seq.Add(1) - 1
		}
		now := time.Now()
		ss.activity.Store(now.UnixNano())
		if ss.frames.Add(1) == 1 {
			s.problem.Store(nil) // frames flow again
		}
		s.setPos(ss, r)
		t := now
		if !live {
			t = s.opts.Timeline.TimeOf(int(seq), r.rate(), s.start)
		}
		pix := img.Pix
		f := frame.NewFrame(img, seq, t, func() { s.pool.Put(pix) })
		f.Dropped = s.dropped.Load()
		f.Source = s.spec.String()
		f.Live = dropping
		s.deliver(ctx, ss, out, f, !dropping)
	}
}

func (s *Source) setPos(ss *session, r reader) {
	p := &position{index: r.index()}
	if fr, ok := r.(*folderReader); ok {
		p.after = fr.last
	}
	ss.pos.Store(p)
}

// deliver sends f on out: waiting for the consumer if block is set (a
// recording read losslessly), else dropping f if the consumer is busy.
func (s *Source) deliver(ctx context.Context, ss *session, out chan<- *frame.Frame, f *frame.Frame, block bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		f.Release()
		return
	}
	if block {
		select {
		case out <- f:
			s.frames.Add(1)
		case <-ctx.Done():
			f.Release()
		case <-ss.quit:
			f.Release()
		}
		return
	}
	select {
	case out <- f:
		s.frames.Add(1)
	default:
		f.Release()
		s.dropped.Add(1)
	}
}
