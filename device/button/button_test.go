package button

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/host/v3"

	"joren/device/pins"
	"joren/internal/logtest"
)

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

// openButton registers a fake pin as GPIO22 (a button to ground with a
// pull-up: active-low) and opens it by name as the device does.
func openButton(t *testing.T) (*gpiotest.Pin, *pins.Input) {
	t.Helper()
	p := &gpiotest.Pin{N: "GPIO22", Num: 22, EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
	if err := gpioreg.Register(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gpioreg.Unregister("GPIO22") })
	spec, _ := pins.Parse("GPIO22:low")
	in, err := pins.OpenInput(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p, in
}

// step is a level the line takes after a delay.
type step struct {
	after time.Duration
	to    gpio.Level
}

// edges plays steps into the pin; in a bubble the delays are exact.
func edges(p *gpiotest.Pin, steps ...step) {
	for _, s := range steps {
		time.Sleep(s.after)
		p.EdgesChan <- s.to
	}
}

// run starts b.Run; stop ends it and checks that it returned.
func run(t *testing.T, b *Button) (<-chan Press, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Press, 16)
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, out) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			// Run notices within one Poll (fake time in a bubble).
			select {
			case <-done:
			case <-time.After(time.Second):
				t.Fatal("Run did not return within a second of its context's end")
			}
		})
	}
	t.Cleanup(stop)
	return out, stop
}

func collect(out <-chan Press) []Press {
	var ps []Press
	for p := range out {
		ps = append(ps, p)
	}
	return ps
}

// checkPresses fails unless the presses are exactly want: went down at
// the offsets from t0, counted after the holds.
func checkPresses(t *testing.T, got []Press, t0 time.Time, want ...Press) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].At.Sub(t0) == want[i].At.Sub(time.Time{}) && got[i].Held == want[i].Held
	}
	if !ok {
		var g, w []string
		for _, p := range got {
			g = append(g, fmt.Sprintf("down at %v, held %v", p.At.Sub(t0), p.Held))
		}
		for _, p := range want {
			w = append(w, fmt.Sprintf("down at %v, held %v", p.At.Sub(time.Time{}), p.Held))
		}
		t.Errorf("presses %q, want %q", g, w)
	}
}

// at is a press that went down d after the test began, counted after held.
func at(d, held time.Duration) Press { return Press{At: time.Time{}.Add(d), Held: held} }

const ms = time.Millisecond

// A bouncing press and release counts once, as soon as the contact has
// been quiet for the debounce time; a glitch shorter than the debounce
// time does not count.
func TestDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		p, in := openButton(t)
		out, stop := run(t, New(in, Options{Debounce: 100 * ms, Poll: 20 * ms}, nil))
		// Bouncy press: low/high/low within a few ms, then held 300 ms;
		// bouncy release.
		edges(p, step{10 * ms, gpio.Low}, step{ms, gpio.High}, step{ms, gpio.Low}, step{300 * ms, gpio.High}, step{ms, gpio.Low}, step{ms, gpio.High})
		// A 5 ms glitch.
		edges(p, step{300 * ms, gpio.Low}, step{5 * ms, gpio.High})
		time.Sleep(300 * ms)
		stop()
		// Down at the first edge, counted when the bounces had been
		// quiet for 100 ms.
		checkPresses(t, collect(out), t0, at(10*ms, 102*ms))
	})
}

// With Hold, only a long press counts, and it counts while still held,
// the moment it has been held that long.
func TestHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		p, in := openButton(t)
		out, stop := run(t, New(in, Options{Debounce: 10 * ms, Hold: 500 * ms, Poll: 20 * ms}, nil))
		edges(p, step{10 * ms, gpio.Low}, step{50 * ms, gpio.High}) // short: ignored
		edges(p, step{100 * ms, gpio.Low})                          // long press begins
		var got []Press
		select {
		case press := <-out:
			got = append(got, press)
		case <-time.After(5 * time.Second):
			t.Fatal("a long press was not counted while held")
		}
		if held := time.Since(t0); held != 660*ms {
			t.Errorf("the press was counted %v after the test began, want 660ms (down at 160ms, held 500ms)", held)
		}
		edges(p, step{200 * ms, gpio.High})
		time.Sleep(50 * ms)
		stop()
		checkPresses(t, append(got, collect(out)...), t0, at(160*ms, 500*ms))
	})
}

