package button

import (
	"context"
	"log/slog"
	"time"
)

// Line is a debounced button's input; *pins.Input is one.
type Line interface {
	// On reports whether the button is pressed now.
	On() bool
	// WaitForEdge waits up to timeout for the level to change.
	WaitForEdge(timeout time.Duration) bool
}

// Options tune a button.
type Options struct {
	// Debounce is how long the line must be quiet for a level to count
	// (default 30 ms).
	Debounce time.Duration
	// Hold is how long the button must be held for a press to count
	// (default 0: any press). The press is reported as soon as it has
	// been held that long, without waiting for the release (unless Long
	// is set).
	Hold time.Duration
	// Long, if set, is a second, longer hold that means something else
	// (the box's page: turn it on again). A press held Long is reported
	// when it reaches Long, with Press.Long set; a press held at least
	// Hold but released before Long is reported at its release, so that a
	// long hold never does what the shorter one does first.
	Long time.Duration
	// Poll bounds each wait for an edge, so that Run notices its context
	// ending (default 200 ms).
	Poll time.Duration
}

// Press is one counted press.
type Press struct {
	// At is when the button went down.
	At time.Time
	// Held is how long it had been held when the press was counted.
	Held time.Duration
	// Long is set for a press held Options.Long.
	Long bool
}

// Button reports debounced presses of a Line.
type Button struct {
	line Line
	opt  Options
	log  *slog.Logger
}

// New returns a button on line; log receives presses dropped and actions
// failed (nil: discarded).
func New(line Line, opt Options, log *slog.Logger) *Button {
	if opt.Debounce <= 0 {
		opt.Debounce = 30 * time.Millisecond
	}
	if opt.Poll <= 0 {
		opt.Poll = 200 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Button{line: line, opt: opt, log: log}
}

// Run sends each press to out until ctx is done, then closes out. It
// never blocks on out: a press that arrives while the previous one is
// still being handled is dropped (and logged), as a doorbell would.
func (b *Button) Run(ctx context.Context, out chan<- Press) error {
	defer close(out)
	pressed := b.line.On()
	var (
		down  time.Time
		fired bool
	)
	emit := func(now time.Time, long bool) {
		fired = true
		select {
		case out <- Press{At: down, Held: now.Sub(down), Long: long}:
		default:
			b.log.Warn("button: press ignored, the previous one is still being handled")
		}
	}
	if pressed {
		// Held at start (or stuck): wait for a release before counting.
		fired = true
	}
	for ctx.Err() == nil {
		// Held, the press is counted once it reaches this.
		hold := b.opt.Hold
		if b.opt.Long > 0 {
			hold = b.opt.Long
		}
		wait := b.opt.Poll
		if pressed && !fired {
			wait = max(0, time.Until(down.Add(hold)))
		}
		if !b.line.WaitForEdge(wait) {
			if pressed && !fired && time.Since(down) >= hold {
				emit(time.Now(), b.opt.Long > 0)
			}
			continue
		}
		// An edge: let the contact settle before believing the level.
		edgeAt := time.Now()
		for ctx.Err() == nil && b.line.WaitForEdge(b.opt.Debounce) {
		}
		on := b.line.On()
		if on == pressed {
			continue // a glitch, or a bounce that came back
		}
		pressed = on
		switch {
		case pressed:
			down, fired = edgeAt, false
			if b.opt.Hold <= 0 && b.opt.Long <= 0 {
				emit(time.Now(), false)
			}
		case !fired && b.opt.Long > 0 && edgeAt.Sub(down) >= b.opt.Hold:
			// Released after Hold, before Long.
			emit(edgeAt, false)
		}
	}
	return nil
}

// Action is what a press does.
type Action func(ctx context.Context, p Press) error

// Serve runs action for each press until ctx is done; an action's error
// is logged, not returned: the button keeps working.
func (b *Button) Serve(ctx context.Context, action Action) error {
	presses := make(chan Press, 1)
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, presses) }()
	for p := range presses {
		if err := action(ctx, p); err != nil {
			b.log.Warn("button: action failed", "held", p.Held.Round(time.Millisecond), "error", err)
		}
	}
	return <-done
}
