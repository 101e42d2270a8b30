package installer

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"time"

	"joren/vision/frame"
	"joren/vision/track"
)

// LiveOptions tune a Live. Zero values take the defaults.
type LiveOptions struct {
	// Interval is the least time between two frames copied (default
	// 250 ms: four frames a second, enough to aim a camera).
	Interval time.Duration
	// Watch is how long after the page last asked for a frame frames are
	// still copied (default 3 s); after that the last frame is dropped.
	Watch time.Duration
	// MaxWidth is the widest JPEG sent (default 640: enough to aim a
	// camera, and cheap enough to encode four times a second on a
	// Raspberry Pi while the pipeline runs): wider frames are shrunk by a
	// whole factor.
	MaxWidth int
	// Quality is the JPEG quality (default 75).
	Quality int
}

// Live is the live view the pipeline feeds: it implements the pipeline's
// Preview hook (Wants, Frame) and the page's LiveView (Snapshot). It asks
// the pipeline for a frame only while the page is asking it for frames,
// at most one every Interval; otherwise a frame costs the pipeline an
// atomic load. It keeps the newest frame only, in memory, and encodes it
// once, when the page first asks for it. Snapshots share their faces and
// JPEG: read them, do not change them.
type Live struct {
	opt LiveOptions
	now func() time.Time

	watched    atomic.Bool  // the page asked within Watch (or Wants has not noticed yet)
	watchUntil atomic.Int64 // unix ns: until when frames are wanted
	lastWanted atomic.Int64 // unix ns: when a frame was last wanted
	held       atomic.Bool  // a frame is held

	mu    sync.Mutex
	cur   *liveFrame
	seq   int64
	coded *liveFrame // the frame last encoded
	jpeg  []byte
}

type liveFrame struct {
	seq     int64
	im      frame.Image
	at, got time.Time
	faces   []Face
}

// NewLive makes a live view.
func NewLive(opt LiveOptions) *Live {
	if opt.Interval <= 0 {
		opt.Interval = 250 * time.Millisecond
	}
	if opt.Watch <= 0 {
		opt.Watch = 3 * time.Second
	}
	if opt.MaxWidth <= 0 {
		opt.MaxWidth = 640
	}
	if opt.Quality <= 0 || opt.Quality > 100 {
		opt.Quality = 75
	}
	return &Live{opt: opt, now: time.Now}
}

// Wants tells the pipeline whether to copy the frame it is processing: yes
// while the page watches, once per Interval. When nobody has watched for
// Watch, it also drops the frame held.
func (l *Live) Wants() bool {
	if !l.watched.Load() {
		return false // the usual case: one atomic load, not even a clock
	}
	now := l.now().UnixNano()
	if now > l.watchUntil.Load() {
		l.watched.Store(false)
		if l.held.Load() {
			l.drop()
		}
		// The page may have asked again meanwhile.
		if now <= l.watchUntil.Load() {
			l.watched.Store(true)
		}
		return false
	}
	last := l.lastWanted.Load()
	if now-last < int64(l.opt.Interval) {
		return false
	}
	return l.lastWanted.CompareAndSwap(last, now)
}

// Frame keeps a frame the pipeline copied for the view, with its faces.
func (l *Live) Frame(im frame.Image, at time.Time, faces []track.Detection, tracks []string) {
	if im.Check() != nil {
		return
	}
	f := &liveFrame{im: im, at: at, got: l.now(), faces: make([]Face, len(faces))}
	for i, d := range faces {
		f.faces[i] = Face{Box: d.Box, Quality: d.Quality.Score, Passed: d.Quality.Worth(), Reason: string(d.Quality.Reject)}
		if i < len(tracks) {
			f.faces[i].Track = tracks[i]
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	f.seq = l.seq
	l.cur = f
	l.held.Store(true)
}

// drop forgets the frame held: nobody is watching.
func (l *Live) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur, l.coded, l.jpeg = nil, nil, nil
	l.held.Store(false)
}

// Snapshot returns the newest frame, encoded, and marks the view watched
// for the next Watch.
func (l *Live) Snapshot() (Snapshot, bool) {
	now := l.now()
	l.watchUntil.Store(now.Add(l.opt.Watch).UnixNano())
	l.watched.Store(true)
	l.mu.Lock()
	f := l.cur
	if f == nil {
		l.mu.Unlock()
		return Snapshot{}, false
	}
	data := l.jpeg
	if l.coded != f {
		// Encode outside the lock: Frame, called from the pipeline,
		// must never wait for an encoding.
		data = nil
	}
	l.mu.Unlock()
	if data == nil {
		var err error
		if data, err = encodeJPEG(f.im, l.opt.MaxWidth, l.opt.Quality); err != nil {
			return Snapshot{}, false
		}
		l.mu.Lock()
		if l.cur == f {
			l.coded, l.jpeg = f, data
		}
		l.mu.Unlock()
	}
	return Snapshot{
		Seq: f.seq, Time: f.at, Got: f.got, Width: f.im.Cols, Height: f.im.Rows,
		JPEG: data, Faces: f.faces,
	}, true
}

// encodeJPEG encodes a BGR image, shrunk by the smallest whole factor that
// brings it to maxWidth or less (the mean of each k x k block).
func encodeJPEG(im frame.Image, maxWidth, quality int) ([]byte, error) {
	k := (im.Cols + maxWidth - 1) / maxWidth
	w, h := im.Cols/k, im.Rows/k
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if k == 1 {
		for y := 0; y < h; y++ {
			src := im.Pix[y*im.Step : y*im.Step+3*w]
			dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
			for x := 0; x < w; x++ {
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x+2], src[3*x+1], src[3*x], 255
			}
		}
	} else {
		// Sum k rows of k-pixel blocks, row by row: the frame is read
		// in order, once.
		// Dividing by k*k is multiplying by its inverse in 16.16 fixed
		// point: a division per byte costs more than the sums.
		inv := (1<<16 + k*k - 1) / (k * k)
		sum := make([]int, 3*w)
		for y := 0; y < h; y++ {
			clear(sum)
			for dy := 0; dy < k; dy++ {
				row := im.Pix[(y*k+dy)*im.Step : (y*k+dy)*im.Step+3*w*k]
				for x := 0; x < w; x++ {
					px := row[3*k*x : 3*k*(x+1)]
					b, g, r := sum[3*x], sum[3*x+1], sum[3*x+2]
					for i := 0; i < len(px); i += 3 {
						b += int(px[i])
						g += int(px[i+1])
						r += int(px[i+2])
					}
					sum[3*x], sum[3*x+1], sum[3*x+2] = b, g, r
				}
			}
			dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
			for x := 0; x < w; x++ {
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = uint8(sum[3*x+2]*inv>>16), uint8(sum[3*x+1]*inv>>16), uint8(sum[3*x]*inv>>16), 255
			}
		}
	}
	var buf bytes.Buffer
	buf.Grow(w * h / 8)
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
