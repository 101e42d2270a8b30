package indicator

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Output plays patterns: GPIO lines or the log.
type Output interface {
	// Play shows p and returns when it is over or ctx is done, with
	// everything off.
	Play(ctx context.Context, k Kind, p Pattern) error
	// Off turns everything off for good (shutdown).
	Off() error
}

// Indicator plays a pattern per request on an Output without ever
// blocking the caller.
type Indicator struct {
	out      Output
	patterns Patterns
	log      *slog.Logger
	wake     chan struct{}

	mu      sync.Mutex
	pending Kind // "" when nothing waits
	// idle is closed while nothing plays or waits (Drain waits on it).
	idle chan struct{}

	played    atomic.Int64
	coalesced atomic.Int64
}

// New returns an indicator; patterns nil means DefaultPatterns. log
// receives the lines that failed (nil: discarded).
func New(out Output, patterns Patterns, log *slog.Logger) *Indicator {
	if patterns == nil {
		patterns = DefaultPatterns()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	idle := make(chan struct{})
	close(idle)
	return &Indicator{out: out, patterns: patterns, log: log, wake: make(chan struct{}, 1), idle: idle}
}

// busy marks the indicator busy (a request waits or plays); in.mu held.
func (in *Indicator) busy() {
	select {
	case <-in.idle:
		in.idle = make(chan struct{})
	default:
	}
}

// done marks the indicator idle; in.mu held.
func (in *Indicator) done() {
	select {
	case <-in.idle:
	default:
		close(in.idle)
	}
}

// Drain waits until the pattern playing and the one waiting are over, or
// ctx is done: a recording that ended shows its last decision whole
// before the indicator is stopped (a stop by signal cuts it short).
func (in *Indicator) Drain(ctx context.Context) error {
	in.mu.Lock()
	idle := in.idle
	in.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Show asks for the pattern of k. It never blocks: if a pattern is
// playing, k waits in a single slot where the most important request
// wins; the others are counted as coalesced.
func (in *Indicator) Show(k Kind) {
	if len(in.patterns[k]) == 0 {
		return
	}
	in.mu.Lock()
	in.busy()
	switch {
	case in.pending == "":
		in.pending = k
	case rank(k) < rank(in.pending):
		in.pending = k
		in.coalesced.Add(1)
	default:
		in.coalesced.Add(1)
	}
	in.mu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Played counts the patterns played; Coalesced the requests merged into
// another.
func (in *Indicator) Played() int    { return int(in.played.Load()) }
func (in *Indicator) Coalesced() int { return int(in.coalesced.Load()) }

// Run is the indicator stage: it plays the patterns asked for with Show
// until ctx is done, and turns everything off when it returns.
func (in *Indicator) Run(ctx context.Context) error {
	defer func() {
		if err := in.out.Off(); err != nil {
			in.log.Error("indicator: turning off", "error", err)
		}
	}()
	for {
		in.mu.Lock()
		k := in.pending
		in.pending = ""
		if k == "" {
			in.done()
		}
		in.mu.Unlock()
		if k != "" {
			in.played.Add(1)
			if err := in.out.Play(ctx, k, in.patterns[k]); err != nil && ctx.Err() == nil {
				// A broken LED must not stop the pipeline: say so
				// and go on.
				in.log.Error("indicator: playing a pattern", "kind", k, "error", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.wake:
		}
	}
}
