package installer

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"joren/vision/pipeline"
	"joren/vision/quality"
)

func good(track string, v float32) pipeline.Sample {
	return pipeline.Sample{Faces: 1, Good: 1, Track: track, Box: image.Rect(200, 100, 360, 260), Descriptor: []float32{v}}
}

// A collection asks the pipeline for faces only while it runs, one every
// Every; keeps the faces of one person; says what is wrong meanwhile; and
// ends with its faces, a timeout saying why, or a cancellation.
func TestCapture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCapture(CaptureOptions{Every: 300 * time.Millisecond, Timeout: 10 * time.Second, Lost: 2 * time.Second})
		if c.Wants() {
			t.Fatal("an idle capture wants faces")
		}
		got := make(chan [][]float32, 1)
		go func() {
			d, err := c.Collect(context.Background(), 3)
			if err != nil {
				t.Error(err)
			}
			got <- d
		}()
		synctest.Wait()
		if !c.Wants() {
			t.Fatal("a collection wants no face")
		}
		c.Sample(pipeline.Sample{Faces: 2, Good: 2, Track: "a", Descriptor: []float32{9}})
		if p := c.Progress(); p.Got != 0 || !strings.Contains(p.Hint, "2 faces") {
			t.Errorf("two faces in view: %+v", p)
		}
		c.Sample(pipeline.Sample{Faces: 1, Track: "a", Quality: quality.Assessment{Reject: quality.Turned}})
		if p := c.Progress(); p.Got != 0 || !strings.Contains(p.Hint, "not to the side") {
			t.Errorf("a turned face: %+v", p)
		}
		small := good("a", 5)
		small.Box = image.Rect(200, 100, 280, 180) // described at the door, too small to enrol
		c.Sample(small)
		if p := c.Progress(); p.Got != 0 || !strings.Contains(p.Hint, "a little closer") {
			t.Errorf("a small face: %+v", p)
		}
		c.Sample(good("a", 1))
		if c.Wants() {
			t.Error("wants another face at once")
		}
		time.Sleep(300 * time.Millisecond)
		if !c.Wants() {
			t.Error("wants no face after Every")
		}
		c.Sample(good("b", 7)) // someone else, while a is still there
		if p := c.Progress(); p.Got != 1 || !strings.Contains(p.Hint, "Another face") {
			t.Errorf("another face: %+v", p)
		}
		time.Sleep(3 * time.Second) // a left; b stays
		c.Sample(good("b", 2))
		if p := c.Progress(); p.Got != 1 {
			t.Errorf("after the first person left: %+v, want b's face alone", p)
		}
		time.Sleep(300 * time.Millisecond)
		c.Sample(good("b", 3))
		time.Sleep(300 * time.Millisecond)
		c.Sample(good("b", 4))
		d := <-got
		if len(d) != 3 || d[0][0] != 2 || d[2][0] != 4 {
			t.Errorf("collected %v, want b's three faces", d)
		}
		if c.Wants() {
			t.Error("wants faces after the collection ended")
		}

		// With Same, a new track of the same person keeps the faces.
		c.opt.Same = func(a, b []float32) bool { d := a[0] - b[0]; return d < 10 && d > -10 }
		go func() { d, _ := c.Collect(context.Background(), 2); got <- d }()
		synctest.Wait()
		c.Sample(good("c", 1))
		time.Sleep(300 * time.Millisecond)
		c.Sample(good("d", 50)) // someone else
		c.Sample(good("e", 2))  // c again, on a new track
		if d := <-got; len(d) != 2 || d[1][0] != 2 {
			t.Errorf("collected %v, want c's two faces", d)
		}
		c.opt.Same = nil

		// Nobody for the timeout: the error says what was wrong.
		_, err := c.Collect(context.Background(), 3)
		if err == nil || !strings.Contains(err.Error(), "no good face for 10s") {
			t.Errorf("timeout: %v", err)
		}
		// Cancelled, and busy while another runs.
		done := make(chan error, 1)
		go func() { _, err := c.Collect(context.Background(), 3); done <- err }()
		synctest.Wait()
		if _, err := c.Collect(context.Background(), 1); !errors.Is(err, ErrBusy) {
			t.Errorf("a second collection: %v", err)
		}
		c.Cancel()
		if err := <-done; !errors.Is(err, errCancelled) {
			t.Errorf("cancelled: %v", err)
		}
	})
}
