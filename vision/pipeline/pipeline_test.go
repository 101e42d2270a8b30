//go:build cgo

package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/pipeline"
	"joren/vision/track"
)

func TestMatProfileOn(t *testing.T) {
	matleak.Required(t)
}

// TestDoorVideo is the pipeline's main test: on a synthesised door video
// (eleven people, some passing twice, some in pairs, empty stretches in
// between), every passage gives exactly one visit, every visit's
// descriptors are of its passage's person, people passing together are
// two visits that name each other, and nothing comes of the empty
// stretches.
func TestDoorVideo(t *testing.T) {
	fx := setup(t)
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	vs, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	checkDoorVideo(t, fx.personOf, v.truth, vs, p.Stats())
}

// checkDoorVideo checks the visits of the door video (TestDoorVideo),
// personOf naming the person a descriptor shows.
func checkDoorVideo(t *testing.T, personOf func([]float32) (string, float64), tr truth.Truth, vs []track.Visit, st pipeline.Stats) {
	t.Helper()
	t.Logf("%d frames, %d passages, %d visits; %+v", tr.Frames, len(tr.Passages), len(vs), st)
	at := assign(personOf, tr, vs)
	perPassage := make([][]int, len(tr.Passages))
	for i, vi := range vs {
		k := at[i]
		desc := fmt.Sprintf("visit %d (%s to %s, %d faces, %d descriptors, q %.2f, %d-%d px, rejected %+v)",
			i, vi.Start.Format("15:04:05.000"), vi.End.Format("15:04:05.000"), vi.Faces, len(vi.Descriptors), vi.Quality, vi.MinFace, vi.MaxFace, vi.Rejected)
		if k < 0 {
			t.Errorf("%s: during an empty stretch", desc)
			continue
		}
		perPassage[k] = append(perPassage[k], i)
		ps := tr.Passages[k]
		t.Logf("%s: passage %d, %s (%s)", desc, k, ps.Person, ps.Photo)
		if !vi.Usable() {
			t.Errorf("%s: no descriptor", desc)
		}
		for j, d := range vi.Descriptors {
			who, dist := personOf(d)
			if who != ps.Person {
				t.Errorf("%s: descriptor %d is nearest to %s (%.3f), not %s", desc, j, who, dist, ps.Person)
			}
		}
	}
	for k, ps := range tr.Passages {
		if len(perPassage[k]) != 1 {
			t.Errorf("passage %d (%s, frames %d-%d): %d visits %v, want 1", k, ps.Person, ps.First, ps.Last, len(perPassage[k]), perPassage[k])
		}
	}
	// People passing together are two visits naming each other.
	together := 0
	for k, ps := range tr.Passages {
		if len(ps.With) == 0 || len(perPassage[k]) != 1 {
			continue
		}
		me := vs[perPassage[k][0]]
		for _, w := range ps.With {
			if len(perPassage[w]) == 1 {
				together++
				if other := vs[perPassage[w][0]]; !slices.Contains(me.Together, other.ID) {
					t.Errorf("passage %d's visit does not name passage %d's (%s) as together: %v", k, w, other.ID, me.Together)
				}
			}
		}
	}
	if together == 0 {
		t.Error("the video has no passages together: the test proves nothing about them")
	}
	// The gate kept blurred faces out (the video blurs people entering).
	blurred := 0
	for _, vi := range vs {
		blurred += vi.Rejected.Blurred
	}
	if blurred == 0 {
		t.Error("no face was rejected as blurred, yet a quarter of each passage is motion-blurred")
	}
	// Nor were faces cut by the frame's edge described: people enter and
	// leave at its sides.
	cut := 0
	for _, vi := range vs {
		cut += vi.Rejected.Cut
	}
	if cut == 0 {
		t.Error("no face was rejected as cut by the frame's edge, yet every passage enters and leaves at a side")
	}
	// Motion gated the empty stretches: faces were searched for in about
	// the frames with people only.
	busy := 0
	for _, ps := range tr.Passages {
		busy += ps.Leave - ps.Enter + 1
	}
	if st.Searched > int64(busy)+int64(len(tr.Passages))*20 {
		t.Errorf("searched %d frames; people are in %d", st.Searched, busy)
	}
	if st.Frames != int64(tr.Frames) || st.Dropped != 0 {
		t.Errorf("%d frames processed, %d dropped, of %d", st.Frames, st.Dropped, tr.Frames)
	}
}

