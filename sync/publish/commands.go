package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"joren/sync/event"
)

// command executes one message received on the command topic and
// publishes its reply. Anything that is not a well-formed, correctly
// signed, fresh and new command is rejected: logged, counted and answered
// with the reason, and nothing else happens. "New" holds across
// restarts: executed ids are kept in the outbox (seen.go).
func (p *Publisher) command(ctx context.Context, s *session, raw []byte) {
	p.received.Add(1)
	now := time.Now()
	c, err := event.ParseCommand(raw, p.cfg.CommandKey, now, p.cfg.CommandSkew)
	if err == nil {
		err = p.remember(c, now)
	}
	reply := event.Reply{Schema: event.SchemaVersion, Time: now.UTC().Truncate(time.Second), Command: c.ID}
	if err != nil {
		p.rejected.Add(1)
		p.log.Warn("command rejected", "topic", p.topics.Command, "id", c.ID, "bytes", len(raw), "error", err)
		reply.Error = err.Error()
		p.reply(s, reply)
		return
	}
	switch c.Name {
	case event.Forget:
		n, err := p.forget(ctx, c.Visitor, c.Period)
		if err != nil {
			reply.Error = err.Error()
			p.log.Error("forget command failed", "id", c.ID, "error", err)
			break
		}
		reply.OK, reply.Forgotten = true, n
		p.log.Info("forget command executed", "id", c.ID, "period", c.Period, "forgotten", n)
	case event.PublishStats:
		p.sendStats(s)
		reply.OK = true
	case event.Page:
		if p.cfg.PageOn == nil {
			reply.Error = "this box has no page to turn on (installer.enabled is off)"
			break
		}
		if err := p.cfg.PageOn(); err != nil {
			reply.Error = err.Error()
			break
		}
		reply.OK = true
		p.log.Info("page command executed: the box's page is turned on", "id", c.ID)
	}
	p.reply(s, reply)
}

func (p *Publisher) reply(s *session, r event.Reply) {
	b, _ := json.Marshal(r)
	s.client.Publish(p.topics.Reply, 1, false, b)
}

// forget deletes the identities whose pseudonym in period is pseudo:
// head office knows only pseudonyms, so each internal id is hashed
// again to find it. Not finding one is not an error (it may be gone
// already); the reply says how many were deleted.
func (p *Publisher) forget(ctx context.Context, pseudo, period string) (int, error) {
	visitors, err := p.cfg.Identities.Visitors(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing identities: %w", err)
	}
	n := 0
	for _, v := range visitors {
		if p.maker.PseudonymIn(v, period) != pseudo {
			continue
		}
		if err := p.cfg.Identities.Forget(ctx, v); err != nil {
			return n, fmt.Errorf("forgetting an identity: %w", err)
		}
		n++
	}
	return n, nil
}
