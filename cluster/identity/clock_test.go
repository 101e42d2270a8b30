package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// month fills a store with a month of visits: 40 people, the first ten of
// them every day from t0 (regulars), the others once. It returns the time
// of the last visit.
func (e *env) month() time.Time {
	e.t.Helper()
	at := t0
	for day := 0; day < 28; day++ {
		at = t0.AddDate(0, 0, day)
		for i := 0; i < 10; i++ {
			e.observe(i, at.Add(time.Duration(i)*time.Minute))
		}
		e.observe(10+day, at.Add(time.Hour))
		if _, err := e.svc.Maintain(context.Background(), at.Add(2*time.Hour)); err != nil {
			e.t.Fatal(err)
		}
	}
	return at.Add(2 * time.Hour)
}

// TestClockJumps: a store with a month of history meets readings from a
// clock that jumped. Whatever the clock says, visits are decided (staff
// are staff, regulars are recognised); but no retention runs, no day is
// counted and nobody becomes a regular from a time the store does not
// trust, and nothing of the store is dated by it.
func TestClockJumps(t *testing.T) {
	built := t0.AddDate(0, -1, 0)
	for _, tc := range []struct {
		name string
		at   func(last time.Time) time.Time
		held bool
	}{
		{"forward a day", func(l time.Time) time.Time { return l.Add(20 * time.Hour) }, false},
		{"forward ten days (the shop was closed)", func(l time.Time) time.Time { return l.AddDate(0, 0, 10) }, false},
		{"forward 40 days", func(l time.Time) time.Time { return l.AddDate(0, 0, 40) }, true},
		{"2035", func(time.Time) time.Time { return time.Date(2035, 6, 1, 12, 0, 0, 0, time.UTC) }, true},
		{"back a day", func(l time.Time) time.Time { return l.AddDate(0, 0, -1) }, true},
		{"back before the store's history", func(time.Time) time.Time { return t0.AddDate(0, 0, -20) }, true},
		{"before the build time", func(time.Time) time.Time { return time.Unix(3600, 0) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, store.Limits{}, identity.Options{Clock: identity.ClockOptions{NotBefore: built}})
			if _, err := e.svc.AddStaff("Ann", []string{"ann.jpg"}, [][]float32{face(99, e.rng)}, t0); err != nil {
				t.Fatal(err)
			}
			last := e.month()
			before := e.count()
			at := tc.at(last)
			// A regular (person 0, 28 days), someone seen once, on the
			// last day (person 37, now on a second day), staff, someone
			// new.
			reg, twice, staff, fresh := e.observe(0, at), e.observe(37, at.Add(time.Minute)), e.observe(99, at.Add(2*time.Minute)), e.observe(500, at.Add(3*time.Minute))
			st := e.svc.Clock()
			if st.Trusted == tc.held {
				t.Fatalf("clock at %s: trusted %v (%s)", at, st.Trusted, st.Reason)
			}
			if reg.New || !reg.Regular || reg.BecameRegular || reg.Days < 1 {
				t.Errorf("the regular: %+v", reg)
			}
			if staff.Staff != "Ann" || fresh.Visitor == "" || !fresh.New || fresh.Days != 1 {
				t.Errorf("staff %+v, someone new %+v", staff, fresh)
			}
			if twice.New || twice.Time != at.Add(time.Minute) {
				t.Errorf("a visitor seen before: %+v", twice)
			}
			// Maintenance as of the jumped time.
			r, err := e.svc.Maintain(context.Background(), at.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e.check()
			if tc.held {
				if twice.Days != 1 || r.Expired != 0 || r.Held == "" || e.count() != before+1 {
					t.Errorf("held: second visitor %+v, maintenance %+v, %d identities of %d+1", twice, r, e.count(), before)
				}
				if e.svc.MaintenanceDue(at.Add(2 * time.Hour)) {
					t.Error("a pass is due on an untrusted clock")
				}
				// Nothing in the store carries the untrusted time.
				e.st.View(func(tx *store.Tx) error {
					return tx.ForEachIdentity(func(rec store.Identity) error {
						if rec.LastSeen.After(last.Add(time.Hour)) || rec.Created.After(last.Add(time.Hour)) || rec.LastSeen.Before(t0) {
							t.Errorf("identity %s dated %s-%s", rec.ID, rec.Created, rec.LastSeen)
						}
						return nil
					})
				})
			} else if twice.Days != 2 || r.Held != "" {
				t.Errorf("trusted: second visitor %+v, maintenance %+v", twice, r)
			}
			if !tc.held {
				return
			}
			// The clock comes back: the next visit is counted as ever.
			back := e.observe(37, last.Add(20*time.Hour))
			if !e.svc.Clock().Trusted {
				t.Errorf("the clock back at the store's time is not trusted: %s", e.svc.Clock().Reason)
			}
			if back.Days != 2 {
				t.Errorf("visitor back on their second day: %+v", back)
			}
		})
	}
}

