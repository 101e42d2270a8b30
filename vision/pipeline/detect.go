package pipeline

import (
	"context"
	"image"
	"time"

	"joren/vision"
	"joren/vision/frame"
	"joren/vision/motion"
	"joren/vision/quality"
)

// detectStage runs the motion gate on every frame and the face detector
// where it matters.
type detectStage struct {
	p        *Pipeline
	gate     *motion.Gate
	recent   []image.Rectangle // faces of the last frame that had any
	recentAt time.Time
	lastFull int64 // the last frame searched wherever something moved
}

func newDetectStage(p *Pipeline) *detectStage {
	return &detectStage{p: p, gate: motion.New(p.cfg.Motion)}
}

// Run processes frames from in until it is closed or ctx is done, and
// closes out. Once ctx is done it stops at the frame in hand: the frames
// still coming are given back to the source, by a goroutine of their own
// (the source closes in once it has stopped, which a camera hung in a read
// may never do).
func (d *detectStage) Run(ctx context.Context, in <-chan *frame.Frame, out chan<- observation) error {
	defer close(out)
	defer func() {
		go func() {
			for f := range in {
				f.Release()
			}
		}()
	}()
	for {
		var f *frame.Frame
		d.p.waiting.Store(time.Now().UnixNano())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case g, ok := <-in:
			if !ok {
				return nil
			}
			f = g
		}
		d.p.waiting.Store(0)
		if ctx.Err() != nil {
			f.Release()
			return ctx.Err()
		}
		begin := time.Now()
		obs, err := d.process(f)
		f.Release()
		d.p.n.detectBusy.Add(int64(time.Since(begin)))
		if err != nil {
			return err
		}
		select {
		case out <- obs:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *detectStage) process(f *frame.Frame) (observation, error) {
	n := &d.p.n
	n.frames.Add(1)
	n.dropped.Store(f.Dropped)
	obs := observation{seq: f.Seq, time: f.Time, live: f.Live}
	if err := f.Check(); err != nil {
		return obs, wrap("reading frame", f.Seq, err)
	}
	if pv := d.p.cfg.Preview; pv != nil && pv.Wants() {
		// A copy: the frame goes back to the source below, the preview
		// is shown later.
		c := f.Image.Clone()
		obs.preview = &c
	}
	m := d.gate.Update(f.Image)
	if m.Moving {
		n.moving.Add(1)
	}
	roi, scale := d.region(f, m)
	if roi.Empty() {
		return obs, nil
	}
	n.searched.Add(1)
	faces, err := d.detect(f.Image, roi, scale)
	if err != nil {
		return obs, wrap("detecting faces", f.Seq, err)
	}
	if len(faces) > 0 {
		d.recent, d.recentAt = d.recent[:0], f.Time
		for _, fc := range faces {
			d.recent = append(d.recent, fc.Box)
		}
	}
	gate := d.p.cfg.Gate
	for _, fc := range faces {
		b := fc.Box
		n.faces.Add(1)
		s := seen{box: b, q: gate.Size(b)}
		if quality.Cuts(b, f.Bounds()) {
			// Part of a face, at the door's side: its descriptor would
			// split the track of the person entering (see quality.Cut).
			s.q.Reject = quality.Cut
		}
		switch {
		case !s.q.Worth():
		case d.p.five != nil:
			// The detector's five points: no shape predictor.
			s.q = gate.AssessFive(f.Image, b, fc.Points)
		default:
			// The shape predictor reads the face and a little around it:
			// hand dlib that part of the frame only, not all of it.
			around := b.Inset(-b.Dx() / 4).Intersect(f.Bounds())
			pts, err := d.p.det.Landmarks(f.Sub(around), b.Sub(around.Min))
			if err != nil {
				return obs, wrap("finding landmarks", f.Seq, err)
			}
			for i := range pts {
				pts[i] = pts[i].Add(around.Min)
			}
			s.q = gate.Assess(f.Image, b, pts)
		}
		if s.q.Worth() {
			n.worth.Add(1)
			c := frame.CropAround(f.Image, b, 0.5)
			s.crop = &c
			if d.p.five != nil {
				five := fc.Points
				for k := range five {
					five[k] = vision.Point{X: five[k].X - float64(c.Origin.X), Y: five[k].Y - float64(c.Origin.Y)}
				}
				s.five = &five
			}
		}
		obs.faces = append(obs.faces, s)
	}
	return obs, nil
}

// fullEvery is how often, in frames, faces are searched for wherever
// something moved while faces are being tracked; in the frames between,
// only around the tracked faces. A newcomer is found at most two frames
// late; the tracked faces cost a third as much to follow.
const fullEvery = 3

// region is where to look for faces, and the scale to shrink it by: where
// something moved, and around the faces seen within Hold; the whole frame
// when that is most of it; nothing when the doorway is still and empty.
// Between full searches, only around the faces being tracked, shrunk as
// far as their size allows.
func (d *detectStage) region(f *frame.Frame, m motion.Result) (image.Rectangle, float64) {
	scale := min(1, float64(d.p.cfg.DetectWidth)/float64(f.Cols))
	tracking := len(d.recent) > 0 && f.Time.Sub(d.recentAt) <= d.p.cfg.Hold
	if tracking && !m.Global && f.Seq-d.lastFull < fullEvery && f.Seq >= d.lastFull {
		var r image.Rectangle
		narrowest := f.Cols
		for _, b := range d.recent {
			r = r.Union(b.Inset(-b.Dx() * 6 / 10))
			narrowest = min(narrowest, b.Dx())
		}
		// HOG finds faces of 80 pixels: shrink faces to about 100.
		return r.Intersect(f.Bounds()), min(1, max(scale, 100/float64(narrowest)))
	}
	var r image.Rectangle
	if m.Moving {
		// The gate's blocks are coarse and a face's edge may lie just
		// outside them; HOG also needs some context around a face.
		r = m.Box.Inset(-max(32, m.Box.Dx()/8))
	}
	if tracking {
		for _, b := range d.recent {
			r = r.Union(b.Inset(-b.Dx()))
		}
	}
	r = r.Intersect(f.Bounds())
	if r.Empty() {
		return r, scale
	}
	d.lastFull = f.Seq
	// HOG's window is 80 pixels: a region must hold at least that.
	if r.Dx() < 100 || r.Dy() < 100 {
		c := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
		r = image.Rect(c.X-60, c.Y-60, c.X+60, c.Y+60).Intersect(f.Bounds())
	}
	if area(r) > 6*area(f.Bounds())/10 {
		r = f.Bounds()
	}
	return r, scale
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// detect runs the detector on region r of im, shrunk by scale, and
// returns the faces in im's pixels, with their five landmarks if the
// detector gives them.
func (d *detectStage) detect(im frame.Image, r image.Rectangle, scale float64) ([]Five, error) {
	var found []Five
	if d.p.five != nil {
		f, err := d.p.five.DetectFive(im.Sub(r), scale)
		if err != nil {
			return nil, err
		}
		found = f
	} else {
		boxes, err := d.p.det.Detect(im.Sub(r), scale)
		if err != nil {
			return nil, err
		}
		found = make([]Five, len(boxes))
		for i, b := range boxes {
			found[i].Box = b
		}
	}
	faces := found[:0]
	for _, f := range found {
		b := f.Box.Add(r.Min).Intersect(im.Bounds())
		if b.Dx() <= 8 || b.Dy() <= 8 {
			continue
		}
		f.Box = b
		for k := range f.Points {
			f.Points[k].X += float64(r.Min.X)
			f.Points[k].Y += float64(r.Min.Y)
		}
		faces = append(faces, f)
	}
	return faces, nil
}
