package frame

import (
	"fmt"
	"slices"
	"time"
)

// Mark pins the time of a frame of a recording: frames after it are 1/FPS
// apart from it, until the next mark. Synthesised door videos use marks to
// put passages on different days.
type Mark struct {
	Frame int       `json:"frame"`
	Time  time.Time `json:"time"`
}

// Timeline is the marks of a recording, in frame order.
type Timeline []Mark

// Check tells whether the marks are in frame order.
func (tl Timeline) Check() error {
	for i := 1; i < len(tl); i++ {
		if tl[i].Frame <= tl[i-1].Frame {
			return fmt.Errorf("timeline marks must be in frame order (mark %d, frame %d)", i, tl[i].Frame)
		}
	}
	return nil
}

// TimeOf is the time of frame i of a recording of fps frames a second:
// counted from the last mark at or before it, or from start (frame 0) if
// there is none.
func (tl Timeline) TimeOf(i int, fps float64, start time.Time) time.Time {
	base, from := start, 0
	if k, found := slices.BinarySearchFunc(tl, i, func(m Mark, i int) int { return m.Frame - i }); found {
		base, from = tl[k].Time, tl[k].Frame
	} else if k > 0 {
		base, from = tl[k-1].Time, tl[k-1].Frame
	}
	return base.Add(time.Duration(float64(i-from) / fps * float64(time.Second)))
}
