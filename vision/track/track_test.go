package track

import (
	"image"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"joren/vision/quality"
	"joren/vocab"
)

// model is a small test model: nothing in the tracker may assume dlib's
// dimension.
var model = vocab.Model{Name: "test", Dim: 8, Metric: vocab.Euclidean, Threshold: 0.4}

const fps = 15

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func at(frame int) time.Time { return t0.Add(time.Duration(frame) * time.Second / fps) }

// world simulates people in front of the camera: their face boxes per
// frame and descriptors near each person's own point.
type world struct {
	t      *testing.T
	tr     *Tracker
	rng    *rand.Rand
	people map[string][]float32
	visits []Visit
}

func newWorld(t *testing.T, cfg Config) *world {
	if cfg.Entropy == nil {
		cfg.Entropy = rand.NewChaCha8([32]byte{1})
	}
	return &world{t: t, tr: New(model, cfg), rng: rand.New(rand.NewPCG(2, 2)), people: map[string][]float32{}}
}

// descriptor of person p: their point plus a little noise (frames of one
// passage differ by about 0.05).
func (w *world) descriptor(p string) []float32 {
	base, ok := w.people[p]
	if !ok {
		base = make([]float32, model.Dim)
		for i := range base {
			base[i] = float32(w.rng.NormFloat64()) // people are about 4 apart
		}
		w.people[p] = base
	}
	d := make([]float32, model.Dim)
	for i := range d {
		d[i] = base[i] + float32(w.rng.NormFloat64()*0.02)
	}
	return d
}

type face struct {
	person string
	box    image.Rectangle
	q      float64 // quality score; <= 0: rejected as blurred
}

// frame feeds one frame's faces, describes those the tracker wants, and
// collects due visits. It returns the track ID of each face.
func (w *world) frame(n int, faces ...face) []string {
	w.t.Helper()
	dets := make([]Detection, len(faces))
	for i, f := range faces {
		a := quality.Assessment{Width: f.box.Dx(), Score: f.q}
		if f.q <= 0 {
			a.Reject = quality.Blurred
		}
		dets[i] = Detection{Box: f.box, Quality: a}
	}
	ids := w.tr.Update(at(n), dets)
	for i, f := range faces {
		if dets[i].Quality.Worth() && w.tr.Wants(ids[i], f.q, at(n)) {
			id, err := w.tr.Describe(ids[i], w.descriptor(f.person), f.q, at(n))
			if err != nil {
				w.t.Fatal(err)
			}
			ids[i] = id
		}
	}
	w.visits = append(w.visits, w.tr.Expire(at(n))...)
	return ids
}

func (w *world) idle(from, to int) {
	for n := from; n < to; n++ {
		w.frame(n)
	}
}

func (w *world) flush() []Visit {
	w.visits = append(w.visits, w.tr.Flush()...)
	return w.visits
}

// walk moves a 120-pixel face from x0 to x1 over frames [from, to), its
// quality rising from 0.3 to 0.9.
func walk(person string, from, to, x0, x1, y int) func(n int) (face, bool) {
	return func(n int) (face, bool) {
		if n < from || n >= to {
			return face{}, false
		}
		f := float64(n-from) / float64(max(1, to-from-1))
		x := x0 + int(f*float64(x1-x0))
		return face{person: person, box: image.Rect(x, y, x+120, y+120), q: 0.3 + 0.6*f}, true
	}
}

func (w *world) play(from, to int, walkers ...func(int) (face, bool)) {
	for n := from; n < to; n++ {
		var fs []face
		for _, wk := range walkers {
			if f, ok := wk(n); ok {
				fs = append(fs, f)
			}
		}
		w.frame(n, fs...)
	}
}

// personOf tells whose descriptors a visit holds (all must be one
// person's).
func (w *world) personOf(v Visit) string {
	who := ""
	for _, d := range v.Descriptors {
		best, bd := "", 1e9
		for p := range w.people {
			if dist := model.Distance(d, w.people[p]); dist < bd {
				best, bd = p, dist
			}
		}
		if who != "" && best != who {
			w.t.Errorf("visit %s mixes %s and %s", v.ID, who, best)
		}
		who = best
	}
	return who
}

