package appliance

import (
	"context"
	"fmt"
	"time"

	"joren/vision/track"
	"joren/vocab"
)

// visits passes on the visits the identity store can use.
func (a *Appliance) visits(ctx context.Context, in <-chan track.Visit, out chan<- vocab.Visit) error {
	defer close(out)
	for {
		var v track.Visit
		select {
		case <-ctx.Done():
			return ctx.Err()
		case w, ok := <-in:
			if !ok {
				return nil
			}
			v = w
		}
		a.metrics.visit(v.Usable())
		if !v.Usable() {
			a.log.Debug("visit without a usable face", "visit", v.ID, "faces", v.Faces)
			continue
		}
		select {
		case out <- v.Visit:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fanOut acts on every durable decision: the indicator first (staff must
// not wait for the network or the disk), then the outbox.
func (a *Appliance) fanOut(ctx context.Context, in <-chan vocab.Decision, publish chan<- vocab.Decision) error {
	defer close(publish)
	for {
		var d vocab.Decision
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-in:
			if !ok {
				return nil
			}
			d = e
		}
		if a.ind != nil {
			a.ind.Show(kindOf(d))
		}
		a.forget.Observe(d)
		a.metrics.decision(d)
		a.recent.add(d)
		a.log.Info("visit decided", decisionAttrs(d)...)
		if a.o.OnDecision != nil {
			a.o.OnDecision(d, vocab.Visit{})
		}
		select {
		case publish <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// decisionAttrs are the log attributes of a decision.
func decisionAttrs(d vocab.Decision) []any {
	kind := string(kindOf(d))
	attrs := []any{"visit", d.Visit, "time", d.Time.Format(time.RFC3339), "kind", kind}
	if d.Staff != "" {
		return append(attrs, "staff", d.Staff)
	}
	if d.Unknown {
		return append(attrs, "visitor", "not enrolled", "confidence", fmt.Sprintf("%.2f", d.Confidence))
	}
	return append(attrs, "visitor", d.Visitor, "visits", d.Visits, "days", d.Days, "regular", d.Regular, "confidence", fmt.Sprintf("%.2f", d.Confidence))
}
