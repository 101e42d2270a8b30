package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"joren/sync/event"
	"joren/sync/outbox"
)

// seenKey is where the outbox's state keeps the ids of executed
// commands: in the outbox's file, so that they survive a restart with the
// events, and are written in one fsynced transaction.
const seenKey = "publish/commands-seen"

// maxSeen bounds the ids remembered. Only correctly signed commands are
// remembered, and each for twice CommandSkew (10 minutes by default):
// more than this many in that time is not head office's doing, and the
// box refuses more rather than forget one (which would let its replay
// through).
const maxSeen = 1000

// seenCommands are the ids of the commands executed, each with the time
// after which it no longer matters: its own time plus twice the allowed
// skew. Past its time plus the skew a replay is refused as stale anyway;
// the second skew covers a clock set back by as much.
type seenCommands map[string]time.Time

// readSeen returns the ids stored in box (none if there are none).
func readSeen(box *outbox.Outbox) (seenCommands, error) {
	s := seenCommands{}
	raw, err := box.State(seenKey)
	if err != nil || raw == nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return seenCommands{}, fmt.Errorf("outbox %s: damaged record of executed commands: %w", box.Path(), err)
	}
	return s, nil
}

// prune forgets the ids that no longer matter at now.
func (s seenCommands) prune(now time.Time) {
	for id, until := range s {
		if now.After(until) {
			delete(s, id)
		}
	}
}

// remember refuses a command already executed, and otherwise records its
// id, durably, before it is executed: whatever happens next (a crash, a
// restart, the same message again), it is never executed twice. A
// command that cannot be recorded is not executed.
func (p *Publisher) remember(c event.Command, now time.Time) error {
	at, err := time.Parse(time.RFC3339Nano, c.Time) // event.ParseCommand checked it
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339", c.Time)
	}
	if p.seenLost && at.Before(p.start) {
		return errors.New("the record of executed commands was damaged, so a command from before this start could be a replay: send it again with a new id")
	}
	p.seen.prune(now)
	if _, dup := p.seen[c.ID]; dup {
		return fmt.Errorf("command %q was already executed (a replayed message)", c.ID)
	}
	if len(p.seen) >= maxSeen {
		return fmt.Errorf("%d commands within %s: no more until the oldest expire", len(p.seen), 2*p.cfg.CommandSkew)
	}
	p.seen[c.ID] = at.Add(2 * p.cfg.CommandSkew)
	raw, _ := json.Marshal(p.seen)
	if _, err := p.box.Put(nil, map[string][]byte{seenKey: raw}); err != nil {
		delete(p.seen, c.ID)
		return fmt.Errorf("recording the command's id: %w", err)
	}
	return nil
}
