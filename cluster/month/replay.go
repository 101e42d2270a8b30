package month

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"joren/cluster/identity"
	"joren/vocab"
)

// Vision converts a file visit into the pipeline's visit for a store of
// model. A visit that names another model is refused.
func (v Visit) Vision(model vocab.Model) (vocab.Visit, error) {
	if v.Model != "" && v.Model != model.ID() && v.Model != model.Name {
		return vocab.Visit{}, fmt.Errorf("visit %s: descriptors of model %s, but the store holds model %s", v.ID, v.Model, model.ID())
	}
	return vocab.Visit{
		ID: v.ID, Start: v.Time, End: v.Time, Model: model,
		Descriptors: v.Descriptors, Faces: len(v.Descriptors), Together: v.Together,
	}, nil
}

// Stream feeds the visits next returns (io.EOF after the last) through the
// service's Run stage, exactly as the device does, and calls emit with
// every decision, in order, once it is durable. Reading, deciding and
// emitting run concurrently, supervised by one errgroup: the first error
// of deciding or emitting stops all three. A bad input ends the input
// instead: the visits before it are still decided and emitted, and then
// its error is returned. An error about a visit read from a file starts
// with where it was read (Visit.Source, FILE:LINE).
func Stream(ctx context.Context, svc *identity.Service, next func() (Visit, error), emit func(vocab.Decision) error) (identity.RunStats, error) {
	var (
		readErr, runErr error
		// deciding is the Source of the last visit Run took: the channel
		// is unbuffered, so when Run fails, that is the visit it was on.
		deciding string
	)
	before := svc.Counters()
	g, ctx := errgroup.WithContext(ctx)
	in := make(chan vocab.Visit)
	out := make(chan vocab.Decision, 16)
	g.Go(func() error {
		defer close(in)
		for {
			v, err := next()
			if err == io.EOF {
				return nil
			}
			if err == nil {
				var vv vocab.Visit
				if vv, err = v.Vision(svc.Model()); err == nil {
					select {
					case in <- vv:
						deciding = v.Source
						continue
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if v.Source != "" {
					err = fmt.Errorf("%s: %w", v.Source, err)
				}
			}
			readErr = err
			return nil
		}
	})
	g.Go(func() error {
		runErr = svc.Run(ctx, in, out)
		return runErr
	})
	g.Go(func() error {
		for d := range out {
			if err := emit(d); err != nil {
				return err
			}
		}
		return nil
	})
	err := g.Wait()
	after := svc.Counters()
	stats := identity.RunStats{Decided: after.Decided - before.Decided, Repeated: after.Repeated - before.Repeated, Passes: after.Passes - before.Passes, Held: after.Held - before.Held}
	if err != nil && err == runErr && deciding != "" && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%s: %w", deciding, err)
	}
	if err != nil {
		return stats, err
	}
	return stats, readErr
}

// Replay runs a month through the service and returns its outcomes.
func Replay(ctx context.Context, svc *identity.Service, visits []Visit) ([]Outcome, identity.RunStats, error) {
	i := 0
	next := func() (Visit, error) {
		if i == len(visits) {
			return Visit{}, io.EOF
		}
		i++
		return visits[i-1], nil
	}
	var out []Outcome
	stats, err := Stream(ctx, svc, next, func(d vocab.Decision) error {
		out = append(out, OutcomeOf(d))
		return nil
	})
	return out, stats, err
}