// TestClock2035 is the case that wiped a store: one visit dated 2035 among
// a month of visits. Retention as of 2035 would forget everyone.
func TestClock2035(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	last := e.month()
	before := e.count()
	bad := time.Date(2035, 1, 1, 9, 0, 0, 0, time.UTC)
	d := e.observe(3, bad)
	if !d.Regular || d.Visitor != "p000004" && d.New {
		t.Errorf("the regular at 2035: %+v", d)
	}
	// The identity stage runs a pass before the first visit of a day: not
	// on this clock.
	if e.svc.MaintenanceDue(bad) {
		t.Error("maintenance due in 2035")
	}
	r, err := e.svc.Maintain(context.Background(), bad)
	if err != nil || r.Expired != 0 || !strings.Contains(r.Held, "never taken on its own") {
		t.Errorf("maintenance in 2035: %+v %v", r, err)
	}
	// The next visits are of the store's time again.
	e.observe(4, last.Add(time.Hour))
	r, err = e.svc.Maintain(context.Background(), last.Add(22*time.Hour))
	if err != nil || r.Expired != 0 || r.Held != "" || e.count() != before {
		t.Errorf("%d visitors of %d after the 2035 visit; maintenance %+v %v", e.count(), before, r, err)
	}
	// After a restart the reference is the store's own time, not 2035.
	e.reopen(identity.Options{})
	if st := e.svc.ReadClock(last.Add(23 * time.Hour)); !st.Trusted || st.Last.Year() != 2026 {
		t.Errorf("after a restart: %+v", st)
	}
}

// TestClockBeforeHistory: a visit dated before the store's history (a
// clock set back) makes no regular with no day: the regular stays a
// regular with the days the store counted, and someone seen on one day is
// not a regular.
func TestClockBeforeHistory(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	e.month()
	for i, who := range []int{0, 12, 1000} {
		d := e.observe(who, t0.AddDate(-1, 0, 0).Add(time.Duration(i)*time.Minute))
		if d.Days < 1 || d.Regular != (who == 0) || d.BecameRegular || d.Regular && d.Days < 3 {
			t.Errorf("person %d a year before the store's history: %+v", who, d)
		}
	}
	e.check()
}

// TestClockSettles: a clock that moved on by weeks (the box was off) is
// trusted again once it has run steadily for a day; then days count and
// retention runs as of it. A clock set back settles the same way, and the
// store remembers the settled reference across a restart.
func TestClockSettles(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Policy: identity.Policy{Window: 30, Retention: 60}})
	last := e.month()
	before := e.count()
	later := last.AddDate(0, 0, 40)
	d1 := e.observe(2, later)
	if e.svc.Clock().Trusted || d1.Days != 28 && d1.Days != 30 && d1.Days > 30 {
		t.Fatalf("40 days on: %+v %+v", e.svc.Clock(), d1)
	}
	e.observe(2, later.Add(12*time.Hour))
	if e.svc.Clock().Trusted {
		t.Fatal("trusted after 12 hours")
	}
	d3 := e.observe(2, later.Add(25*time.Hour))
	if !e.svc.Clock().Trusted {
		t.Fatalf("not trusted after a steady day: %s", e.svc.Clock().Reason)
	}
	if d3.Days != 1 {
		t.Errorf("the first trusted visit 41 days on: %+v (the held ones counted no day)", d3)
	}
	r, err := e.svc.Maintain(context.Background(), later.Add(26*time.Hour))
	if err != nil || r.Held != "" || r.Expired == 0 || e.count() >= before {
		t.Errorf("maintenance after settling: %+v %v (%d of %d identities)", r, err, e.count(), before)
	}
	// Set back by ten days: settles after a day, and a restart keeps it.
	back := later.AddDate(0, 0, -10)
	e.observe(2, back)
	e.observe(2, back.Add(25*time.Hour))
	if !e.svc.Clock().Trusted {
		t.Fatal("a clock set back did not settle")
	}
	e.reopen(identity.Options{})
	if st := e.svc.ReadClock(back.Add(26 * time.Hour)); !st.Trusted {
		t.Errorf("after a restart, the settled clock: %s", st.Reason)
	}
}

// TestClockConfirmed: a jump the service never takes on its own (past the
// retention period) is taken once a person confirms it; it is recorded.
func TestClockConfirmed(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Policy: identity.Policy{Window: 30, Retention: 60}})
	e.month()
	now := t0.AddDate(1, 0, 0)
	for h := 0; h < 72; h++ {
		e.svc.ReadClock(now.Add(time.Duration(h) * time.Hour))
	}
	if st := e.svc.Clock(); st.Trusted || !strings.Contains(st.Reason, "--trust-clock") {
		t.Fatalf("a year on: %+v", st)
	}
	if err := e.svc.TrustClock(now.Add(72 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Maintain(context.Background(), now.Add(73*time.Hour))
	if err != nil || r.Held != "" || e.count() != 0 {
		t.Errorf("after confirmation: %+v %v, %d identities left", r, err, e.count())
	}
	if m := e.st.Meta(); !m.Clock.Equal(now.Add(73 * time.Hour)) {
		t.Errorf("store's clock %s", m.Clock)
	}
}

// TestClockRun: the identity stage (as `joren replay` and the device run
// it) counts the visits it decided on an untrusted clock.
func TestClockRun(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	in, out := make(chan vocab.Visit), make(chan vocab.Decision)
	go func() {
		defer close(in)
		for i, at := range []time.Time{t0, t0.Add(time.Hour), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(2 * time.Hour)} {
			in <- e.visit(i, at, 2)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(context.Background(), in, out) }()
	n := 0
	for range out {
		n++
	}
	if err := <-done; err != nil || n != 4 {
		t.Fatalf("%d decisions, %v", n, err)
	}
	if c := e.svc.Counters(); c.Held != 1 || c.Decided != 4 {
		t.Errorf("counters %+v", c)
	}
}
