package appliance

import (
	"context"
	"fmt"
	"time"

	"joren/device/button"
	"joren/device/indicator"
	"joren/device/pins"
	"joren/vocab"
)

// kindOf says which of the indicator's patterns decision d calls for. It
// lives here, not in the indicator: the indicator plays patterns on lines
// and knows nothing of what the identity store decides.
func kindOf(d vocab.Decision) indicator.Kind {
	switch {
	case d.Staff != "":
		return indicator.Staff
	case d.Unknown:
		// Consent mode: someone who did not enrol is, for staff, as good
		// as a new face.
		return indicator.NewVisitor
	case d.BecameRegular:
		return indicator.BecameRegular
	case d.Regular:
		return indicator.Regular
	case d.New:
		return indicator.NewVisitor
	default:
		return indicator.Returning
	}
}

// openIndicator opens the staff indicator's output (GPIO lines, the log,
// or the caller's) with the configured patterns, and the button.
func (a *Appliance) openIndicator() error {
	c := a.cfg.Indicator
	ps, err := c.Patterns()
	if err != nil {
		return err
	}
	var out indicator.Output
	switch {
	case a.o.IndicatorOutput != nil:
		out = a.o.IndicatorOutput
	case c.Kind == "log":
		out = indicator.NewLog(a.log)
	case c.Kind == "gpio":
		var led, buzz indicator.Line
		for _, p := range []struct {
			key, spec string
			dst       *indicator.Line
		}{{"indicator.led", c.LED, &led}, {"indicator.buzzer", c.Buzzer, &buzz}} {
			if p.spec == "" {
				continue
			}
			spec, err := pins.Parse(p.spec)
			if err != nil {
				return fmt.Errorf("%s: %w", p.key, err)
			}
			line, err := pins.OpenOutput(spec)
			if err != nil {
				return fmt.Errorf("%s: %w", p.key, err)
			}
			*p.dst = line
			a.lines = append(a.lines, line)
		}
		out = indicator.NewGPIO(led, buzz)
	}
	if out != nil {
		a.ind = indicator.New(out, ps, a.log)
	}
	if c.Button != "" {
		spec, err := pins.Parse(c.Button)
		if err != nil {
			return fmt.Errorf("indicator.button: %w", err)
		}
		in, err := pins.OpenInput(spec)
		if err != nil {
			return fmt.Errorf("indicator.button: %w", err)
		}
		a.lines = append(a.lines, in)
		a.btn = button.New(in, button.Options{Hold: 2 * time.Second, Long: PageHold}, a.log)
	}
	return nil
}

// PageHold is how long the staff button is held to turn the box's page on
// again (held 2 s and released, it forgets the last customer).
const PageHold = 10 * time.Second

// pressed is the button's action: held PageHold, turn the page on again
// (the light plays its start-up test to say so); held 2 s, forget the last
// customer.
func (a *Appliance) pressed(ctx context.Context, p button.Press) error {
	if p.Long {
		if err := a.TurnPageOn("the staff button"); err != nil {
			return err
		}
		if a.ind != nil {
			a.ind.Show(indicator.Started)
		}
		return nil
	}
	return a.forgetLast(ctx)
}

// forgetLast forgets the last customer seen.
func (a *Appliance) forgetLast(ctx context.Context) error {
	err := a.forget.Do(ctx)
	if err == nil && a.ind != nil {
		a.ind.Show(indicator.Forgot)
	}
	return err
}
