//go:build cgo

package pipeline_test

import (
	"sync"
	"testing"
	"time"

	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/internal/matleak"
	"joren/vision/pipeline"
)

// recordingSampler wants every frame from its from-th Wants call on, as
// the page's enrolment does while it collects faces, and keeps what it
// gets.
type recordingSampler struct {
	from int

	mu      sync.Mutex
	calls   int
	samples []pipeline.Sample
}

func (r *recordingSampler) Wants() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.from > 0 && r.calls >= r.from
}

func (r *recordingSampler) Sample(s pipeline.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s)
}

// TestSampler: the sampler is asked about every frame and costs nothing
// while it says no; once it asks, it gets the descriptor of the face in
// view, the person's (nearest to their photo's), from the track of the
// visit, with the frame's face counts; frames without a good face come
// without a descriptor.
func TestSampler(t *testing.T) {
	fx := setup(t)
	v := synth(t, "steady-2s", doorsim.Options{Scenario: doorsim.Steady, Seed: 3, Duration: 2 * time.Second})
	matleak.Check(t)

	_, plain, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("not asking", func(t *testing.T) {
		sp := &recordingSampler{}
		_, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{Sampler: sp})
		if err != nil {
			t.Fatal(err)
		}
		if int64(sp.calls) != p.Stats().Frames || len(sp.samples) != 0 {
			t.Errorf("Wants asked %d times for %d frames; %d samples, want none", sp.calls, p.Stats().Frames, len(sp.samples))
		}
		if p.Stats().Described != plain.Stats().Described {
			t.Errorf("%d faces described with a sampler that asks nothing, %d without", p.Stats().Described, plain.Stats().Described)
		}
	})
	t.Run("asking", func(t *testing.T) {
		sp := &recordingSampler{from: 1}
		vs, p, err := run(t, fileSource(t, v, capture.Options{}), pipeline.Config{Sampler: sp})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || !vs[0].Usable() {
			t.Fatalf("%d visits: the sampler changed what the pipeline sees", len(vs))
		}
		if int64(len(sp.samples)) != p.Stats().Frames {
			t.Fatalf("%d samples for %d frames", len(sp.samples), p.Stats().Frames)
		}
		person := v.truth.Passages[0].Person
		described := 0
		for i, s := range sp.samples {
			if s.Good > s.Faces || s.Faces > 1 {
				t.Fatalf("sample %d: %d good of %d faces; the video shows one person", i, s.Good, s.Faces)
			}
			if s.Descriptor == nil {
				if s.Good > 0 {
					t.Errorf("sample %d: a good face without a descriptor", i)
				}
				continue
			}
			described++
			if s.Track != vs[0].ID {
				t.Errorf("sample %d from track %s, the visit is %s", i, s.Track, vs[0].ID)
			}
			if s.Quality.Width != s.Box.Dx() || !s.Quality.Worth() {
				t.Errorf("sample %d: quality %+v for a %d px box", i, s.Quality, s.Box.Dx())
			}
			if who, d := fx.personOf(s.Descriptor); who != person || d > fx.faces.Model().Threshold {
				t.Errorf("sample %d is %s (distance %.2f), the video shows %s", i, who, d, person)
			}
		}
		if described < 5 {
			t.Errorf("%d of %d samples described: want the face of most frames", described, len(sp.samples))
		}
		// The tracker's own descriptors are reused: a frame's face is
		// described once.
		if extra := p.Stats().Described - plain.Stats().Described; extra > int64(described) {
			t.Errorf("%d more descriptions for %d samples", extra, described)
		}
	})
}
