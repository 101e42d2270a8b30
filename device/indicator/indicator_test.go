package indicator

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3"

	"joren/device/pins"
	"joren/device/pintest"
	"joren/internal/logtest"
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

// TestMain loads periph's host drivers once, before any test: the tests
// run in synctest bubbles, and the drivers' one-time set-up must not
// belong to one of them.
func TestMain(m *testing.M) {
	if _, err := host.Init(); err != nil {
		fmt.Fprintln(os.Stderr, "initialising periph:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// start runs in in the background; stop ends it and returns Run's error.
// It is called inside a synctest bubble: Run's pattern timers run on the
// bubble's fake clock, so patterns take no real time and their steps last
// exactly what they say.
func start(t *testing.T, in *Indicator) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			synctest.Wait()
			select {
			case err = <-done:
			default:
				t.Fatal("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// checkLevels fails unless the line took exactly the levels want at the
// offsets at from t0.
func checkLevels(t *testing.T, what string, got []pintest.Change, t0 time.Time, want []gpio.Level, at []time.Duration) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Level == want[i] && got[i].At.Sub(t0) == at[i]
	}
	if !ok {
		var b strings.Builder
		for _, c := range got {
			fmt.Fprintf(&b, " %s@%v", c.Level, c.At.Sub(t0))
		}
		t.Fatalf("%s levels:%s; want %v at %v", what, b.String(), want, at)
	}
}

// A regular walks in: the default pattern is three 120 ms blinks, the
// first with a 120 ms beep, on real pin names and polarities.
func TestRegularOnGPIO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		led, buzz, out := board(t)
		ind := New(out, nil, nil)
		start(t, ind)
		ind.Show(Regular)
		time.Sleep(time.Second)
		synctest.Wait()

		// Opened off (Low), then each blink and gap lasts exactly its
		// 120 ms step.
		const ms = time.Millisecond
		L, H := gpio.Low, gpio.High
		checkLevels(t, "LED", led.Levels(), t0,
			[]gpio.Level{L, H, L, H, L, H, L}, []time.Duration{0, 0, 120 * ms, 240 * ms, 360 * ms, 480 * ms, 600 * ms})
		// The buzzer is active-low: off is High, on is Low. One beep,
		// with the first blink.
		checkLevels(t, "buzzer", buzz.Levels(), t0, []gpio.Level{H, L, H}, []time.Duration{0, 0, 120 * ms})
		if ind.Played() != 1 {
			t.Errorf("played %d patterns", ind.Played())
		}
	})
}

// A burst arrives while a pattern plays: Show never waits, and the
// burst becomes one pending pattern, the most important kind.
func TestBurstIsCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		led, _, out := board(t)
		ps := Patterns{}
		ps.Set("regular=led 600ms")
		ps.Set("became-regular=led 30ms, off 30ms, led 30ms, off 30ms, led 30ms")
		ind := New(out, ps, nil)
		start(t, ind)
		ind.Show(Regular)
		synctest.Wait() // the first pattern is on

		time.Sleep(100 * time.Millisecond)
		for range 50 {
			ind.Show(Regular)
		}
		ind.Show(BecameRegular)
		ind.Show(NewVisitor) // no pattern: ignored, not even counted
		if ind.Played() != 1 {
			t.Fatalf("the burst played %d patterns while the first was still on: Show waited", ind.Played())
		}
		if now := time.Since(t0); now != 100*time.Millisecond {
			t.Fatalf("Show took %v of the clock", now-100*time.Millisecond)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// One long blink, then at once three short ones, and nothing
		// after: the 50 regulars were merged into the became-regular.
		const ms = time.Millisecond
		L, H := gpio.Low, gpio.High
		checkLevels(t, "LED", led.Levels(), t0,
			[]gpio.Level{L, H, L, H, L, H, L, H, L},
			[]time.Duration{0, 0, 600 * ms, 600 * ms, 630 * ms, 660 * ms, 690 * ms, 720 * ms, 750 * ms})
		if ind.Played() != 2 || ind.Coalesced() != 50 {
			t.Errorf("played %d, coalesced %d; want 2 and 50", ind.Played(), ind.Coalesced())
		}
	})
}

