package track

import (
	"crypto/rand"
	"fmt"
	"image"
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/oklog/ulid/v2"

	"joren/vision/quality"
	"joren/vocab"
)

// Config tunes the tracker. Zero values take the defaults.
type Config struct {
	// K is the number of descriptors a visit keeps, best first (default 3).
	K int
	// Gap is how long a face may go unseen before its track ends (default
	// 500 ms: a few dropped or missed frames never end a track). Time is
	// counted while looking (see MaxStep).
	Gap time.Duration
	// MaxStep is the most a step between two frames counts toward Gap and
	// Linger (default Gap/2): when the pipeline stalls, frames are dropped,
	// and a face unseen while nobody looked has not left.
	MaxStep time.Duration
	// Linger is how long an ended track with descriptors waits for a new
	// track of the same face to continue it before it becomes a visit
	// (default 500 ms: with Gap, a visit comes 1 s after its face was last
	// seen; negative: no wait).
	Linger time.Duration
	// MinFaces is the fewest faces a track needs to be a visit (default 3:
	// a face seen once is more often a detector's mistake than a person).
	MinFaces int
	// MaxDuration bounds how long a visit can wait for its track to end:
	// a track older than this reports its visit at once and ignores the rest
	// of the passage (default 20 s: someone standing in the door).
	MaxDuration time.Duration
	// MinIoU is the least overlap between a track's predicted box and a
	// detection that links them (default 0.2).
	MinIoU float64
	// DescribeEvery spaces the descriptors of one track (default 150 ms):
	// consecutive frames are near copies and their descriptors add nothing.
	DescribeEvery time.Duration
	// MaxDescribed bounds the descriptors computed per track (default 5K).
	MaxDescribed int
	// Merge is the descriptor distance under which a new track continues an
	// ended one (default: the model's same-person threshold).
	Merge float64
	// Split is the descriptor distance above which a track's new descriptor
	// is taken for another person (default 1.5 times the model's
	// threshold: frames of one passage are far closer than two photos of one
	// person).
	Split float64
	// Entropy feeds the random part of visit IDs (default crypto/rand);
	// tests give a seeded source to get the same IDs on every run.
	Entropy io.Reader
}

func (c Config) withDefaults(m vocab.Model) Config {
	if c.K <= 0 {
		c.K = 3
	}
	if c.Gap <= 0 {
		c.Gap = 500 * time.Millisecond
	}
	if c.MaxStep <= 0 {
		c.MaxStep = c.Gap / 2
	}
	if c.Linger < 0 {
		c.Linger = 0
	} else if c.Linger == 0 {
		c.Linger = 500 * time.Millisecond
	}
	if c.MinFaces <= 0 {
		c.MinFaces = 3
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 20 * time.Second
	}
	if c.MinIoU <= 0 {
		c.MinIoU = 0.2
	}
	if c.DescribeEvery <= 0 {
		c.DescribeEvery = 150 * time.Millisecond
	}
	if c.MaxDescribed <= 0 {
		c.MaxDescribed = 5 * c.K
	}
	if c.Merge <= 0 {
		c.Merge = m.Threshold
	}
	if c.Split <= 0 {
		c.Split = 1.5 * m.Threshold
	}
	if c.Entropy == nil {
		c.Entropy = rand.Reader
	}
	return c
}

// Detection is one face found in a frame.
type Detection struct {
	// Box is the face in frame pixels.
	Box image.Rectangle
	// Quality is the quality gate's verdict (its Width at least).
	Quality quality.Assessment
}

// Visit is a finished track: the vocab.Visit the identity store reads,
// and what the installer needs to aim the camera.
type Visit struct {
	vocab.Visit
	// MinFace and MaxFace are the narrowest and widest face seen, pixels.
	MinFace int `json:"min_face"`
	MaxFace int `json:"max_face"`
	// BestScore is the best quality score among all faces of the track,
	// described or not.
	BestScore float64 `json:"best_score"`
	// Rejected counts the faces that got no descriptor, by reason.
	Rejected quality.Rejections `json:"rejected"`
}

// Usable tells whether the visit has a descriptor: visits without one
// (every face too small, blurred or turned) tell the installer something
// but the identity store cannot use them.
func (v Visit) Usable() bool { return len(v.Descriptors) > 0 }

// Stats counts what the tracker did.
type Stats struct {
	Tracks    int // tracks started
	Discarded int // tracks with fewer than MinFaces faces
	Splits    int // tracks split by a far descriptor
	Merges    int // tracks continued from an ended one
	Visits    int // visits reported
}

type scored struct {
	d []float32
	q float64
}

