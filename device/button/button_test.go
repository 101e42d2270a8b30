package button

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"joren/device/pins"
)

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

// edges plays steps into the pin.
func edges(p *gpiotest.Pin, steps ...step) {
	for _, s := range steps {
		time.Sleep(s.after)
		p.EdgesChan <- s.to
	}
}

func run(t *testing.T, b *Button) (<-chan Press, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Press, 16)
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, out) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after its context ended")
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

const ms = time.Millisecond

// A bouncing press and release counts once; a glitch shorter than the
// debounce time does not count.
func TestDebounce(t *testing.T) {
	p, in := openButton(t)
	// A debounce time well above the bounces' gaps, so that a busy
	// machine's scheduling delays do not split a bounce into presses.
	out, stop := run(t, New(in, Options{Debounce: 100 * ms, Poll: 20 * ms}, nil))
	// Bouncy press: low/high/low within a few ms, then held 300 ms; bouncy
	// release.
	edges(p, step{10 * ms, gpio.Low}, step{ms, gpio.High}, step{ms, gpio.Low}, step{300 * ms, gpio.High}, step{ms, gpio.Low}, step{ms, gpio.High})
	// A 5 ms glitch.
	edges(p, step{300 * ms, gpio.Low}, step{5 * ms, gpio.High})
	time.Sleep(300 * ms)
	stop()
	if ps := collect(out); len(ps) != 1 {
		t.Errorf("%d presses, want 1: %+v", len(ps), ps)
	}
}

// With Hold, only a long press counts, and it counts while still held.
func TestHold(t *testing.T) {
	p, in := openButton(t)
	out, stop := run(t, New(in, Options{Debounce: 10 * ms, Hold: 500 * ms, Poll: 20 * ms}, nil))
	edges(p, step{10 * ms, gpio.Low}, step{50 * ms, gpio.High}) // short: ignored
	edges(p, step{100 * ms, gpio.Low})                          // long press begins
	select {
	case press := <-out:
		if press.Held < 500*ms {
			t.Errorf("press counted after %s, want at least the hold time", press.Held)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a long press was not counted while held")
	}
	edges(p, step{200 * ms, gpio.High})
	time.Sleep(50 * ms)
	stop()
	if ps := collect(out); len(ps) != 0 {
		t.Errorf("extra presses: %+v", ps)
	}
}

// A button held when the device starts (or stuck) does not fire until it
// has been released and pressed again.
func TestHeldAtStart(t *testing.T) {
	p, in := openButton(t)
	p.Out(gpio.Low) // held
	out, stop := run(t, New(in, Options{Debounce: 10 * ms, Poll: 20 * ms}, nil))
	time.Sleep(100 * ms)
	edges(p, step{0, gpio.High}, step{50 * ms, gpio.Low}, step{50 * ms, gpio.High})
	time.Sleep(50 * ms)
	stop()
	if ps := collect(out); len(ps) != 1 {
		t.Errorf("%d presses, want 1 (the one after the release)", len(ps))
	}
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

// The whole binding: a press on GPIO22 runs the action once.
func TestServeRunsAction(t *testing.T) {
	p, in := openButton(t)
	s := &store{}
	action := func(ctx context.Context) error { return s.Forget(ctx, "id-7") }
	b := New(in, Options{Debounce: 10 * ms, Poll: 20 * ms}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, action) }()
	edges(p, step{10 * ms, gpio.Low}, step{50 * ms, gpio.High})
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.forgot)
		s.mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * ms)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(s.forgot) != 1 || s.forgot[0] != "id-7" {
		t.Errorf("forgot %v, want [id-7]", s.forgot)
	}
}