// On shutdown the lines go off at once, even mid-pattern.
func TestOffOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		led, buzz, out := board(t)
		ps := Patterns{}
		ps.Set("regular=led+buzz 5s")
		ind := New(out, ps, nil)
		stop := start(t, ind)
		ind.Show(Regular)
		time.Sleep(time.Second)
		asked := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		l, b := led.Levels(), buzz.Levels()
		if len(l) != 3 || l[2].Level != gpio.Low || len(b) != 3 || b[2].Level != gpio.High {
			t.Fatalf("after shutdown: LED %v, buzzer %v; want on, then both off", l, b)
		}
		if !l[2].At.Equal(asked) || !b[2].At.Equal(asked) {
			t.Errorf("the lines went off %v and %v after shutdown was asked, want at once", l[2].At.Sub(asked), b[2].At.Sub(asked))
		}
	})
}

// A failing line is logged; the indicator goes on.
func TestBrokenLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf logtest.Buffer
		ps := Patterns{}
		ps.Set("regular=led 10ms")
		ind := New(NewGPIO(brokenLine{}, nil), ps, buf.Logger())
		stop := start(t, ind)
		ind.Show(Regular)
		synctest.Wait()
		if ind.Played() != 1 || strings.Count(buf.String(), "indicator: playing a pattern") != 1 || !strings.Contains(buf.String(), "input/output error") {
			t.Fatalf("played %d; log:\n%s", ind.Played(), buf.String())
		}
		ind.Show(Regular)
		synctest.Wait()
		if ind.Played() != 2 || strings.Count(buf.String(), "indicator: playing a pattern") != 2 {
			t.Errorf("a second request after the failure: played %d; log:\n%s", ind.Played(), buf.String())
		}
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

type brokenLine struct{}

func (brokenLine) Set(bool) error { return errBroken }
func (brokenLine) Halt() error    { return nil }

var errBroken = &lineError{}

type lineError struct{}

func (*lineError) Error() string { return "GPIO17: write: input/output error" }

// Drain returns once the pattern playing and the one waiting are over
// (a recording's last decision shown whole), at once when idle, and when
// its context ends, whichever is first.
func TestDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		led, _, out := board(t)
		ps := Patterns{}
		ps.Set("regular=led 600ms")
		ps.Set("became-regular=led 100ms, off 100ms, led 100ms")
		ind := New(out, ps, nil)
		start(t, ind)
		t0 := time.Now()
		if err := ind.Drain(context.Background()); err != nil || time.Since(t0) != 0 {
			t.Fatalf("idle: Drain took %v, %v", time.Since(t0), err)
		}
		ind.Show(Regular)
		synctest.Wait()         // playing
		ind.Show(BecameRegular) // waits for the first
		short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := ind.Drain(short); err == nil || time.Since(t0) != 200*time.Millisecond {
			t.Errorf("a context shorter than the patterns: Drain took %v, %v", time.Since(t0), err)
		}
		if err := ind.Drain(context.Background()); err != nil || time.Since(t0) != 900*time.Millisecond {
			t.Errorf("Drain returned after %v (%v), want when both patterns were over (900ms)", time.Since(t0), err)
		}
		if ind.Played() != 2 || led.Rises() != 3 {
			t.Errorf("played %d patterns, %d rises of the LED; want 2 and 3", ind.Played(), led.Rises())
		}
		ind.Show(Regular) // busy again
		if err := ind.Drain(context.Background()); err != nil || time.Since(t0) != 1500*time.Millisecond {
			t.Errorf("a second Drain returned after %v (%v), want 1500ms", time.Since(t0), err)
		}
	})
}
