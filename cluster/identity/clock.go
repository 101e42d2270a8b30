package identity

import (
	"cmp"
	"fmt"
	"time"

	"joren/cluster/store"
)

// A Raspberry Pi has no real-time clock: until the network time is set it
// boots at whatever time it last saved (or in 1970), and a shop's NTP is
// unauthenticated. Retention deletes people unseen for R days as of "now",
// and days are counted by the visits' dates: one wrong reading would forget
// everyone (2035) or count days that never were. So the service guards
// its clock: it keeps deciding visits whatever the clock says (staff still
// light up, regulars are still recognised), but it counts no day, makes no
// regular and runs no retention from a reading it does not trust.

// ClockOptions bound what the service believes of the times it is given
// (visits' starts, maintenance passes' "now"). Zero fields take the
// defaults.
type ClockOptions struct {
	// NotBefore is the earliest believable time: the firmware's build
	// time, on the device. Zero: no floor (`joren replay`: recorded visits
	// may be older than the binary).
	NotBefore time.Time
	// MaxJump is how far past the last trusted time a reading may be
	// (default 14 days: a shop closed for two weeks).
	MaxJump time.Duration
	// Slack is how far before the last trusted time a reading may be
	// (default 1 hour: a visit is dated by its start and decided when it
	// ends, so visits arrive a little out of order; NTP steps the clock by
	// seconds).
	Slack time.Duration
	// Settle is how long a new timeline must run steadily before it is
	// believed (default 24 hours, of its own time).
	Settle time.Duration
}

// Clock defaults.
const (
	DefaultMaxJump = 14 * 24 * time.Hour
	DefaultSlack   = time.Hour
	DefaultSettle  = 24 * time.Hour
)

func (o ClockOptions) fill() ClockOptions {
	o.MaxJump = cmp.Or(o.MaxJump, DefaultMaxJump)
	o.Slack = cmp.Or(o.Slack, DefaultSlack)
	o.Settle = cmp.Or(o.Settle, DefaultSettle)
	return o
}

// ClockState is what the service makes of its clock.
//
// A reading is trusted when it is not before NotBefore and lies between
// Slack before and MaxJump after the last trusted time (any reading is
// trusted by a store that has none). An untrusted reading leaves the last
// trusted time as it is. The clock is trusted again
//
//   - at once, by a reading back within those bounds (a wrong reading
//     that was corrected, or time that caught up with a clock set back); or
//   - when untrusted readings have followed a new timeline steadily (each
//     within Slack before and MaxJump after the one before) for Settle of
//     that timeline's time: the box was off for weeks, or the store's
//     history was dated by a clock that ran ahead. The new timeline is then
//     the reference. Two exceptions are never settled on their own: a
//     timeline before NotBefore (the clock is certainly wrong), and one
//     ahead by the retention period or more, which retention would take to
//     mean that everyone in the store has gone: a person confirms it
//     (Service.TrustClock, `joren store maintain --trust-clock`).
type ClockState struct {
	Trusted bool `json:"trusted"`
	// Reason says, while untrusted, what is wrong and what happens.
	Reason string `json:"reason,omitempty"`
	// Last is the last trusted time: the reference (zero before any).
	Last time.Time `json:"last,omitzero"`
}

// clockGuard follows the readings. Not safe for concurrent use: the
// service holds its lock.
type clockGuard struct {
	o ClockOptions
	// retention is the policy's: a jump forward this long or longer is
	// never settled on its own.
	retention time.Duration
	last      time.Time // the last trusted time
	// saved is the last trusted time as the store has it (Meta.Clock),
	// resaved when last has moved on by saveEvery (or was reset).
	saved time.Time
	reset bool
	// first and newest span the new timeline followed while untrusted.
	first, newest time.Time
	state         ClockState
}

// saveEvery spaces the writes of the last trusted time: it is the
// reference after a restart, and minutes do not matter against Slack.
const saveEvery = 10 * time.Minute

func newClockGuard(o ClockOptions, retention time.Duration, last time.Time) *clockGuard {
	last = last.Round(0)
	g := &clockGuard{o: o.fill(), retention: retention, last: last, saved: last}
	g.state = ClockState{Trusted: true, Last: last}
	return g
}

// judge tells whether reading t is trusted as the guard stands, and if not
// why.
func (g *clockGuard) judge(t time.Time) (bool, string) {
	t = t.Round(0) // the wall clock's reading: a jump is what is judged
	switch {
	case !g.o.NotBefore.IsZero() && t.Before(g.o.NotBefore):
		return false, fmt.Sprintf("the clock says %s, before this firmware was built (%s): it has not been set", stamp(t), stamp(g.o.NotBefore))
	case g.last.IsZero():
		return true, ""
	case t.Before(g.last.Add(-g.o.Slack)):
		return false, fmt.Sprintf("the clock says %s, %s before the store's last visit or maintenance (%s): it was set back", stamp(t), span(g.last.Sub(t)), stamp(g.last))
	case t.After(g.last.Add(g.o.MaxJump)):
		return false, fmt.Sprintf("the clock says %s, %s after the store's last visit or maintenance (%s): it jumped forward", stamp(t), span(t.Sub(g.last)), stamp(g.last))
	}
	return true, ""
}