func TestOnePassage(t *testing.T) {
	w := newWorld(t, Config{})
	w.idle(0, 10)
	w.play(10, 40, walk("ann", 10, 40, 50, 400, 100))
	w.idle(40, 80)
	vs := w.flush()
	if len(vs) != 1 {
		t.Fatalf("%d visits, want 1", len(vs))
	}
	v := vs[0]
	if !v.Start.Equal(at(10)) || !v.End.Equal(at(39)) || v.Faces != 30 {
		t.Errorf("start %v end %v faces %d", v.Start, v.End, v.Faces)
	}
	if len(v.Descriptors) != 3 || !v.Usable() || w.personOf(v) != "ann" {
		t.Errorf("%d descriptors of %q", len(v.Descriptors), w.personOf(v))
	}
	// Best first, and the best is from the end of the walk (quality rises).
	if v.Quality < 0.85 || v.Model.ID() != model.ID() || v.MinFace != 120 || v.MaxFace != 120 {
		t.Errorf("quality %.2f model %s faces %d-%d", v.Quality, v.Model.ID(), v.MinFace, v.MaxFace)
	}
	id, err := ulid.Parse(v.ID)
	if err != nil || ulid.Time(id.Time()).UnixMilli() != at(10).UnixMilli() {
		t.Errorf("ID %s is not a ULID of the visit's start: %v", v.ID, err)
	}
	// The visit came when the track ended plus Linger, not at the flush.
	if st := w.tr.Stats(); st.Visits != 1 || st.Tracks != 1 || st.Discarded != 0 {
		t.Errorf("%+v", st)
	}
}

func TestVisitTiming(t *testing.T) {
	w := newWorld(t, Config{Gap: 400 * time.Millisecond, Linger: 600 * time.Millisecond})
	w.play(0, 20, walk("ann", 0, 20, 0, 200, 0))
	for n := 20; n < 60; n++ {
		w.frame(n)
		if len(w.visits) > 0 {
			// Last face at frame 19; due after Gap + Linger = 1 s = 15 frames.
			if n != 35 {
				t.Errorf("visit reported at frame %d, want 35", n)
			}
			return
		}
	}
	t.Fatal("no visit before the flush")
}

func TestTwoTogether(t *testing.T) {
	w := newWorld(t, Config{})
	w.play(0, 30, walk("ann", 0, 30, 0, 150, 100), walk("bob", 5, 35, 500, 350, 120))
	w.play(30, 35, walk("bob", 5, 35, 500, 350, 120))
	w.idle(35, 80)
	// Carol passes alone later.
	w.play(80, 100, walk("carol", 80, 100, 100, 300, 100))
	vs := w.flush()
	if len(vs) != 3 {
		t.Fatalf("%d visits, want 3", len(vs))
	}
	byPerson := map[string]Visit{}
	for _, v := range vs {
		byPerson[w.personOf(v)] = v
	}
	ann, bob, carol := byPerson["ann"], byPerson["bob"], byPerson["carol"]
	if !slices.Equal(ann.Together, []string{bob.ID}) || !slices.Equal(bob.Together, []string{ann.ID}) {
		t.Errorf("ann together %v, bob together %v (ann %s, bob %s)", ann.Together, bob.Together, ann.ID, bob.ID)
	}
	if len(carol.Together) != 0 {
		t.Errorf("carol was alone: %v", carol.Together)
	}
}

func TestCrossingPeopleStayApart(t *testing.T) {
	// Two faces cross paths: boxes overlap for a few frames.
	w := newWorld(t, Config{})
	w.play(0, 40, walk("ann", 0, 40, 0, 500, 100), walk("bob", 0, 40, 500, 0, 110))
	vs := w.flush()
	if len(vs) < 2 {
		t.Fatalf("%d visits", len(vs))
	}
	seen := map[string]int{}
	for _, v := range vs {
		if v.Usable() {
			seen[w.personOf(v)]++
		}
	}
	if seen["ann"] < 1 || seen["bob"] < 1 {
		t.Errorf("visits per person %v", seen)
	}
}

func TestShortGapBridged(t *testing.T) {
	w := newWorld(t, Config{})
	wk := walk("ann", 0, 40, 0, 300, 100)
	for n := 0; n < 40; n++ {
		if n >= 15 && n < 19 { // four frames without the face (267 ms)
			w.frame(n)
			continue
		}
		f, _ := wk(n)
		w.frame(n, f)
	}
	if vs := w.flush(); len(vs) != 1 || vs[0].Faces != 36 {
		t.Fatalf("%d visits %+v", len(vs), vs)
	}
}

