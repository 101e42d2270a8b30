package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/device/button"
	"joren/device/indicator"
	"joren/device/pins"
)

// indicatorFlags configure the staff indicator (and its optional button)
// for every command that drives it.
type indicatorFlags struct {
	mode     string
	led      string
	buzzer   string
	patterns []string
	button   string
	hold     time.Duration
}

func (f *indicatorFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.mode, "indicator", "gpio", "gpio: drive --led and --buzzer; log: print the patterns (machines without GPIO)")
	fl.StringVar(&f.led, "led", envOr("JOREN_LED", "GPIO17"), "LED pin, NAME or NAME:low for active-low (env JOREN_LED)")
	fl.StringVar(&f.buzzer, "buzzer", envOr("JOREN_BUZZER", ""), "buzzer pin, NAME or NAME:low (env JOREN_BUZZER; default: none)")
	fl.StringArrayVar(&f.patterns, "pattern", nil, `KIND=PATTERN, repeatable: kinds regular, became-regular, returning, new, staff, forgot;
patterns such as "led+buzz 100ms, off 100ms, led 100ms" or none`)
	fl.StringVar(&f.button, "button", envOr("JOREN_BUTTON", ""), "optional button pin (NAME or NAME:low), bound to forgetting the last visitor (env JOREN_BUTTON)")
	fl.DurationVar(&f.hold, "button-hold", 2*time.Second, "how long the button must be held to count (0: any press)")
}

// check validates the flags (usage errors).
func (f *indicatorFlags) check() error {
	switch f.mode {
	case "gpio", "log":
	default:
		return usagef("--indicator %q: want gpio or log", f.mode)
	}
	for _, s := range []struct{ flag, v string }{{"--led", f.led}, {"--buzzer", f.buzzer}, {"--button", f.button}} {
		if s.v == "" {
			continue
		}
		if _, err := pins.Parse(s.v); err != nil {
			return usagef("%s: %v", s.flag, err)
		}
	}
	if f.mode == "gpio" && f.led == "" {
		return usagef("--indicator gpio needs --led PIN")
	}
	if _, err := f.patternSet(); err != nil {
		return usagef("--pattern: %v", err)
	}
	return nil
}

func (f *indicatorFlags) patternSet() (indicator.Patterns, error) {
	ps := indicator.DefaultPatterns()
	for _, p := range f.patterns {
		if err := ps.Set(p); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// open returns the indicator on its output.
func (f *indicatorFlags) open(g *globals) (*indicator.Indicator, error) {
	ps, err := f.patternSet()
	if err != nil {
		return nil, usagef("--pattern: %v", err)
	}
	if f.mode == "log" {
		return indicator.New(indicator.NewLog(g.log), ps, g.log), nil
	}
	ledSpec, _ := pins.Parse(f.led)
	led, err := pins.OpenOutput(ledSpec)
	if err != nil {
		return nil, fmt.Errorf("--led: %w", err)
	}
	var buzz indicator.Line
	if f.buzzer != "" {
		spec, _ := pins.Parse(f.buzzer)
		b, err := pins.OpenOutput(spec)
		if err != nil {
			led.Halt()
			return nil, fmt.Errorf("--buzzer: %w", err)
		}
		buzz = b
	}
	return indicator.New(indicator.NewGPIO(led, buzz), ps, g.log), nil
}

// openButton returns the button, or nil without --button.
func (f *indicatorFlags) openButton(g *globals) (*button.Button, error) {
	if f.button == "" {
		return nil, nil
	}
	spec, _ := pins.Parse(f.button)
	in, err := pins.OpenInput(spec)
	if err != nil {
		return nil, fmt.Errorf("--button: %w", err)
	}
	return button.New(in, button.Options{Hold: f.hold}, g.log), nil
}

func newIndicatorCommand(g *globals) *cobra.Command {
	var f indicatorFlags
	cmd := &cobra.Command{
		Use:   "indicator [KIND...]",
		Short: "Try the staff indicator: play patterns on the LED and buzzer, test the button",
		Long: `indicator checks the wiring of the staff indicator after installation. It plays
the pattern of each KIND given (default: regular), one after the other, on the
LED and buzzer:

  joren indicator --led GPIO17 --buzzer GPIO27:low regular became-regular

Kinds: regular (three short blinks and a short beep by default), became-regular,
returning, new, staff (the last three show nothing by default), forgot. Change a
pattern with --pattern KIND="led+buzz 100ms, off 100ms, led 100ms" (steps of
led, buzz, led+buzz or off, each with a duration; "none" for nothing).

With --button PIN, it then waits for presses until interrupted and confirms each
with the forgot pattern, without forgetting anything. --indicator log prints the
patterns instead, on machines without GPIO.`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !isKind(a) {
					return usagef("unknown kind %q (want one of %s)", a, kindNames())
				}
			}
			return f.check()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{string(indicator.Regular)}
			}
			ind, err := f.open(g)
			if err != nil {
				return err
			}
			ps, _ := f.patternSet()
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- ind.Run(ctx) }()
			for _, a := range args {
				k := indicator.Kind(a)
				fmt.Fprintf(g.stdout, "%s: %s\n", k, ps[k])
				ind.Show(k)
				// One at a time: the indicator would coalesce them.
				if !waitPlayed(ctx, ps[k]) {
					break
				}
			}
			b, err := f.openButton(g)
			if err != nil {
				cancel()
				<-done
				return err
			}
			if b != nil {
				fmt.Fprintf(g.stdout, "press the button on %s (hold %s); Ctrl-C to stop\n", f.button, f.hold)
				err = b.Serve(ctx, func(context.Context, button.Press) error {
					fmt.Fprintln(g.stdout, "button pressed")
					ind.Show(indicator.Forgot)
					return nil
				})
			}
			cancel()
			if rerr := <-done; err == nil {
				err = rerr
			}
			return err
		},
	}
	f.register(cmd)
	return cmd
}

// waitPlayed waits until the pattern just asked for has played.
func waitPlayed(ctx context.Context, p indicator.Pattern) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(p.Duration() + 300*time.Millisecond):
		return true
	}
}

func isKind(s string) bool {
	for _, k := range indicator.Kinds() {
		if string(k) == s {
			return true
		}
	}
	return false
}

func kindNames() string {
	var s []string
	for _, k := range indicator.Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}