type track struct {
	id                string
	start, seen, prev time.Time
	// seenL and prevL are seen and prev on the tracker's look clock.
	seenL, prevL     time.Duration
	box              image.Rectangle
	vx, vy           float64 // pixels per second
	faces            int
	descs            []scored // best first, at most K
	described        int
	lastDescribed    time.Time
	rejected         quality.Rejections
	minFace, maxFace int
	bestScore        float64
	reported         bool // its visit was reported early (MaxDuration)
	ended            bool
	closed           bool // split: it takes no more faces
	// relinked: a face was linked to it by position across a stall (a
	// step longer than Gap); its next descriptor must be as close as a
	// continuation's (Merge), not merely under Split, or it is someone
	// else who stepped where the track's face was going.
	relinked bool
}

type span struct {
	id         string
	start, end time.Time
}

// Tracker turns detections into visits. Not safe for concurrent use: one
// goroutine feeds it frames in time order.
type Tracker struct {
	cfg     Config
	model   vocab.Model
	entropy io.Reader
	live    []*track // seen within Gap, or reported early and still seen
	ended   []*track // waiting Linger for a continuation
	held    []Visit  // due, waiting for tracks that started earlier
	done    []span   // reported visits, kept for Together
	clock   lookClock
	stats   Stats
}

// New makes a tracker for descriptors of model m.
func New(m vocab.Model, cfg Config) *Tracker {
	cfg = cfg.withDefaults(m)
	return &Tracker{cfg: cfg, model: m, entropy: ulid.Monotonic(cfg.Entropy, 0), clock: lookClock{maxStep: cfg.MaxStep}}
}

// Config returns the settings in use, defaults filled in.
func (t *Tracker) Config() Config { return t.cfg }

// Stats returns the counts so far.
func (t *Tracker) Stats() Stats { return t.stats }

// Live is the number of tracks whose face was seen within Gap.
func (t *Tracker) Live() int { return len(t.live) }

func (t *Tracker) newID(at time.Time) string {
	id, err := ulid.New(ulid.Timestamp(at), t.entropy)
	if err != nil { // the monotonic source overflowed within one millisecond
		id = ulid.MustNew(ulid.Timestamp(at), rand.Reader)
	}
	return id.String()
}

