package pins

import (
	"fmt"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Spec names a GPIO line and its polarity.
type Spec struct {
	// Name is the pin's name, number or alias in periph.io's registry.
	Name string
	// ActiveLow means the line is low when the thing on it is on (an LED
	// to 3.3 V, a button to ground with a pull-up).
	ActiveLow bool
}

// Parse reads NAME or NAME:low (also NAME:active-low, NAME:high).
func Parse(s string) (Spec, error) {
	name, pol, _ := strings.Cut(strings.TrimSpace(s), ":")
	if name == "" {
		return Spec{}, fmt.Errorf("GPIO pin %q: no name (want a name such as GPIO17, optionally :low for active-low)", s)
	}
	switch strings.ToLower(pol) {
	case "", "high", "active-high":
		return Spec{Name: name}, nil
	case "low", "active-low":
		return Spec{Name: name, ActiveLow: true}, nil
	}
	return Spec{}, fmt.Errorf("GPIO pin %q: polarity %q, want low or high", s, pol)
}

func (s Spec) String() string {
	if s.ActiveLow {
		return s.Name + ":low"
	}
	return s.Name
}

// find initialises the host's drivers and looks the pin up.
func find(s Spec) (gpio.PinIO, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("initialising GPIO drivers: %w", err)
	}
	if p := gpioreg.ByName(s.Name); p != nil {
		return p, nil
	}
	all := gpioreg.All()
	names := make([]string, 0, 8)
	for _, p := range all[:min(len(all), 8)] {
		names = append(names, p.Name())
	}
	have := "this machine has no GPIO pins"
	if len(all) > 0 {
		have = fmt.Sprintf("this machine has %d, such as %s", len(all), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("no GPIO pin named %q (%s); on a machine without GPIO use the log indicator", s.Name, have)
}

// Lookup tells whether this machine has the pin s names, without
// touching the line: `joren config check` asks before the appliance
// claims it.
func Lookup(s Spec) error {
	_, err := find(s)
	return err
}

// Output drives an output line by meaning (on/off), not by level.
type Output struct {
	spec Spec
	pin  gpio.PinOut
}

// OpenOutput finds the pin and turns it off.
func OpenOutput(s Spec) (*Output, error) {
	p, err := find(s)
	if err != nil {
		return nil, err
	}
	o := &Output{spec: s, pin: p}
	if err := o.Set(false); err != nil {
		return nil, err
	}
	return o, nil
}

// NewOutput wraps a pin the caller found.
func NewOutput(s Spec, p gpio.PinOut) *Output { return &Output{spec: s, pin: p} }

// Set turns the line on or off.
func (o *Output) Set(on bool) error {
	l := gpio.Level(on != o.spec.ActiveLow)
	if err := o.pin.Out(l); err != nil {
		return fmt.Errorf("setting GPIO %s %s: %w", o.spec, l, err)
	}
	return nil
}

// Halt turns the line off and releases it.
func (o *Output) Halt() error {
	err := o.Set(false)
	if herr := o.pin.Halt(); err == nil && herr != nil {
		err = fmt.Errorf("halting GPIO %s: %w", o.spec, herr)
	}
	return err
}

// Spec returns the line's spec.
func (o *Output) Spec() Spec { return o.spec }

// Input is an input line read by meaning (pressed or not).
type Input struct {
	spec Spec
	pin  gpio.PinIn
}

// OpenInput finds the pin and configures it as an input reporting both
// edges, pulled towards "off" (up for active-low, down otherwise) so that
// an open switch reads as released.
func OpenInput(s Spec) (*Input, error) {
	p, err := find(s)
	if err != nil {
		return nil, err
	}
	pull := gpio.PullDown
	if s.ActiveLow {
		pull = gpio.PullUp
	}
	if err := p.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("configuring GPIO %s as an input: %w", s, err)
	}
	return &Input{spec: s, pin: p}, nil
}

// On reports whether the line is active.
func (i *Input) On() bool { return bool(i.pin.Read()) != i.spec.ActiveLow }

// WaitForEdge waits up to timeout for an edge (periph's semantics).
func (i *Input) WaitForEdge(timeout time.Duration) bool { return i.pin.WaitForEdge(timeout) }

// Halt stops edge detection.
func (i *Input) Halt() error { return i.pin.Halt() }

// Spec returns the line's spec.
func (i *Input) Spec() Spec { return i.spec }
