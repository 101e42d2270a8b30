package identity

import (
	"context"
	"errors"
	"fmt"

	"joren/vocab"
)

// Counters return what Run has done since the service was made.
func (s *Service) Counters() RunStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters
}

// RunStats counts what Run did.
type RunStats struct {
	// Decided visits, and Repeated ones (decided before: a resumed
	// replay), whose recorded decisions were sent again.
	Decided, Repeated int
	// Passes is the number of maintenance passes run.
	Passes int
	// Held counts the visits decided while the clock was not trusted
	// (ClockState): they counted no day, made nobody a regular, and no
	// retention ran as of their time.
	Held int
}

// Run is the identity stage of the pipeline: it decides every visit
// received on in and sends each decision on out, which it closes when in
// is closed or ctx is done. Before the first visit of each local day it
// runs a maintenance pass, clocked by the visits themselves, so a replay of
// recorded visits does exactly what the device did. A decision is sent
// only once it is durable in the store.
//
// Visits decided before (by id) are not decided again: their recorded
// decisions are sent as they were made. So a replay interrupted by a crash
// resumes where it stopped, and its output, from the start, is exactly
// that of an uninterrupted replay.
func (s *Service) Run(ctx context.Context, in <-chan vocab.Visit, out chan<- vocab.Decision) error {
	return s.RunUntil(ctx, ctx, in, out)
}

// RunUntil is Run for a stage that is stopped before it is ended: once
// stop is done, a maintenance pass in progress stops at its next step (the
// next pass resumes it) and no other starts, but the visits still coming
// (those of the people in view when the camera stopped) are decided until
// in is closed; ctx ends the stage at once.
func (s *Service) RunUntil(ctx, stop context.Context, in <-chan vocab.Visit, out chan<- vocab.Decision) error {
	defer close(out)
	count := func(f func(*RunStats)) {
		s.mu.Lock()
		f(&s.counters)
		s.mu.Unlock()
	}
	// A pass stops when either context is done.
	maint, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(stop, cancel)()
	for {
		var v vocab.Visit
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case v, ok = <-in:
		}
		if !ok {
			return nil
		}
		d, done, err := s.Decided(v.ID)
		if err != nil {
			return fmt.Errorf("visit %s: %w", v.ID, err)
		}
		if done {
			count(func(c *RunStats) { c.Repeated++ })
		} else {
			if maint.Err() == nil && s.MaintenanceDue(v.Start) {
				_, err := s.Maintain(maint, v.Start)
				switch {
				case err == nil:
					count(func(c *RunStats) { c.Passes++ })
				case ctx.Err() == nil && stop.Err() != nil && errors.Is(err, context.Canceled):
					// Stopped in the middle: decide the visit all the same.
				default:
					return err
				}
			}
			if d, err = s.Observe(ctx, v); err != nil {
				return err
			}
			count(func(c *RunStats) { c.Decided++ })
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case out <- d:
		}
	}
}
