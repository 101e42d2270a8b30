package pipeline_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"joren/vision/pipeline"
	"joren/vision/track"
)

// TestStallKeepsTheVisit: a pipeline that stalls while a person stands in
// view (the detector takes seconds over one frame, as on a CPU starved by
// other work) must not split their passage into two visits: it did not
// look, so it did not see them leave. A camera that falls silent still
// ends the visit (TestHungCameraStillEndsVisits).
func TestStallKeepsTheVisit(t *testing.T) {
	for _, stall := range []time.Duration{700 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second} {
		t.Run(stall.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// A live camera: the stage's clock runs while it waits.
				cam := newCamera(script(5, stay(60, at(1, 60, 40))))
				det := &faces{stalls: map[int]time.Duration{20: stall}}
				p := pipeline.New(det, det, fakeConfig())
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				out, done := started(ctx, p, cam)
				var got []track.Visit
				collected := make(chan struct{})
				go func() {
					for v := range out {
						got = append(got, v)
					}
					close(collected)
				}()
				for range cam.script {
					<-cam.sent
				}
				time.Sleep(10 * time.Second) // all visits are due
				cancel()
				<-collected
				<-done
				if len(got) != 1 || !got[0].Usable() {
					t.Fatalf("%d visits for one passage: %+v", len(got), got)
				}
			})
		})
	}
}