// TestEmptyDoorway: nothing moves, so nothing is searched and nothing is
// reported.
func TestEmptyDoorway(t *testing.T) {
	v := synth(t, "empty", doorsim.Options{Scenario: doorsim.Empty, Seed: 2})
	matleak.Check(t)
	vs, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if len(vs) != 0 || st.Moving != 0 || st.Searched != 0 || st.Frames != int64(v.truth.Frames) {
		t.Errorf("%d visits; %+v", len(vs), st)
	}
}

// TestCorruptVideo: a video cut in the middle gives the visits before the
// cut, then an error naming the file.
func TestCorruptVideo(t *testing.T) {
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	cut := *v
	cut.path = strings.TrimSuffix(v.path, ".avi") + "-cut.avi"
	if err := copyPrefix(v.path, cut.path, 0.3); err != nil {
		t.Fatal(err)
	}
	vs, _, err := run(t, fileSource(t, &cut, capture.Options{Retry: capture.Retry{Min: 1}}), pipeline.Config{})
	if err == nil || !strings.Contains(err.Error(), cut.path) || !strings.Contains(err.Error(), "truncated or corrupt") {
		t.Fatalf("error %v", err)
	}
	if len(vs) < 2 {
		t.Errorf("%d visits before the cut", len(vs))
	}
	for _, x := range vs {
		if !x.Usable() {
			t.Errorf("visit %s without descriptors", x.ID)
		}
	}
}

// TestVanishedDevice: a camera that does not exist is retried with
// backoff, then given up with an error naming it; no visit, no hang.
func TestVanishedDevice(t *testing.T) {
	matleak.Check(t)
	src, err := capture.Open("/dev/video9", capture.Options{Retry: capture.Retry{Min: 10e6, Attempts: 3}})
	if err != nil {
		t.Fatal(err)
	}
	vs, _, err := run(t, src, pipeline.Config{})
	if err == nil || !strings.Contains(err.Error(), "/dev/video9 does not exist") || len(vs) != 0 {
		t.Fatalf("%d visits, error %v", len(vs), err)
	}
}

// silentCamera replays the first frames of a video as a live camera would
// (wall-clock times, 15 a second), then sends nothing more without
// closing: a camera that hangs.
type silentCamera struct {
	src    *capture.Source
	frames int
	sent   chan time.Time // when the last frame was sent
}