func (tr *track) predict(at time.Time) image.Rectangle {
	dt := at.Sub(tr.seen).Seconds()
	return tr.box.Add(image.Pt(int(math.Round(tr.vx*dt)), int(math.Round(tr.vy*dt))))
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

func centre(r image.Rectangle) (float64, float64) {
	return float64(r.Min.X+r.Max.X) / 2, float64(r.Min.Y+r.Max.Y) / 2
}

// similarity scores how well detection box d continues a track predicted
// at p: the overlap, or a small positive number when only the centres are
// close (a fast face or dropped frames) and the sizes agree; 0 for no link.
func (t *Tracker) similarity(p, d image.Rectangle) float64 {
	if s := iou(p, d); s >= t.cfg.MinIoU {
		return s
	}
	px, py := centre(p)
	dx, dy := centre(d)
	w := float64(max(p.Dx(), d.Dx()))
	dist := math.Hypot(px-dx, py-dy)
	ratio := float64(d.Dx()) / float64(max(1, p.Dx()))
	if dist < w && ratio > 0.6 && ratio < 1.6 {
		return t.cfg.MinIoU * (1 - dist/w) * 0.99
	}
	return 0
}

// Update links the detections of the frame taken at at to tracks, starting
// new tracks for the others, and returns each detection's track ID.
func (t *Tracker) Update(at time.Time, dets []Detection) []string {
	type pair struct {
		ti, di int
		s      float64
	}
	var pairs []pair
	now := t.clock.advance(at)
	for ti, tr := range t.live {
		if tr.closed || now-tr.seenL > t.cfg.Gap {
			continue
		}
		p := tr.predict(at)
		for di, d := range dets {
			if s := t.similarity(p, d.Box); s > 0 {
				pairs = append(pairs, pair{ti, di, s})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	ids := make([]string, len(dets))
	used := make([]bool, len(t.live))
	for _, p := range pairs {
		if used[p.ti] || ids[p.di] != "" {
			continue
		}
		used[p.ti] = true
		tr := t.live[p.ti]
		ids[p.di] = tr.id
		t.observe(tr, at, dets[p.di])
	}
	for di, d := range dets {
		if ids[di] != "" {
			continue
		}
		tr := &track{id: t.newID(at), start: at, seen: at, seenL: now, box: d.Box, minFace: math.MaxInt}
		t.stats.Tracks++
		t.observe(tr, at, d)
		t.live = append(t.live, tr)
		ids[di] = tr.id
	}
	return ids
}

func (t *Tracker) observe(tr *track, at time.Time, d Detection) {
	if tr.faces > 0 {
		if at.Sub(tr.seen) > t.cfg.Gap {
			tr.relinked = true
		}
		if dt := at.Sub(tr.seen).Seconds(); dt > 0 {
			ox, oy := centre(tr.box)
			nx, ny := centre(d.Box)
			// Smoothed speed: boxes jitter by a few pixels from frame to frame.
			tr.vx = 0.5*tr.vx + 0.5*(nx-ox)/dt
			tr.vy = 0.5*tr.vy + 0.5*(ny-oy)/dt
		}
	}
	tr.prev, tr.seen, tr.box = tr.seen, at, d.Box
	tr.prevL, tr.seenL = tr.seenL, t.clock.now
	tr.faces++
	w := d.Box.Dx()
	tr.minFace, tr.maxFace = min(tr.minFace, w), max(tr.maxFace, w)
	tr.bestScore = max(tr.bestScore, d.Quality.Score)
	tr.rejected.Add(d.Quality.Reject)
}

func (t *Tracker) find(id string) *track {
	for _, tr := range t.live {
		if tr.id == id && !tr.closed {
			return tr
		}
	}
	return nil
}

// Wants tells whether a face of quality score q, seen at at on track id, is
// worth describing: the track has fewer than K descriptors or q beats its
// worst, the track's budget is not spent, and its last descriptor is not
// too recent.
func (t *Tracker) Wants(id string, q float64, at time.Time) bool {
	tr := t.find(id)
	if tr == nil || tr.reported || tr.described >= t.cfg.MaxDescribed {
		return false
	}
	if tr.relinked {
		return true // the first face after a stall says whose it is
	}
	if tr.described > 0 && at.Sub(tr.lastDescribed) < t.cfg.DescribeEvery {
		return false
	}
	return len(tr.descs) < t.cfg.K || q > tr.descs[len(tr.descs)-1].q+0.02
}

// Describe gives track id the descriptor d of its face seen at at, of
// quality score q. It returns the ID of the track the face now belongs to:
// another one if d split the track (another person) or continued a track
// that had ended (the same person, back in view).
func (t *Tracker) Describe(id string, d []float32, q float64, at time.Time) (string, error) {
	if err := t.model.Check(d); err != nil {
		return id, fmt.Errorf("descriptor for track %s: %w", id, err)
	}
	tr := t.find(id)
	if tr == nil {
		return id, fmt.Errorf("descriptor for track %s: no such live track", id)
	}
	limit := t.cfg.Split
	if tr.relinked {
		limit = t.cfg.Merge
		tr.relinked = false
	}
	switch {
	case len(tr.descs) > 0 && t.nearest(tr, d) > limit:
		tr = t.split(tr, at)
	case len(tr.descs) == 0:
		if into := t.continued(tr, d); into != nil {
			tr = t.merge(into, tr)
		}
	}
	tr.described++
	tr.lastDescribed = at
	tr.descs = append(tr.descs, scored{d: d, q: q})
	slices.SortStableFunc(tr.descs, func(a, b scored) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(tr.descs) > t.cfg.K {
		tr.descs = tr.descs[:t.cfg.K]
	}
	return tr.id, nil
}

func (t *Tracker) nearest(tr *track, d []float32) float64 {
	best := math.Inf(1)
	for _, s := range tr.descs {
		best = min(best, t.model.Distance(s.d, d))
	}
	return best
}

// split ends tr at its previous face and starts a new track with its last
// one: the face that was just described is someone else's. The old track
// takes no more faces; if its person shows up again elsewhere, their new
// track continues it by descriptor.
func (t *Tracker) split(tr *track, at time.Time) *track {
	nt := &track{id: t.newID(at), start: at, seen: at, seenL: t.clock.now, box: tr.box, faces: 1, minFace: tr.box.Dx(), maxFace: tr.box.Dx(), bestScore: tr.bestScore}
	tr.faces--
	tr.seen, tr.seenL = tr.prev, tr.prevL
	tr.closed = true
	t.live = append(t.live, nt)
	t.stats.Tracks++
	t.stats.Splits++
	return nt
}

// continued finds the ended track that tr, a new track with its first
// descriptor d, continues: the closest one under Merge that ended before
// tr started.
func (t *Tracker) continued(tr *track, d []float32) *track {
	var best *track
	bestD := t.cfg.Merge
	for _, e := range t.ended {
		if len(e.descs) == 0 || !e.seen.Before(tr.start) {
			continue
		}
		if dist := t.nearest(e, d); dist < bestD {
			best, bestD = e, dist
		}
	}
	return best
}

// merge moves the young track tr into the ended track into, which becomes
// live again.
func (t *Tracker) merge(into, tr *track) *track {
	into.seen, into.prev, into.box = tr.seen, tr.prev, tr.box
	into.seenL, into.prevL = tr.seenL, tr.prevL
	into.vx, into.vy = tr.vx, tr.vy
	into.faces += tr.faces
	into.minFace, into.maxFace = min(into.minFace, tr.minFace), max(into.maxFace, tr.maxFace)
	into.bestScore = max(into.bestScore, tr.bestScore)
	into.rejected.Merge(tr.rejected)
	into.ended = false
	t.ended = slices.DeleteFunc(t.ended, func(e *track) bool { return e == into })
	for i, l := range t.live {
		if l == tr {
			t.live[i] = into
		}
	}
	t.stats.Merges++
	return into
}

// Expire ends the tracks unseen for Gap at time at and returns the visits
// that are due: ended tracks past Linger (at once if they have no
// descriptor to be continued by), and tracks older than MaxDuration.
func (t *Tracker) Expire(at time.Time) []Visit {
	var due []*track
	now := t.clock.advance(at)
	keep := t.live[:0]
	for _, tr := range t.live {
		switch {
		case now-tr.seenL <= t.cfg.Gap && !tr.closed:
			if !tr.reported && len(tr.descs) > 0 && tr.faces >= t.cfg.MinFaces && at.Sub(tr.start) >= t.cfg.MaxDuration {
				tr.reported = true
				due = append(due, tr)
			}
			keep = append(keep, tr)
		case tr.faces < t.cfg.MinFaces:
			t.stats.Discarded++
		case tr.reported:
			// Its visit was reported already.
		case len(tr.descs) == 0:
			due = append(due, tr)
		default:
			tr.ended = true
			t.ended = append(t.ended, tr)
		}
	}
	clear(t.live[len(keep):])
	t.live = keep
	waiting := t.ended[:0]
	for _, tr := range t.ended {
		if now-tr.seenL > t.cfg.Gap+t.cfg.Linger {
			due = append(due, tr)
		} else {
			waiting = append(waiting, tr)
		}
	}
	clear(t.ended[len(waiting):])
	t.ended = waiting
	return t.report(due)
}

// Flush ends every track (the stream is over) and returns their visits.
func (t *Tracker) Flush() []Visit {
	var due []*track
	for _, tr := range append(t.live, t.ended...) {
		switch {
		case tr.faces < t.cfg.MinFaces:
			t.stats.Discarded++
		case !tr.reported:
			due = append(due, tr)
		}
	}
	t.live, t.ended = nil, nil
	return t.report(due)
}

// report makes the visits of the due tracks and returns those whose turn
// has come: visits leave in the order their tracks started, so a visit
// waits while a track that started before it is still open (at most
// MaxDuration). Consumers such as the identity store read visits in time
// order.
func (t *Tracker) report(due []*track) []Visit {
	for _, tr := range due {
		v := Visit{
			Visit: vocab.Visit{
				ID:       tr.id,
				Start:    tr.start,
				End:      tr.seen,
				Model:    t.model,
				Faces:    tr.faces,
				Together: t.together(tr, due),
			},
			MinFace:   tr.minFace,
			MaxFace:   tr.maxFace,
			BestScore: tr.bestScore,
			Rejected:  tr.rejected,
		}
		for _, s := range tr.descs {
			v.Descriptors = append(v.Descriptors, s.d)
		}
		if len(tr.descs) > 0 {
			v.Quality = tr.descs[0].q
		}
		t.held = append(t.held, v)
	}
	for _, tr := range due {
		t.done = append(t.done, span{tr.id, tr.start, tr.seen})
	}
	t.prune()
	if len(t.held) == 0 {
		return nil
	}
	slices.SortStableFunc(t.held, func(a, b Visit) int { return a.Start.Compare(b.Start) })
	n := len(t.held)
	for _, tr := range slices.Concat(t.live, t.ended) {
		if tr.reported {
			continue
		}
		// Visits that started after tr wait for it.
		n = min(n, sort.Search(len(t.held), func(i int) bool { return t.held[i].Start.After(tr.start) }))
	}
	out := slices.Clone(t.held[:n])
	t.held = slices.Delete(t.held, 0, n)
	t.stats.Visits += len(out)
	return out
}
