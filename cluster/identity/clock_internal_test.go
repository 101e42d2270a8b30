package identity

import (
	"strings"
	"testing"
	"time"
)

// TestClockGuard runs the guard through sequences of readings, one table
// row a sequence: each reading with the trust it must leave, and the
// reference (last trusted time) it must leave where it matters.
func TestClockGuard(t *testing.T) {
	last := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	built := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	h, d := time.Hour, 24*time.Hour
	type reading struct {
		at      time.Time
		trusted bool
		ref     time.Time // the reference after it; zero: not checked
		why     string    // part of the reason, when untrusted
	}
	r := func(at time.Time, trusted bool) reading { return reading{at: at, trusted: trusted} }
	for _, tc := range []struct {
		name  string
		last  time.Time // the store's reference (zero: a new store)
		floor time.Time
		reads []reading
	}{
		{"steady: every reading moves the reference on", last, built, []reading{
			{at: last.Add(10 * time.Minute), trusted: true, ref: last.Add(10 * time.Minute)},
			{at: last.Add(d + 2*h), trusted: true, ref: last.Add(d + 2*h)},
		}},
		{"out of order within the slack", last, built, []reading{
			{at: last.Add(-59 * time.Minute), trusted: true, ref: last},
		}},
		{"small jump forward: a closed weekend", last, built, []reading{
			{at: last.Add(3*d + 5*h), trusted: true, ref: last.Add(3*d + 5*h)},
		}},
		{"jump forward past the bound, then corrected", last, built, []reading{
			{at: last.Add(30 * d), why: "30 days after the store's last visit or maintenance", ref: last},
			{at: last.Add(30*d + h), ref: last},
			{at: last.Add(2 * h), trusted: true, ref: last.Add(2 * h)},
		}},
		{"2035: never taken on its own", last, built, []reading{
			{at: time.Date(2035, 3, 1, 12, 0, 0, 0, time.UTC), why: "never taken on its own", ref: last},
			{at: time.Date(2035, 3, 2, 12, 0, 0, 0, time.UTC), ref: last},
			{at: time.Date(2035, 3, 9, 12, 0, 0, 0, time.UTC), why: "joren store maintain --trust-clock", ref: last},
			r(last.Add(h), true),
		}},
		{"jump forward within retention settles after a steady day", last, built, []reading{
			{at: last.Add(30 * d), why: "has run steadily for 24h0m0s", ref: last},
			{at: last.Add(30*d + 12*h), ref: last},
			{at: last.Add(31*d - time.Minute), ref: last},
			{at: last.Add(31 * d), trusted: true, ref: last.Add(31 * d)},
			r(last.Add(31*d+h), true),
		}},
		{"a timeline that jumps again starts over", last, built, []reading{
			r(last.Add(30*d), false),
			r(last.Add(50*d), false), // 20 days on: a new timeline
			r(last.Add(51*d-h), false),
			{at: last.Add(51 * d), trusted: true, ref: last.Add(51 * d)},
		}},
		{"set back, then time catches up", last, built, []reading{
			{at: last.Add(-2 * h), why: "before the store's last visit or maintenance", ref: last},
			r(last.Add(-90*time.Minute), false),
			{at: last.Add(-30 * time.Minute), trusted: true, ref: last},
			{at: last.Add(time.Minute), trusted: true, ref: last.Add(time.Minute)},
		}},
		{"history dated ahead: the clock set back settles after a day", last, built, []reading{
			r(last.Add(-10*d), false),
			r(last.Add(-10*d+23*h), false),
			{at: last.Add(-9 * d), trusted: true, ref: last.Add(-9 * d)},
			{at: last.Add(-9*d + h), trusted: true, ref: last.Add(-9*d + h)},
		}},
		{"before the build time: never settles", last, built, []reading{
			{at: time.Unix(12, 0), why: "before this firmware was built", ref: last},
			r(time.Unix(12, 0).Add(3*d), false),
			r(last.Add(h), true),
		}},
		{"a new store trusts anything after the build time", time.Time{}, built, []reading{
			r(time.Unix(12, 0), false),
			{at: last, trusted: true, ref: last},
		}},
		{"a new store without a floor (replay) trusts anything", time.Time{}, time.Time{}, []reading{
			{at: time.Unix(12, 0), trusted: true, ref: time.Unix(12, 0)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClockGuard(ClockOptions{NotBefore: tc.floor}, 90*d, tc.last)
			for i, rd := range tc.reads {
				st := g.read(rd.at)
				if st.Trusted != rd.trusted {
					t.Fatalf("reading %d (%s): trusted %v, want %v (%s)", i, stamp(rd.at), st.Trusted, rd.trusted, st.Reason)
				}
				if !rd.ref.IsZero() && !st.Last.Equal(rd.ref) {
					t.Errorf("reading %d (%s): reference %s, want %s", i, stamp(rd.at), stamp(st.Last), stamp(rd.ref))
				}
				if !st.Trusted && !strings.Contains(st.Reason, rd.why) {
					t.Errorf("reading %d: reason %q lacks %q", i, st.Reason, rd.why)
				}
				if st.Trusted && st.Reason != "" {
					t.Errorf("reading %d: trusted with a reason %q", i, st.Reason)
				}
				// What the store is dated with never leaves the trusted
				// timeline.
				if at := g.dated(rd.at); !st.Trusted && !at.Equal(st.Last) && !(st.Last.IsZero() && at.Equal(tc.floor)) {
					t.Errorf("reading %d: dated %s while untrusted", i, stamp(at))
				}
			}
		})
	}
}

// TestClockGuardSaves: the reference is written to the store when it has
// moved on by saveEvery, and at once when it was reset (settled or
// confirmed).
func TestClockGuardSaves(t *testing.T) {
	last := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	g := newClockGuard(ClockOptions{}, 90*24*time.Hour, last)
	g.read(last.Add(5 * time.Minute))
	if _, due := g.toSave(); due {
		t.Error("saving after 5 minutes")
	}
	g.read(last.Add(11 * time.Minute))
	at, due := g.toSave()
	if !due || !at.Equal(last.Add(11*time.Minute)) {
		t.Errorf("not saving after 11 minutes: %v %v", at, due)
	}
	g.savedAs(at)
	g.trust(last.Add(-48 * time.Hour))
	if at, due := g.toSave(); !due || !at.Equal(last.Add(-48*time.Hour)) {
		t.Errorf("a confirmed time, earlier than the saved one, is not saved: %v %v", at, due)
	}
}