// A stalled pipeline drops frames: a face it had no time to look at has
// not left. Frames that keep coming without the face still end the track.
func TestStallIsNotAGap(t *testing.T) {
	cases := []struct {
		name   string
		stall  int // frames dropped in the middle of the passage
		absent int // then frames without the face
		visits int
	}{
		{"short stall", 8, 0, 1},        // 0.53 s
		{"long stall", 30, 0, 1},        // 2 s: the CPU was starved
		{"stall, then away", 30, 12, 2}, // 0.8 s of frames without the face
		{"away", 0, 12, 2},
		// 15 s: no stall but a break (a recording's timeline skips, a
		// camera reopened): it ends the track.
		{"break", 225, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// No descriptors: a continuation by descriptor cannot hide a
			// track that ended.
			w := newWorld(t, Config{})
			box := image.Rect(100, 100, 220, 220)
			n := 0
			for ; n < 20; n++ {
				w.tr.Update(at(n), []Detection{{Box: box}})
				w.visits = append(w.visits, w.tr.Expire(at(n))...)
			}
			n += c.stall
			for range c.absent {
				w.frame(n)
				n++
			}
			for end := n + 20; n < end; n++ {
				w.tr.Update(at(n), []Detection{{Box: box}})
				w.visits = append(w.visits, w.tr.Expire(at(n))...)
			}
			if vs := w.flush(); len(vs) != c.visits {
				t.Fatalf("%d visits, want %d: %+v", len(vs), c.visits, vs)
			}
		})
	}
}

// Two people in view together, then the recording's timeline skips to
// the next passage while the second is still open: the second's visit
// still names the first's, reported before the skip.
func TestTogetherAcrossABreak(t *testing.T) {
	w := newWorld(t, Config{})
	a, b := walk("ann", 0, 20, 0, 200, 50), walk("bob", 10, 30, 400, 200, 300)
	w.play(0, 31, a, b)
	w.idle(31+fps*1800, 31+fps*1800+30) // half an hour later
	vs := w.flush()
	if len(vs) != 2 || !slices.Contains(vs[1].Together, vs[0].ID) || !slices.Contains(vs[0].Together, vs[1].ID) {
		t.Fatalf("visits %+v: want two, naming each other", vs)
	}
}

// Across a stall, a face is linked to a track by position only on trust:
// someone else who stepped where the track's face was going is told apart
// by a descriptor farther than Merge, even when it is under Split.
func TestStallRelinkChecked(t *testing.T) {
	w := newWorld(t, Config{})
	w.descriptor("ann")
	bob := slices.Clone(w.people["ann"])
	bob[0] += 0.5 // between Merge (0.4) and Split (0.6) from ann
	w.people["bob"] = bob
	ann, stranger := walk("ann", 0, 20, 0, 190, 100), walk("bob", 35, 60, 340, 500, 100)
	w.play(0, 20, ann)
	// 1 s stalled: no frames. Bob appears where ann was heading.
	w.play(35, 60, stranger)
	vs := w.flush()
	if len(vs) != 2 {
		t.Fatalf("%d visits: want ann's and bob's", len(vs))
	}
	for i, want := range []string{"ann", "bob"} {
		if who := w.personOf(vs[i]); who != want {
			t.Errorf("visit %d is %s's, want %s's", i, who, want)
		}
	}
}

// A face seen once is noise however long the tracker waits for it: a
// stall that keeps its track open past MaxDuration reports no visit.
func TestOneFaceNeverAVisit(t *testing.T) {
	w := newWorld(t, Config{MaxDuration: 5 * time.Second})
	w.frame(0, face{person: "ann", box: image.Rect(100, 100, 220, 220), q: 0.9})
	w.frame(6 * fps) // 6 s later: a stall, not a break
	if vs := w.flush(); len(vs) != 0 {
		t.Fatalf("visits %+v from one face", vs)
	}
}