// A button held when the device starts (or stuck) does not fire until it
// has been released and pressed again.
func TestHeldAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		p, in := openButton(t)
		p.Out(gpio.Low) // held
		out, stop := run(t, New(in, Options{Debounce: 10 * ms, Poll: 20 * ms}, nil))
		time.Sleep(100 * ms)
		edges(p, step{0, gpio.High}, step{50 * ms, gpio.Low}, step{50 * ms, gpio.High})
		time.Sleep(50 * ms)
		stop()
		checkPresses(t, collect(out), t0, at(150*ms, 10*ms)) // the one after the release
	})
}

// store records what the button's action was asked to forget.
type store struct {
	mu     sync.Mutex
	forgot []string
	fail   error
}

func (s *store) Forget(_ context.Context, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.forgot = append(s.forgot, v)
	return nil
}

// The whole binding: each press on GPIO22 runs the action once; a
// failing action is logged and the button keeps working.
func TestServeRunsAction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, in := openButton(t)
		s := &store{}
		action := func(ctx context.Context, _ Press) error { return s.Forget(ctx, "id-7") }
		var logs logtest.Buffer
		b := New(in, Options{Debounce: 10 * ms, Poll: 20 * ms}, logs.Logger())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Serve(ctx, action) }()
		edges(p, step{10 * ms, gpio.Low}, step{50 * ms, gpio.High})
		synctest.Wait()
		if len(s.forgot) != 1 || s.forgot[0] != "id-7" {
			t.Errorf("forgot %v after one press, want [id-7]", s.forgot)
		}
		s.mu.Lock()
		s.fail = errors.New("store closed")
		s.mu.Unlock()
		edges(p, step{100 * ms, gpio.Low}, step{50 * ms, gpio.High})
		synctest.Wait()
		if !strings.Contains(logs.String(), "button: action failed") || !strings.Contains(logs.String(), "store closed") {
			t.Errorf("the failed action was not logged: %q", logs.String())
		}
		s.mu.Lock()
		s.fail = nil
		s.mu.Unlock()
		edges(p, step{100 * ms, gpio.Low}, step{50 * ms, gpio.High})
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(s.forgot) != 2 {
			t.Errorf("forgot %v after three presses, the second failing; want two", s.forgot)
		}
	})
}

// With a long hold: a press held past Hold but released before Long is
// reported at its release, never while held; a press held Long is
// reported once, as long, when it reaches Long, and its release reports
// nothing more; a short tap reports nothing.
func TestLongHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, in := openButton(t)
		b := New(in, Options{Debounce: 10 * ms, Poll: 20 * ms, Hold: 2 * time.Second, Long: 10 * time.Second}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan Press, 8)
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx, out) }()
		// A tap: nothing.
		edges(p, step{10 * ms, gpio.Low}, step{300 * ms, gpio.High})
		synctest.Wait()
		if len(out) != 0 {
			t.Fatalf("a tap reported %+v", <-out)
		}
		// Held 3 s: nothing while held, one short press at the release.
		edges(p, step{time.Second, gpio.Low})
		time.Sleep(2500 * ms)
		synctest.Wait()
		if len(out) != 0 {
			t.Fatalf("a hold reported %+v before its release", <-out)
		}
		edges(p, step{500 * ms, gpio.High})
		time.Sleep(100 * ms)
		synctest.Wait()
		select {
		case pr := <-out:
			if pr.Long || pr.Held < 2900*ms || pr.Held > 3100*ms {
				t.Errorf("held 3 s: %+v", pr)
			}
		default:
			t.Fatal("a 3 s hold reported nothing at its release")
		}
		// Held 12 s: one long press at 10 s, nothing at the release.
		edges(p, step{time.Second, gpio.Low})
		down := time.Now()
		time.Sleep(10*time.Second + 100*ms)
		synctest.Wait()
		select {
		case pr := <-out:
			if !pr.Long || pr.Held < 10*time.Second || pr.Held > 10*time.Second+100*ms {
				t.Errorf("held 10 s: %+v", pr)
			}
		default:
			t.Fatalf("nothing reported %v after the button went down", time.Since(down))
		}
		edges(p, step{2 * time.Second, gpio.High})
		time.Sleep(time.Second)
		synctest.Wait()
		if len(out) != 0 {
			t.Errorf("the long hold's release reported %+v", <-out)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
