package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"joren/vision/pipeline"
	"joren/vision/quality"
	"joren/vision/track"
)

// These tests hold the stages to exact timing, on synctest's clock, with
// the fake camera and faces of fakes_test.go: a silent camera ends the
// visit in view on time, a stop hands over the visits in view at once, and
// nothing (a consumer that stopped reading, a camera hung in a read, a
// detector at work) holds Run past Config.Drain. Inside a synctest bubble
// a goroutine left blocked fails the test: every stage really stops.
// The same behaviour with dlib and a real video is tested in
// pipeline_test.go (cgo), without bounds on time.

const drain = 2 * time.Second

func fakeConfig() pipeline.Config {
	return pipeline.Config{
		Drain: drain,
		// The fake faces are checkerboards: sharp enough for any gate.
		Gate:  quality.Gate{MinFace: 80, MinSharpness: 1},
		Track: track.Config{Entropy: seeded()},
	}
}

func seeded() io.Reader { return rand.NewChaCha8([32]byte{9}) }

// started runs p on cam in the bubble and returns its visits' channel and
// its result.
func started(ctx context.Context, p *pipeline.Pipeline, cam *fakeCamera) (chan track.Visit, chan error) {
	out := make(chan track.Visit)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, cam, out) }()
	return out, done
}

// TestHungCameraStillEndsVisits: a live camera that stops sending frames
// (without closing: hung) must not keep a visit open: the tracker's clock
// keeps running on the wall clock, so the visit comes Gap + Linger after
// the face was last seen (plus at most the stage's 100 ms tick).
func TestHungCameraStillEndsVisits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cam := newCamera(script(5, stay(30, at(1, 60, 40))))
		cam.script = cam.script[:35] // silent while the person is in view
		p := pipeline.New(&faces{}, &faces{}, fakeConfig())
		ctx, cancel := context.WithCancel(t.Context())
		out, done := started(ctx, p, cam)
		var last time.Time
		for range cam.script {
			last = <-cam.sent
		}
		v := <-out
		wait := time.Since(last)
		tc := track.New(p.Model(), track.Config{}).Config()
		if low, high := tc.Gap+tc.Linger, tc.Gap+tc.Linger+100*time.Millisecond; wait < low || wait > high {
			t.Errorf("the visit came %v after the last frame, want %v to %v", wait, low, high)
		}
		if !v.Usable() || v.Faces != 30 {
			t.Errorf("visit %+v: want 30 faces and descriptors", v)
		}
		cancel()
		if _, ok := <-out; ok {
			t.Error("a second visit")
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v after cancel", err)
		}
	})
}

