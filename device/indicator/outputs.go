package indicator

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Line is one output line switched by meaning; *pins.Output is one.
type Line interface {
	Set(on bool) error
	Halt() error
}

// GPIO plays patterns on an LED line and an optional buzzer line.
type GPIO struct {
	led, buzzer Line
}

// NewGPIO returns an Output on led and buzzer (nil: no buzzer).
func NewGPIO(led, buzzer Line) *GPIO { return &GPIO{led: led, buzzer: buzzer} }

func (g *GPIO) set(led, buzz bool) error {
	err := g.led.Set(led)
	if g.buzzer != nil {
		err = errors.Join(err, g.buzzer.Set(buzz))
	}
	return err
}

// Play implements Output.
func (g *GPIO) Play(ctx context.Context, _ Kind, p Pattern) error {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for _, s := range p {
		if err := g.set(s.LED, s.Buzzer); err != nil {
			g.set(false, false)
			return err
		}
		t.Reset(s.For)
		select {
		case <-ctx.Done():
			return g.set(false, false)
		case <-t.C:
		}
	}
	return g.set(false, false)
}

// Off implements Output: lines off and released.
func (g *GPIO) Off() error {
	err := g.led.Halt()
	if g.buzzer != nil {
		err = errors.Join(err, g.buzzer.Halt())
	}
	return err
}

// Log "plays" patterns by logging them, for machines without GPIO
// (--indicator log) and for watching a replay.
type Log struct{ log *slog.Logger }

// NewLog returns an Output writing to log (nil: discarded).
func NewLog(log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{log: log}
}

// Play implements Output.
func (l *Log) Play(_ context.Context, k Kind, p Pattern) error {
	l.log.Info("indicator", "kind", string(k), "pattern", p.String())
	return nil
}

// Off implements Output.
func (l *Log) Off() error {
	l.log.Debug("indicator off")
	return nil
}