// Frame times that run back (a camera's clock stepped) count nothing and
// end nothing.
func TestTimeRunsBack(t *testing.T) {
	w := newWorld(t, Config{})
	box := image.Rect(100, 100, 220, 220)
	for _, n := range []int{0, 1, 2, 3, -100, -99, 4, 5, 6} {
		w.tr.Update(at(n), []Detection{{Box: box}})
		w.visits = append(w.visits, w.tr.Expire(at(n))...)
	}
	if vs := w.flush(); len(vs) != 1 || vs[0].Faces != 9 {
		t.Fatalf("%d visits %+v", len(vs), vs)
	}
}

func TestFastFaceWithDroppedFrames(t *testing.T) {
	// Only every fourth frame arrives and the face moves 60 px per frame:
	// boxes of consecutive arrivals do not overlap enough, centres do.
	w := newWorld(t, Config{})
	wk := walk("ann", 0, 40, 0, 600, 100)
	for n := 0; n < 40; n += 4 {
		f, _ := wk(n)
		w.frame(n, f)
	}
	if vs := w.flush(); len(vs) != 1 {
		t.Fatalf("%d visits", len(vs))
	}
}

func TestContinuedByDescriptor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second string
		want   int
	}{
		{"same person back", "ann", 1},
		{"someone else", "bob", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Config{Gap: 300 * time.Millisecond, Linger: 2 * time.Second})
			w.play(0, 20, walk("ann", 0, 20, 0, 100, 100))
			w.idle(20, 30) // 670 ms unseen: the track ended
			// The face comes back elsewhere (no overlap with the old box).
			w.play(30, 50, walk(tc.second, 30, 50, 450, 500, 300))
			vs := w.flush()
			if len(vs) != tc.want {
				t.Fatalf("%d visits, want %d", len(vs), tc.want)
			}
			if tc.want == 1 && (vs[0].Faces != 40 || !vs[0].End.Equal(at(49))) {
				t.Errorf("continued visit: faces %d end %v", vs[0].Faces, vs[0].End)
			}
			if st := w.tr.Stats(); (st.Merges == 1) != (tc.want == 1) {
				t.Errorf("%+v", st)
			}
		})
	}
}

func TestSplitOnFarDescriptor(t *testing.T) {
	w := newWorld(t, Config{DescribeEvery: time.Millisecond, MaxDescribed: 100, K: 3})
	// The same box, but the person in it changes at frame 20 (the boxes of
	// two people swapped). Quality keeps rising so descriptors keep coming.
	for n := 0; n < 40; n++ {
		p := "ann"
		if n >= 20 {
			p = "bob"
		}
		w.frame(n, face{person: p, box: image.Rect(100, 100, 220, 220), q: 0.1 + float64(n)/50})
	}
	vs := w.flush()
	if len(vs) != 2 {
		t.Fatalf("%d visits, want 2", len(vs))
	}
	if w.personOf(vs[0]) != "ann" || w.personOf(vs[1]) != "bob" || vs[0].Faces+vs[1].Faces != 40 {
		t.Errorf("visits of %s (%d faces) and %s (%d faces)", w.personOf(vs[0]), vs[0].Faces, w.personOf(vs[1]), vs[1].Faces)
	}
	if w.tr.Stats().Splits != 1 {
		t.Errorf("%+v", w.tr.Stats())
	}
}

func TestNoiseAndPoorFaces(t *testing.T) {
	w := newWorld(t, Config{})
	// A detector mistake: two frames.
	w.frame(0, face{person: "ghost", box: image.Rect(10, 10, 90, 90), q: 0.5})
	w.frame(1, face{person: "ghost", box: image.Rect(10, 10, 90, 90), q: 0.5})
	w.idle(2, 30)
	if len(w.visits) != 0 || w.tr.Stats().Discarded != 1 {
		t.Fatalf("noise gave %d visits, %+v", len(w.visits), w.tr.Stats())
	}
	// A passage with every face blurred: a visit without descriptors,
	// reported as soon as the track ends (nothing can continue it).
	for n := 30; n < 45; n++ {
		w.frame(n, face{person: "dan", box: image.Rect(200, 100, 300, 200), q: 0})
	}
	w.idle(45, 55)
	if len(w.visits) != 1 {
		t.Fatalf("%d visits", len(w.visits))
	}
	v := w.visits[0]
	if v.Usable() || v.Rejected.Blurred != 15 || v.Faces != 15 || v.Quality != 0 {
		t.Errorf("%+v", v)
	}
}

