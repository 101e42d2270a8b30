//go:build cgo

package pipeline_test

import (
	"image"
	"sync"
	"testing"
	"time"

	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/pipeline"
	"joren/vision/track"
)

// recordingPreview wants the frames whose call number is in [from, to)
// and a multiple of every, as a watched live view does (a few frames a
// second, only while somebody watches), and keeps what it gets.
type recordingPreview struct {
	from, to, every int

	mu     sync.Mutex
	calls  int // Wants calls
	yes    int // Wants answers yes
	frames []previewed
}

type previewed struct {
	im     frame.Image
	at     time.Time
	faces  []track.Detection
	tracks []string
}

func (r *recordingPreview) Wants() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.calls
	r.calls++
	if i >= r.from && i < r.to && (i-r.from)%r.every == 0 {
		r.yes++
		return true
	}
	return false
}

func (r *recordingPreview) Frame(im frame.Image, at time.Time, faces []track.Detection, tracks []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, previewed{im, at, faces, tracks})
}

// TestPreview: the preview hook is asked about every frame, gets exactly
// the frames it wanted, as copies it can keep (the capture reuses its
// buffers), with the faces dlib found in them and their tracks.
func TestPreview(t *testing.T) {
	fx := setup(t)
	v := synth(t, "steady-2s", doorsim.Options{Scenario: doorsim.Steady, Seed: 3, Duration: 2 * time.Second})
	matleak.Check(t)

	t.Run("not watched", func(t *testing.T) {
		pv := &recordingPreview{}
		_, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{Preview: pv})
		if err != nil {
			t.Fatal(err)
		}
		if int64(pv.calls) != p.Stats().Frames || len(pv.frames) != 0 {
			t.Errorf("Wants asked %d times for %d frames; %d frames previewed, want none", pv.calls, p.Stats().Frames, len(pv.frames))
		}
	})

	t.Run("watched", func(t *testing.T) {
		pv := &recordingPreview{from: 5, to: 25, every: 4}
		vs, _, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{Preview: pv})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || !vs[0].Usable() {
			t.Fatalf("%d visits: the preview changed what the pipeline sees", len(vs))
		}
		if pv.yes != 5 || len(pv.frames) != pv.yes {
			t.Fatalf("%d frames wanted, %d previewed; want 5 and 5", pv.yes, len(pv.frames))
		}
		// Read the copies only now: by now the capture has reused its
		// buffers many times over, so a view of them would show another
		// frame than the one the faces were found in.
		var last time.Time
		for i, f := range pv.frames {
			if f.im.Cols != v.truth.Width || f.im.Rows != v.truth.Height {
				t.Fatalf("preview %d is %dx%d, the video %dx%d", i, f.im.Cols, f.im.Rows, v.truth.Width, v.truth.Height)
			}
			if !f.at.After(last) {
				t.Errorf("preview %d at %v, not after %v", i, f.at, last)
			}
			last = f.at
			if len(f.faces) != 1 || len(f.tracks) != 1 || f.tracks[0] != vs[0].ID {
				t.Fatalf("preview %d: %d faces, tracks %v; want the one face of visit %s", i, len(f.faces), f.tracks, vs[0].ID)
			}
			got := f.faces[0]
			if got.Quality.Width != got.Box.Dx() {
				t.Errorf("preview %d: quality measured a %d px face, the box is %d px", i, got.Quality.Width, got.Box.Dx())
			}
			dets, err := fx.faces.Detect(f.im, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != 1 || iou(dets[0], got.Box) < 0.6 {
				t.Errorf("preview %d: the face at %v is not in the copy (dlib finds %v there)", i, got.Box, dets)
			}
		}
	})
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(area(in))
	return i / (float64(area(a)) + float64(area(b)) - i)
}
