package indicator

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"joren/device/pins"
	"joren/device/pintest"
)

// board opens the LED on GPIO17 (active-high) and the buzzer on GPIO27
// (active-low), through periph's registry as the device does.
func board(t *testing.T) (led, buzz *pintest.Recorder, out *GPIO) {
	t.Helper()
	led, buzz = pintest.Register(t, "GPIO17", 17), pintest.Register(t, "GPIO27", 27)
	ledSpec, _ := pins.Parse("GPIO17")
	buzzSpec, _ := pins.Parse("GPIO27:low")
	l, err := pins.OpenOutput(ledSpec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pins.OpenOutput(buzzSpec)
	if err != nil {
		t.Fatal(err)
	}
	return led, buzz, NewGPIO(l, b)
}

func start(t *testing.T, in *Indicator) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A regular walks in: the default pattern is three 120 ms blinks, the
// first with a 120 ms beep, on real pin names and polarities.
func TestRegularOnGPIO(t *testing.T) {
	led, buzz, out := board(t)
	ind := New(out, nil, nil)
	start(t, ind)
	ind.Show(Regular)
	waitFor(t, "the pattern to end", func() bool { return len(led.Levels()) >= 7 })

	l := led.Levels()
	want := []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low}
	if len(l) != len(want) {
		t.Fatalf("LED levels %v, want %v", l, want)
	}
	for i := range want {
		if l[i].Level != want[i] {
			t.Fatalf("LED levels %v, want %v", l, want)
		}
	}
	// Each blink and gap lasts its step (more on a busy machine, never
	// less).
	for i := 1; i < len(l)-1; i++ {
		if d := l[i+1].At.Sub(l[i].At); d < 120*time.Millisecond || d > 620*time.Millisecond {
			t.Errorf("LED step %d lasted %s, want 120ms", i, d)
		}
	}
	// The buzzer is active-low: off is High, on is Low. One beep.
	b := buzz.Levels()
	if len(b) != 3 || b[0].Level != gpio.High || b[1].Level != gpio.Low || b[2].Level != gpio.High {
		t.Fatalf("buzzer levels %v, want High (off), Low (beep), High", b)
	}
	if d := b[2].At.Sub(b[1].At); d < 120*time.Millisecond || d > 620*time.Millisecond {
		t.Errorf("beep lasted %s, want 120ms", d)
	}
	if d := b[1].At.Sub(l[1].At); d < 0 || d > 100*time.Millisecond {
		t.Errorf("the beep starts %s after the first blink, want together", d)
	}
	if ind.Played() != 1 {
		t.Errorf("played %d patterns", ind.Played())
	}
}

// A burst arrives while a pattern plays: Show never waits, and the
// burst becomes one pending pattern, the most important kind.
func TestBurstIsCoalesced(t *testing.T) {
	led, _, out := board(t)
	ps := Patterns{}
	ps.Set("regular=led 600ms")
	ps.Set("became-regular=led 30ms, off 30ms, led 30ms, off 30ms, led 30ms")
	ind := New(out, ps, nil)
	start(t, ind)
	ind.Show(Regular)
	waitFor(t, "the first pattern to start", func() bool { return len(led.Levels()) >= 2 })

	for range 50 {
		ind.Show(Regular)
	}
	ind.Show(BecameRegular)
	ind.Show(NewVisitor) // no pattern: ignored, not even counted
	if ind.Played() != 1 {
		t.Fatalf("the burst played %d patterns while the first was still on: Show waited", ind.Played())
	}
	// regular (600 ms) + became-regular (three blinks) = 4 highs.
	waitFor(t, "both patterns", func() bool { return len(led.Levels()) >= 9 })
	time.Sleep(200 * time.Millisecond)
	if got := len(led.Levels()); got != 9 {
		t.Errorf("LED changed %d times, want 9 (one long blink, then three short): %v", got, led.Levels())
	}
	if ind.Played() != 2 || ind.Coalesced() != 50 {
		t.Errorf("played %d, coalesced %d; want 2 and 50", ind.Played(), ind.Coalesced())
	}
}

// On shutdown the lines go off at once, even mid-pattern.
func TestOffOnShutdown(t *testing.T) {
	led, buzz, out := board(t)
	ps := Patterns{}
	ps.Set("regular=led+buzz 5s")
	ind := New(out, ps, nil)
	stop := start(t, ind)
	ind.Show(Regular)
	waitFor(t, "the pattern to start", func() bool { return len(led.Levels()) >= 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	l, b := led.Levels(), buzz.Levels()
	if l[len(l)-1].Level != gpio.Low || b[len(b)-1].Level != gpio.High {
		t.Errorf("after shutdown: LED %v, buzzer %v; want both off", l, b)
	}
	if on := l[len(l)-1].At.Sub(l[1].At); on > 2*time.Second {
		t.Errorf("the LED stayed on %s after shutdown was asked", on)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A failing line is logged; the indicator goes on.
func TestBrokenLine(t *testing.T) {
	var buf syncBuffer
	ps := Patterns{}
	ps.Set("regular=led 10ms")
	ind := New(NewGPIO(brokenLine{}, nil), ps, slog.New(slog.NewTextHandler(&buf, nil)))
	stop := start(t, ind)
	ind.Show(Regular)
	waitFor(t, "the error to be logged", func() bool { return strings.Contains(buf.String(), "indicator: playing a pattern") })
	ind.Show(Regular)
	waitFor(t, "a second attempt", func() bool { return ind.Played() == 2 })
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

type brokenLine struct{}

func (brokenLine) Set(bool) error { return errBroken }
func (brokenLine) Halt() error    { return nil }

var errBroken = &lineError{}

type lineError struct{}

func (*lineError) Error() string { return "GPIO17: write: input/output error" }