// TestStopFlushesOpenTracks: stopping the pipeline while two people are in
// view reports both visits, naming each other, at the very moment of the
// stop; Run then returns context.Canceled.
func TestStopFlushesOpenTracks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cam := newCamera(script(5, stay(20, at(1, 20, 40), at(2, 190, 60))))
		cam.script = cam.script[:25]
		p := pipeline.New(&faces{}, &faces{}, fakeConfig())
		ctx, cancel := context.WithCancel(t.Context())
		out, done := started(ctx, p, cam)
		for range cam.script {
			<-cam.sent
		}
		synctest.Wait() // the last frame is tracked
		select {
		case v := <-out:
			t.Fatalf("visit %s before the stop", v.ID)
		default:
		}
		stopped := time.Now()
		cancel()
		var got []track.Visit
		for v := range out {
			if d := time.Since(stopped); d != 0 {
				t.Errorf("visit %s came %v after the stop, want at once", v.ID, d)
			}
			got = append(got, v)
		}
		if len(got) != 2 || !got[0].Usable() || !got[1].Usable() ||
			!slices.Contains(got[0].Together, got[1].ID) || !slices.Contains(got[1].Together, got[0].ID) {
			t.Errorf("visits %+v: want the two people in view, together", got)
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
		if st := p.Stats(); st.Lost != 0 || st.Visits != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestStopNeverBlocks stops the pipeline at every frame of a script with
// two passages (in view, between, after), with each kind of consumer and
// camera, and a detector that takes time. Whatever the moment:
//
//   - Run returns within Drain of the stop (the detector's call in hand
//     aside), with context.Canceled, and closes out;
//   - no goroutine is left blocked (the bubble would not end);
//   - a consumer that reads gets every visit of the passages seen so far,
//     none lost; one that stopped reading loses them, counted in
//     Stats.Lost, and holds Run exactly Drain.
func TestStopNeverBlocks(t *testing.T) {
	full := script(4, stay(12, at(1, 20, 40)), stay(9, at(2, 190, 10), at(3, 200, 130)))
	type consumer int
	const (
		reading consumer = iota // reads until out is closed
		slow                    // takes 300 ms per visit
		gone                    // stopped reading before the stop
	)
	tried := 0
	for _, who := range []consumer{reading, slow, gone} {
		for _, deaf := range []bool{false, true} {
			for _, busy := range []time.Duration{0, 40 * time.Millisecond} {
				for k := 1; k <= len(full); k++ {
					name := fmt.Sprintf("consumer%d/deaf=%v/busy=%v/frame%d", who, deaf, busy, k)
					tried++
					synctest.Test(t, func(t *testing.T) {
						cam := newCamera(full[:k])
						if deaf {
							cam.deaf = make(chan struct{})
						}
						p := pipeline.New(&faces{busy: busy}, &faces{busy: busy}, fakeConfig())
						ctx, cancel := context.WithCancel(t.Context())
						out := make(chan track.Visit)
						done := make(chan error, 1)
						go func() { done <- p.Run(ctx, cam, out) }()
						var got []track.Visit
						collected := make(chan struct{})
						if who != gone {
							go func() {
								defer close(collected)
								for v := range out {
									got = append(got, v)
									if who == slow {
										time.Sleep(300 * time.Millisecond)
									}
								}
							}()
						}
						// Until the camera sent its k frames, or could not
						// (a consumer that does not read holds everything
						// up).
					wait:
						for range k {
							select {
							case <-cam.sent:
							case <-time.After(10 * time.Second):
								break wait
							}
						}
						synctest.Wait()
						stopped := time.Now()
						cancel()
						err := <-done
						took := time.Since(stopped)
						if cam.deaf != nil {
							close(cam.deaf)
						}
						if who != gone {
							<-collected
						} else if _, ok := <-out; ok {
							t.Errorf("%s: out not closed", name)
						}
						if !errors.Is(err, context.Canceled) {
							t.Errorf("%s: Run returned %v", name, err)
						}
						if limit := drain + busy; took > limit {
							t.Errorf("%s: Run took %v to stop, more than %v", name, took, limit)
						}
						st := p.Stats()
						low, high := expectedVisits(full[:k])
						switch who {
						case gone:
							if st.Lost < int64(low) || st.Lost > int64(high) || st.Lost > 0 && took != drain {
								t.Errorf("%s: %d visits lost of %d to %d, stopped in %v", name, st.Lost, low, high, took)
							}
						default:
							if st.Lost != 0 || len(got) < low || len(got) > high {
								t.Errorf("%s: %d visits handed over, %d lost, want %d to %d", name, len(got), st.Lost, low, high)
							}
							for _, v := range got {
								if !v.Usable() {
									t.Errorf("%s: visit %s without descriptors", name, v.ID)
								}
							}
						}
					})
				}
			}
		}
	}
	t.Logf("stopped the pipeline at %d moments", tried)
}

// expectedVisits bounds the visits of a script's passages: a visit needs
// MinFaces (3) faces, and detection finds a newcomer up to two frames late
// while it follows someone else (pipeline's fullEvery), so a person seen
// in 5 frames is surely a visit, one seen in 3 or 4 may not be.
func expectedVisits(s []shot) (low, high int) {
	seen := map[uint8]int{}
	for _, sh := range s {
		for _, p := range sh {
			seen[p.id]++
		}
	}
	for _, c := range seen {
		if c >= 5 {
			low++
		}
		if c >= 3 {
			high++
		}
	}
	return low, high
}

// TestRecordingEnds: a recording that ends gives its visits and Run
// returns nil; nothing is lost.
func TestRecordingEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cam := newCamera(script(3, stay(10, at(1, 40, 40)), stay(10, at(2, 150, 80))))
		cam.ended = true
		p := pipeline.New(&faces{}, &faces{}, fakeConfig())
		out, done := started(t.Context(), p, cam)
		n := 0
		for range out {
			n++
		}
		if err := <-done; err != nil || n != 2 {
			t.Errorf("%d visits, Run returned %v", n, err)
		}
	})
}
