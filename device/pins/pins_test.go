package pins

import (
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{
		"GPIO17":            {Name: "GPIO17"},
		"GPIO17:low":        {Name: "GPIO17", ActiveLow: true},
		" GPIO4:active-low": {Name: "GPIO4", ActiveLow: true},
		"P1_11:high":        {Name: "P1_11"},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, _ := Parse(got.String()); back != got {
			t.Errorf("%+v does not round-trip through %q", got, got.String())
		}
	}
	for in, want := range map[string]string{"": "no name", ":low": "no name", "GPIO17:sideways": `polarity "sideways"`} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v, want %q", in, err, want)
		}
	}
}

func register(t *testing.T, p *gpiotest.Pin) {
	t.Helper()
	if err := gpioreg.Register(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gpioreg.Unregister(p.N) })
}

func TestOutputPolarity(t *testing.T) {
	high := &gpiotest.Pin{N: "GPIO17", Num: 17, L: gpio.High}
	low := &gpiotest.Pin{N: "GPIO27", Num: 27, L: gpio.Low}
	register(t, high)
	register(t, low)
	led, err := OpenOutput(Spec{Name: "GPIO17"})
	if err != nil {
		t.Fatal(err)
	}
	buzz, err := OpenOutput(Spec{Name: "GPIO27", ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	// Opened: off.
	if high.Read() != gpio.Low || low.Read() != gpio.High {
		t.Errorf("after open: active-high %s, active-low %s; want both off (Low, High)", high.Read(), low.Read())
	}
	led.Set(true)
	buzz.Set(true)
	if high.Read() != gpio.High || low.Read() != gpio.Low {
		t.Errorf("on: active-high %s, active-low %s", high.Read(), low.Read())
	}
	buzz.Halt()
	if low.Read() != gpio.High {
		t.Error("Halt did not turn the active-low line off")
	}
}

func TestInput(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO22", Num: 22, EdgesChan: make(chan gpio.Level, 1)}
	register(t, p)
	in, err := OpenInput(Spec{Name: "GPIO22", ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.P != gpio.PullUp || in.On() {
		t.Errorf("active-low input: pull %s, on %v; want pulled up and released", p.P, in.On())
	}
	p.EdgesChan <- gpio.Low
	if !in.WaitForEdge(-1) || !in.On() {
		t.Error("pressing the button (line low) did not read as on")
	}
}

func TestMissingPin(t *testing.T) {
	register(t, &gpiotest.Pin{N: "GPIO5", Num: 5})
	_, err := OpenOutput(Spec{Name: "GPIO99"})
	if err == nil || !strings.Contains(err.Error(), `no GPIO pin named "GPIO99"`) || !strings.Contains(err.Error(), "such as GPIO5") || !strings.Contains(err.Error(), "log indicator") {
		t.Errorf("missing pin: %v", err)
	}
	if _, err := OpenInput(Spec{Name: "GPIO98"}); err == nil {
		t.Error("missing input pin accepted")
	}
}

// Lookup finds what OpenOutput and OpenInput would, and leaves the line
// as it was.
func TestLookup(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO6", Num: 6, L: gpio.High}
	register(t, p)
	if err := Lookup(Spec{Name: "GPIO6", ActiveLow: true}); err != nil {
		t.Errorf("Lookup of a registered pin: %v", err)
	}
	if p.L != gpio.High {
		t.Error("Lookup changed the line's level")
	}
	if err := Lookup(Spec{Name: "GPIO97"}); err == nil || !strings.Contains(err.Error(), `no GPIO pin named "GPIO97"`) {
		t.Errorf("Lookup of a missing pin: %v", err)
	}
}
