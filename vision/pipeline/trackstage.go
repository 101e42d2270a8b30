package pipeline

import (
	"context"
	"time"

	"joren/vision"
	"joren/vision/track"
)

// trackStage links faces into tracks, describes the best faces, and
// reports visits.
type trackStage struct {
	p  *Pipeline
	tr *track.Tracker
	// drain is done when sends must give up: Config.Drain after the
	// pipeline was stopped.
	drain context.Context
	// last is the time of the last observation and free when the stage
	// was done with it: for live sources the tracker's clock keeps
	// running while the camera is silent (a camera that stops sending
	// must not keep a visit open).
	last time.Time
	free time.Time
	live bool
}

func newTrackStage(p *Pipeline, drain context.Context) *trackStage {
	return &trackStage{p: p, tr: track.New(p.desc.Model(), p.cfg.Track), drain: drain}
}

// Run handles observations until in is closed or ctx is done, then
// reports the visits of the tracks still open (the people in view when the
// pipeline stops still get their visits) and closes out. What detect still
// had in hand when ctx was done is dropped: the visits go at once.
func (t *trackStage) Run(ctx context.Context, in <-chan observation, out chan<- track.Visit) error {
	defer close(out)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			t.emit(out, t.tr.Flush())
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
		case obs, ok := <-in:
			if !ok {
				t.emit(out, t.tr.Flush())
				return nil
			}
			begin := time.Now()
			due := t.handle(obs)
			t.free = time.Now()
			t.p.n.trackBusy.Add(int64(t.free.Sub(begin)))
			if !t.emit(out, due) {
				t.lose(t.tr.Flush())
				return ctx.Err()
			}
		case <-tick.C:
			if quiet, ok := t.quiet(); ok {
				if !t.emit(out, t.tr.Expire(t.last.Add(quiet))) {
					t.lose(t.tr.Flush())
					return ctx.Err()
				}
			}
		}
	}
}

// quiet tells how long a live camera has been silent: both stages wait
// for it. While detect works on a frame the pipeline is stalled, not the
// camera silent: the frames it drops meanwhile end no track (the tracker
// counts such steps short), and neither must the clock here.
func (t *trackStage) quiet() (time.Duration, bool) {
	waiting := t.p.waiting.Load()
	if !t.live || t.last.IsZero() || waiting == 0 {
		return 0, false
	}
	return time.Since(later(time.Unix(0, waiting), t.free)), true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (t *trackStage) handle(obs observation) []track.Visit {
	t.last, t.live = obs.time, obs.live
	dets := make([]track.Detection, len(obs.faces))
	for i, s := range obs.faces {
		dets[i] = track.Detection{Box: s.box, Quality: s.q}
	}
	ids := t.tr.Update(obs.time, dets)
	if obs.preview != nil {
		t.p.cfg.Preview.Frame(*obs.preview, obs.time, dets, ids)
	}
	var described map[int][]float32 // this frame's descriptors, for the sampler
	for i, s := range obs.faces {
		if s.crop == nil || !t.tr.Wants(ids[i], s.q.Score, obs.time) {
			continue
		}
		face, err := t.describe(s)
		if err != nil {
			// One face that dlib cannot describe is no reason to stop
			// watching the door.
			t.p.log.Warn("describing a face failed", "frame", obs.seq, "err", err)
			continue
		}
		t.p.n.described.Add(1)
		if t.p.cfg.Sampler != nil {
			if described == nil {
				described = map[int][]float32{}
			}
			described[i] = face.Descriptor
		}
		id, err := t.tr.Describe(ids[i], face.Descriptor, s.q.Score, obs.time)
		if err != nil {
			t.p.log.Warn("tracking a descriptor failed", "frame", obs.seq, "err", err)
			continue
		}
		if t.p.cfg.Debug != nil {
			t.p.cfg.Debug.Face(id, *s.crop, s.q)
		}
	}
	t.sample(obs, ids, described)
	return t.tr.Expire(obs.time)
}

// emit sends visits on out, and tells whether it could: a send gives up
// once the drain is over (the pipeline was stopped and its consumer does
// not read any more), and the visits not sent are counted as lost.
func (t *trackStage) emit(out chan<- track.Visit, vs []track.Visit) bool {
	t.p.n.discarded.Store(int64(t.tr.Stats().Discarded))
	for i, v := range vs {
		t.p.n.visits.Add(1)
		if v.Usable() {
			t.p.n.usable.Add(1)
		}
		t.p.log.Debug("visit", "visit", v.ID, "start", v.Start, "faces", v.Faces, "descriptors", len(v.Descriptors), "quality", v.Quality)
		if t.p.cfg.Debug != nil {
			t.p.cfg.Debug.Visit(v)
		}
		select {
		case out <- v:
		case <-t.drain.Done():
			t.lose(vs[i:])
			return false
		}
	}
	return true
}

// lose counts visits that will not be handed over.
func (t *trackStage) lose(vs []track.Visit) {
	if len(vs) == 0 {
		return
	}
	t.p.n.lost.Add(int64(len(vs)))
	t.p.log.Warn("visits not handed over: the pipeline was stopped and nothing read them", "lost", len(vs), "waited", t.p.cfg.Drain)
}

// describe computes the descriptor of a face worth one: aligned on its
// five landmarks if the detector gave them (Run checked that the
// describer can), else as the describer finds its landmarks.
func (t *trackStage) describe(s seen) (vision.Face, error) {
	if s.five != nil {
		return t.p.desc.(FiveDescriber).DescribeFive(s.crop.Image, s.crop.Box, *s.five)
	}
	return t.p.desc.Describe(s.crop.Image, s.crop.Box)
}
