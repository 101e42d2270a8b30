package pintest

import (
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// Recorder is a gpiotest pin that records every level written to it.
type Recorder struct {
	*gpiotest.Pin
	mu      sync.Mutex
	changes []Change
}

// Change is one level written, with its time.
type Change struct {
	Level gpio.Level
	At    time.Time
}

// Out records l and sets it.
func (r *Recorder) Out(l gpio.Level) error {
	r.mu.Lock()
	r.changes = append(r.changes, Change{l, time.Now()})
	r.mu.Unlock()
	return r.Pin.Out(l)
}

// Levels returns the recorded changes with repeated levels merged.
func (r *Recorder) Levels() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Change
	for _, c := range r.changes {
		if len(out) == 0 || out[len(out)-1].Level != c.Level {
			out = append(out, c)
		}
	}
	return out
}

// Rises counts the times the line went from low to high.
func (r *Recorder) Rises() int {
	n := 0
	prev := gpio.Low
	for _, c := range r.Levels() {
		if c.Level == gpio.High && prev == gpio.Low {
			n++
		}
		prev = c.Level
	}
	return n
}

// Register puts a recording pin named name (number num) in periph's
// registry for the test's duration.
func Register(t testing.TB, name string, num int) *Recorder {
	t.Helper()
	r := &Recorder{Pin: &gpiotest.Pin{N: name, Num: num}}
	if err := gpioreg.Register(r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gpioreg.Unregister(name) })
	return r
}
