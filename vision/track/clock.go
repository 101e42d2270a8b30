package track

import "time"

// lookClock measures the time the tracker spent looking: frame time, but
// a step between two frames counts at most maxStep. A pipeline that stalls
// (a starved CPU, a long descriptor) drops the frames it had no time for;
// a face unseen in that time was not looked for, and must not end its
// track as a face that left does. A step longer than breakStep is no
// stall but a break in the frames (a recording's timeline skips to the
// next passage, a camera is reopened after it fell silent) and counts in
// full. Time that runs back counts nothing.
type lookClock struct {
	maxStep time.Duration
	last    time.Time     // the latest time given
	now     time.Duration // time spent looking, since the first frame
}

// breakStep is the longest stall: capture's own limit for a camera that
// sends nothing (capture.Options.Stall, 10 s), after which it reopens it.
const breakStep = 10 * time.Second

// advance moves the clock to frame time at and returns its reading.
func (c *lookClock) advance(at time.Time) time.Duration {
	if !c.last.IsZero() {
		switch step := at.Sub(c.last); {
		case step > breakStep:
			c.now += step
		case step > 0:
			c.now += min(step, c.maxStep)
		}
	}
	if at.After(c.last) {
		c.last = at
	}
	return c.now
}
