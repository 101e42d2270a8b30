package ingest

import (
	"context"
	"errors"
	"time"

	"joren/office"
)

// write gathers messages from in into batches and commits them until ctx
// ends or until is closed (then it commits what in holds and returns).
// No batch is committed before notBefore. net marks the safety net's
// messages.
func (c *Collector) write(ctx context.Context, in <-chan message, until <-chan struct{}, notBefore time.Time, net bool) error {
	pending := make([]message, 0, c.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		finishing := false
		select {
		case <-ctx.Done():
			return nil
		case <-until:
			finishing = true
		case m := <-in:
			pending = append(pending, m)
			timer.Reset(c.cfg.Linger)
		gather:
			for len(pending) < c.cfg.BatchSize {
				select {
				case m := <-in:
					pending = append(pending, m)
				case <-timer.C:
					break gather
				case <-ctx.Done():
					break gather
				}
			}
			timer.Stop()
		}
		if finishing {
			// Everything before the end is in the channel already.
		take:
			for len(pending) < c.cfg.BatchSize {
				select {
				case m := <-in:
					pending = append(pending, m)
				default:
					break take
				}
			}
		}
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(notBefore)):
			}
			// The batch in hand is committed even when stopping: a few
			// more seconds at most, and its messages need not come again.
			wctx := ctx
			if ctx.Err() != nil {
				var cancel context.CancelFunc
				wctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
			}
			c.commit(wctx, pending, net)
		}
		if ctx.Err() != nil || finishing && len(pending) == 0 {
			return nil
		}
		pending = pending[:0]
	}
}

// commit writes msgs and acknowledges them once committed. A database
// that is away is waited for; messages it refuses are quarantined one by
// one. If ctx ends first nothing is acknowledged (the broker delivers
// the messages again).
func (c *Collector) commit(ctx context.Context, msgs []message, net bool) {
	var b office.Batch
	outcomes := make([]string, len(msgs))
	for i, m := range msgs {
		outcomes[i] = c.dec.add(&b, m)
	}
	wait := 100 * time.Millisecond
	var logged bool
	for {
		start := time.Now()
		res, err := c.cfg.Store.Write(ctx, &b)
		if err == nil {
			c.done(msgs, outcomes, &b, res, time.Since(start), net)
			if logged {
				c.log.Info("the store takes batches again")
			}
			return
		}
		if m := c.cfg.Metrics; m != nil {
			m.errors.Inc()
		}
		var de office.DataError
		if errors.As(err, &de) {
			c.isolate(ctx, msgs, err, net)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !logged {
			c.log.Error("cannot write to the store; holding the batch (its messages are not acknowledged) and trying again", "messages", len(msgs), "error", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// isolate writes messages one by one after the store refused their batch:
// the one it refuses again is quarantined with the store's reason.
func (c *Collector) isolate(ctx context.Context, msgs []message, err error, net bool) {
	if len(msgs) > 1 {
		c.log.Warn("the store refused a batch; writing its messages one by one", "messages", len(msgs), "error", err)
		for _, m := range msgs {
			c.commit(ctx, []message{m}, net)
		}
		return
	}
	m := msgs[0]
	c.log.Error("the store refused a message; quarantined", "topic", m.topic, "error", err)
	var b office.Batch
	b.Quarantine = append(b.Quarantine, office.Quarantined{
		Hash: hash(m.topic, m.payload), Topic: m.topic, Payload: m.payload[:min(len(m.payload), c.cfg.MaxPayload)],
		Reason: oneLine("the database refused it: " + err.Error()), FirstSeen: m.at, LastSeen: m.at, Times: 1,
	})
	for ctx.Err() == nil {
		res, werr := c.cfg.Store.Write(ctx, &b)
		if werr == nil {
			c.done(msgs, []string{"quarantined"}, &b, res, 0, net)
			return
		}
		c.log.Error("cannot quarantine a message; trying again", "error", werr)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// done acknowledges a committed batch and counts it: the metrics first,
// State's counters last (a test that sees them sees the metrics).
func (c *Collector) done(msgs []message, outcomes []string, b *office.Batch, res office.WriteResult, took time.Duration, net bool) {
	for _, m := range msgs {
		m.ack()
	}
	now := c.cfg.Now()
	q := 0
	for _, o := range outcomes {
		if o == "quarantined" {
			q++
		}
	}
	if m := c.cfg.Metrics; m != nil {
		if !net {
			for _, o := range outcomes {
				m.messages.WithLabelValues(o).Inc()
			}
		}
		m.visits.WithLabelValues("stored").Add(float64(res.Stored))
		if net {
			m.net.Add(float64(len(msgs)))
			m.visits.WithLabelValues("recovered").Add(float64(res.Stored))
		}
		m.visits.WithLabelValues("duplicate").Add(float64(res.Duplicates))
		m.visits.WithLabelValues("too_old").Add(float64(res.TooOld))
		m.batch.Observe(float64(len(msgs)))
		if took > 0 {
			m.commit.Observe(took.Seconds())
		}
		m.lastBatch.Set(float64(now.Unix()))
		for _, v := range b.Visits {
			m.lag.Observe(now.Sub(v.Time).Seconds())
		}
	}
	if net && res.Stored > 0 {
		// Stored for the first time from the safety net: the shared
		// subscription had missed them (a broker restart).
		c.log.Warn("the group's safety net stored visits its shared subscription had missed", "visits", res.Stored)
	}
	if res.TooOld > 0 {
		c.log.Warn("visits older than the event retention were quarantined, not counted", "visits", res.TooOld)
	}
	c.lastCommit.Store(now.UnixMilli())
	c.quarantine.Add(int64(q + res.TooOld))
	if net {
		c.recovered.Add(int64(res.Stored))
	}
	c.stored.Add(int64(res.Stored))
}