// read takes reading t and returns the state it leaves.
func (g *clockGuard) read(t time.Time) ClockState {
	t = t.Round(0)
	ok, why := g.judge(t)
	if ok {
		if t.After(g.last) {
			g.last = t
		}
		g.first, g.newest = time.Time{}, time.Time{}
		g.state = ClockState{Trusted: true, Last: g.last}
		return g.state
	}
	if g.first.IsZero() || t.Before(g.newest.Add(-g.o.Slack)) || t.After(g.newest.Add(g.o.MaxJump)) {
		g.first, g.newest = t, t // a new timeline starts here
	} else if t.After(g.newest) {
		g.newest = t
	}
	settles, never := g.settles()
	if settles && g.newest.Sub(g.first) >= g.o.Settle {
		g.last, g.reset = g.newest, true
		g.first, g.newest = time.Time{}, time.Time{}
		g.state = ClockState{Trusted: true, Last: g.last}
		return g.state
	}
	if never != "" {
		why += "; " + never
	} else {
		why += fmt.Sprintf("; until it agrees with the store again, or has run steadily for %s from its new time, no day is counted, nobody becomes a regular and retention waits", span(g.o.Settle))
	}
	g.state = ClockState{Trusted: false, Reason: why, Last: g.last}
	return g.state
}

// settles tells whether the new timeline may be believed once it has run
// for Settle, and if never, why.
func (g *clockGuard) settles() (bool, string) {
	const confirm = "if the date is right, stop joren and run `joren store maintain --trust-clock`"
	switch {
	case !g.o.NotBefore.IsZero() && g.first.Before(g.o.NotBefore):
		return false, "no day is counted, nobody becomes a regular and retention waits until the clock is set (network time)"
	case g.retention > 0 && !g.last.IsZero() && g.first.Sub(g.last) >= g.retention:
		return false, fmt.Sprintf("a jump past the retention period (%s), which would forget everyone, is never taken on its own: no day is counted, nobody becomes a regular and retention waits; %s", span(g.retention), confirm)
	}
	return true, ""
}

// trust makes t the last trusted time: a person confirmed it.
func (g *clockGuard) trust(t time.Time) {
	t = t.Round(0)
	g.last, g.reset = t, true
	g.first, g.newest = time.Time{}, time.Time{}
	g.state = ClockState{Trusted: true, Last: t}
}

// dated is the time the store dates a visit (or a pass) read at t with:
// t when trusted, else the last trusted time (or the floor, for a store
// that has none), so that nothing in the store carries an untrusted time.
func (g *clockGuard) dated(t time.Time) time.Time {
	if g.state.Trusted {
		return t.Round(0)
	}
	if !g.last.IsZero() {
		return g.last
	}
	if !g.o.NotBefore.IsZero() {
		return g.o.NotBefore
	}
	return t
}

// toSave returns the last trusted time when the store should record it.
func (g *clockGuard) toSave() (time.Time, bool) {
	if g.reset || g.last.Sub(g.saved) >= saveEvery {
		return g.last, true
	}
	return time.Time{}, false
}

// savedAs notes that the store recorded t.
func (g *clockGuard) savedAs(t time.Time) {
	g.saved = t
	if t.Equal(g.last) {
		g.reset = false
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// span says a duration in days, or hours and minutes under a day.
func span(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

// lastTrusted is a store's last trusted time: the one it recorded, or, in
// a store made before the guard, its newest visit or the start of its last
// maintenance day.
func lastTrusted(meta store.Meta, lastSeen time.Time, pol Policy) time.Time {
	if !meta.Clock.IsZero() {
		return meta.Clock
	}
	last := lastSeen
	if meta.Maintained > 0 {
		y, m, d := time.Unix(int64(meta.Maintained)*86400, 0).UTC().Date()
		if day := time.Date(y, m, d, 0, 0, 0, 0, pol.Zone); day.After(last) {
			last = day
		}
	}
	return last
}

// Clock returns the state of the clock as the service last read it.
func (s *Service) Clock() ClockState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.state
}

// ReadClock gives the service a reading of the clock that dates the
// visits (the device's wall clock, between visits: so that a clock set
// right is trusted again, and health says so, before anyone walks in) and
// returns the state it leaves.
func (s *Service) ReadClock(t time.Time) ClockState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readClock(t)
}

// readClock reads t and logs a change of state. Under s.mu.
func (s *Service) readClock(t time.Time) ClockState {
	was := s.clock.state.Trusted
	st := s.clock.read(t)
	switch {
	case was && !st.Trusted:
		s.log.Warn("the clock is not trusted: visits are still decided, but no day is counted, nobody becomes a regular and retention waits", "reason", st.Reason)
	case !was && st.Trusted:
		s.log.Info("the clock is trusted again", "time", stamp(t), "reference", stamp(st.Last))
	}
	return st
}

// TrustClock takes t as right, whatever the store's history says: a
// person confirmed the date after a jump the service does not settle on
// its own (ClockState). It is recorded in the store at once.
func (s *Service) TrustClock(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.trust(t)
	s.log.Warn("the clock is trusted by confirmation", "time", stamp(t))
	return s.saveClock()
}

// saveClock records the last trusted time, in a transaction of its own.
// Under s.mu.
func (s *Service) saveClock() error {
	t, due := s.clock.toSave()
	if !due {
		return nil
	}
	if err := s.st.Update(func(tx *store.Tx) error { tx.SetClock(t); return nil }); err != nil {
		return fmt.Errorf("recording the clock: %w", err)
	}
	s.clock.savedAs(t)
	return nil
}