func TestMaxDuration(t *testing.T) {
	w := newWorld(t, Config{MaxDuration: 2 * time.Second})
	// Someone stands in the door for 10 s.
	for n := 0; n < 150; n++ {
		w.frame(n, face{person: "eve", box: image.Rect(200, 100, 320, 220), q: 0.8})
		if n == 29 && len(w.visits) != 0 {
			t.Fatal("reported before MaxDuration")
		}
	}
	if len(w.visits) != 1 || !w.visits[0].Usable() {
		t.Fatalf("%d visits during a long stay", len(w.visits))
	}
	if got := w.visits[0].End.Sub(w.visits[0].Start); got < 2*time.Second || got > 2200*time.Millisecond {
		t.Errorf("early visit spans %v", got)
	}
	w.idle(150, 200)
	if vs := w.flush(); len(vs) != 1 {
		t.Errorf("%d visits in all, want 1", len(vs))
	}
}

func TestWantsBudget(t *testing.T) {
	tr := New(model, Config{K: 2, DescribeEvery: 100 * time.Millisecond, MaxDescribed: 3, Entropy: rand.NewChaCha8([32]byte{3})})
	box := image.Rect(0, 0, 100, 100)
	ids := tr.Update(at(0), []Detection{{Box: box}})
	d := make([]float32, model.Dim)
	steps := []struct {
		frame int
		q     float64
		want  bool
	}{
		{0, 0.5, true},  // first
		{1, 0.6, false}, // 67 ms after the last: too soon
		{2, 0.4, true},  // second of K=2
		{4, 0.4, false}, // no better than the worst kept
		{5, 0.9, true},  // better: third and last of the budget
		{8, 0.99, false},
	}
	for _, s := range steps {
		tr.Update(at(s.frame), []Detection{{Box: box}})
		got := tr.Wants(ids[0], s.q, at(s.frame))
		if got != s.want {
			t.Errorf("frame %d q %.2f: wants %v", s.frame, s.q, got)
		}
		if got {
			if _, err := tr.Describe(ids[0], d, s.q, at(s.frame)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := tr.Describe(ids[0], make([]float32, model.Dim+1), 1, at(9)); err == nil {
		t.Error("a descriptor of another length was accepted")
	}
	if _, err := tr.Describe("nope", d, 1, at(9)); err == nil {
		t.Error("unknown track accepted")
	}
	if tr.Wants("nope", 1, at(9)) {
		t.Error("unknown track wanted")
	}
}

func TestDeterministicIDs(t *testing.T) {
	run := func() []string {
		w := newWorld(t, Config{Entropy: rand.NewChaCha8([32]byte{9})})
		w.play(0, 20, walk("ann", 0, 20, 0, 100, 100), walk("bob", 0, 20, 400, 500, 100))
		var ids []string
		for _, v := range w.flush() {
			ids = append(ids, v.ID)
		}
		return ids
	}
	a, b := run(), run()
	if len(a) != 2 || !slices.Equal(a, b) || a[0] == a[1] {
		t.Errorf("%v vs %v", a, b)
	}
}

// TestVisitsInStartOrder: a short passage that starts after a long one
// ends first, but its visit waits, so that visits come in time order.
func TestVisitsInStartOrder(t *testing.T) {
	w := newWorld(t, Config{})
	long := walk("ann", 0, 90, 0, 300, 100)
	short := walk("bob", 10, 25, 500, 450, 100)
	for n := 0; n < 90; n++ {
		w.play(n, n+1, long, short)
		if n == 60 && len(w.visits) != 0 {
			t.Fatalf("bob's visit left before ann's, which started earlier")
		}
	}
	w.idle(90, 120)
	if len(w.visits) != 2 {
		t.Fatalf("%d visits", len(w.visits))
	}
	if w.personOf(w.visits[0]) != "ann" || w.personOf(w.visits[1]) != "bob" || w.visits[1].Start.Before(w.visits[0].Start) {
		t.Errorf("visits of %s then %s", w.personOf(w.visits[0]), w.personOf(w.visits[1]))
	}
	if !slices.Equal(w.visits[1].Together, []string{w.visits[0].ID}) {
		t.Errorf("together %v", w.visits[1].Together)
	}
}