func (c *silentCamera) Run(ctx context.Context, out chan<- *frame.Frame) error {
	defer close(out)
	in := make(chan *frame.Frame, 1)
	ctx2, stop := context.WithCancel(ctx)
	defer stop()
	go c.src.Run(ctx2, in)
	n := 0
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for f := range in {
		if n == c.frames {
			f.Release()
			stop()
			continue
		}
		<-tick.C
		f.Time, f.Live = time.Now(), true
		select {
		case out <- f:
		case <-ctx.Done():
			f.Release()
			continue
		}
		n++
		if n == c.frames {
			c.sent <- time.Now()
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestDlibHungCameraEndsVisits: a live camera that stops sending frames
// in the middle of the day must not keep a visit open: the tracker's
// clock keeps running on the wall clock. The camera falls silent while
// the first person's face is in full view, never closing, and their visit
// comes all the same, with dlib's descriptors of them. (Its timing is
// TestHungCameraStillEndsVisits's, on a fake clock. Here the machine may
// be so loaded that frames come further apart than a track's gap, and the
// same clock ends the visit before the camera falls silent: either way no
// frame, and no end of stream, ended it. The two minutes only guard
// against a hang.)
func TestDlibHungCameraEndsVisits(t *testing.T) {
	fx := setup(t)
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	first := v.truth.Passages[0]
	cam := &silentCamera{src: fileSource(t, v, capture.Options{}), frames: first.Last - 3, sent: make(chan time.Time, 1)}
	cfg := pipeline.Config{}
	cfg.Track.Entropy = deterministic()
	p := pipeline.New(fx.faces, fx.faces, cfg)
	out := make(chan track.Visit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, cam, out) }()
	var got []track.Visit
	silent := false
	timeout := time.After(2 * time.Minute)
	for !silent || len(got) == 0 {
		select {
		case vi := <-out:
			got = append(got, vi)
		case <-cam.sent:
			silent = true
		case <-timeout:
			t.Fatalf("no visit from a silent camera (%d so far, silent %v)", len(got), silent)
		}
	}
	cancel()
	for range out {
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v after cancel", err)
	}
	if !got[0].Usable() {
		t.Fatalf("%+v", got[0])
	}
	if who, dist := fx.personOf(got[0].Descriptors[0]); who != first.Person {
		t.Errorf("the visit shows %s (%.3f), the person in view is %s", who, dist, first.Person)
	}
}

// TestDebugDir: the faces described are written to the debug folder, and
// only there.
func TestDebugDir(t *testing.T) {
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	dir := t.TempDir()
	dbg, err := pipeline.NewDebugDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	vs, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{Debug: dbg})
	dbg.Close()
	if err != nil {
		t.Fatal(err)
	}
	jpgs, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if int64(len(jpgs)) != p.Stats().Described {
		t.Errorf("%d pictures for %d described faces", len(jpgs), p.Stats().Described)
	}
	lines, _ := os.ReadFile(filepath.Join(dir, "visits.jsonl"))
	if n := strings.Count(string(lines), "\n"); n != len(vs) || strings.Contains(string(lines), "descriptors\":[") {
		t.Errorf("%d visit lines for %d visits: %s", n, len(vs), lines)
	}
}

// TestCNNDetector: the MMOD detector, selected by configuration, finds the
// person of a short video (on frames shrunk to 320 pixels: it costs about
// 10 s per megapixel).
func TestCNNDetector(t *testing.T) {
	fx := setup(t)
	v := synth(t, "steady-2s", doorsim.Options{Scenario: doorsim.Steady, Seed: 3, Duration: 2 * time.Second})
	matleak.Check(t)
	cnn, err := cv.OpenFaces(testenv.Models(t), camera.FaceOptions{Detector: camera.MMOD})
	if err != nil {
		t.Fatal(err)
	}
	defer cnn.Close()
	p := pipeline.New(cnn, cnn, pipeline.Config{DetectWidth: 320, Track: track.Config{Entropy: deterministic()}})
	out := make(chan track.Visit, 8)
	if err := p.Run(context.Background(), fileSource(t, v, capture.Options{}), out); err != nil {
		t.Fatal(err)
	}
	var vs []track.Visit
	for x := range out {
		vs = append(vs, x)
	}
	if len(vs) != 1 || !vs[0].Usable() {
		t.Fatalf("%d visits: %+v", len(vs), p.Stats())
	}
	who, dist := fx.personOf(vs[0].Descriptors[0])
	if who != v.truth.Passages[0].Person {
		t.Errorf("the visit shows %s (%.3f), the video %s", who, dist, v.truth.Passages[0].Person)
	}
}

// TestDlibStopFlushesOpenTracks: stopping the pipeline while someone is in
// view still reports their visit, with dlib's descriptors of a real video.
// (That it comes at once is TestStopFlushesOpenTracks's, on a fake clock.)
func TestDlibStopFlushesOpenTracks(t *testing.T) {
	fx := setup(t)
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	first := v.truth.Passages[0]
	cam := &silentCamera{src: fileSource(t, v, capture.Options{}), frames: first.Last - 2, sent: make(chan time.Time, 1)}
	p := pipeline.New(fx.faces, fx.faces, pipeline.Config{Track: track.Config{Entropy: deterministic()}})
	out := make(chan track.Visit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, cam, out) }()
	select {
	case <-cam.sent:
	case vi := <-out:
		t.Fatalf("visit %s before the person left", vi.ID)
	case <-time.After(2 * time.Minute):
		t.Fatal("the camera never sent its frames")
	}
	cancel()
	var got []track.Visit
	for vi := range out {
		got = append(got, vi)
	}
	if len(got) == 0 || !got[0].Usable() {
		t.Fatalf("%d visits after the stop, want the one in view with descriptors", len(got))
	}
	if who, dist := fx.personOf(got[0].Descriptors[0]); who != first.Person {
		t.Errorf("the visit flushed shows %s (%.3f), the person in view is %s", who, dist, first.Person)
	}
	if st := p.Stats(); st.Lost != 0 {
		t.Errorf("%d visits lost", st.Lost)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}
