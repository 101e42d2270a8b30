package identity_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// toy is a model whose people are far apart, so that tests of the policy
// and the bookkeeping do not depend on how hard real faces are.
var toy = vocab.Model{Name: "toy", Digest: "feedfacefeedface", Dim: 16, Metric: vocab.Euclidean, Threshold: 1}

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// person returns person i's face: a fixed point, 3 or more from any other.
func person(i int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	v := make([]float32, toy.Dim)
	for k := range v {
		v[k] = float32(rng.NormFloat64())
	}
	return v
}

// face is a descriptor of person i with a little noise.
func face(i int, rng *rand.Rand) []float32 {
	v := person(i)
	for k := range v {
		v[k] += float32(rng.NormFloat64() * 0.02)
	}
	return v
}

type env struct {
	t   testing.TB
	st  *store.Store
	svc *identity.Service
	rng *rand.Rand
	n   int
}

func newEnv(t testing.TB, lim store.Limits, o identity.Options) *env {
	t.Helper()
	return openEnv(t, store.Options{Limits: lim, Zone: zoneName(o.Policy.Zone)}, o)
}

// openEnv makes a new store of the toy model (so adds to its options) and
// a service on it.
func openEnv(t testing.TB, so store.Options, o identity.Options) *env {
	t.Helper()
	so.Model, so.Create, so.NoSync = toy, true, true
	st, err := store.Open(t.TempDir(), so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := identity.New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, svc: svc, rng: rand.New(rand.NewPCG(1, 2))}
}

func zoneName(z *time.Location) string {
	if z == nil {
		return ""
	}
	return z.String()
}

// reopen makes a new service on the same store (another run, or other
// options).
func (e *env) reopen(o identity.Options) {
	e.t.Helper()
	svc, err := identity.New(e.st, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

func (e *env) visit(who int, at time.Time, k int, together ...string) vocab.Visit {
	e.n++
	v := vocab.Visit{ID: fmt.Sprintf("v%05d", e.n), Start: at, End: at.Add(20 * time.Second), Model: toy}
	for i := 0; i < k; i++ {
		v.Descriptors = append(v.Descriptors, face(who, e.rng))
	}
	v.Together = together
	return v
}

func (e *env) observe(who int, at time.Time, together ...string) vocab.Decision {
	e.t.Helper()
	d, err := e.svc.Observe(context.Background(), e.visit(who, at, 2, together...))
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// runThrough reads the clock every day from `from` to `to`, as a box that
// runs through the days between (its nightly pass, its health checks)
// does: the clock guard then trusts a visit or a pass at `to`, weeks after
// the last visit.
func (e *env) runThrough(from, to time.Time) {
	e.t.Helper()
	for t := from; t.Before(to); t = t.Add(24 * time.Hour) {
		if st := e.svc.ReadClock(t); !st.Trusted {
			e.t.Fatalf("the clock at %s: %s", t, st.Reason)
		}
	}
	e.svc.ReadClock(to)
}

func (e *env) check() {
	e.t.Helper()
	if err := e.st.Check(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) count() int {
	n := 0
	e.st.View(func(tx *store.Tx) error { n = tx.Count(); return nil })
	return n
}

func TestRegularPolicy(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	day := func(d int, hm string) time.Time {
		c, _ := time.Parse("15:04", hm)
		return t0.AddDate(0, 0, d).Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute - 10*time.Hour)
	}
	type want struct {
		days, visits           int
		regular, became, isNew bool
	}
	last := day(0, "10:00")
	for _, step := range []struct {
		name string
		at   time.Time
		want want
	}{
		{"first visit", day(0, "10:00"), want{1, 1, false, false, true}},
		{"back within 10 minutes: the same visit", day(0, "10:05"), want{1, 1, false, false, false}},
		{"later the same day: a visit, not a day", day(0, "15:00"), want{1, 2, false, false, false}},
		{"second day", day(3, "11:00"), want{2, 3, false, false, false}},
		{"third day: a regular", day(10, "12:00"), want{3, 4, true, true, false}},
		{"fourth day: still", day(11, "12:00"), want{4, 5, true, false, false}},
		{"29 days after day 11: day 11 still in the window", day(40, "12:00"), want{2, 6, false, false, false}},
		{"next day: day 11 has left the window", day(41, "12:00"), want{2, 7, false, false, false}},
		{"and the day after", day(42, "12:00"), want{3, 8, true, true, false}},
	} {
		if step.at.Sub(last) > 24*time.Hour {
			e.runThrough(last, step.at) // the box ran through the days without a visit
		}
		last = step.at
		d := e.observe(1, step.at)
		got := want{d.Days, d.Visits, d.Regular, d.BecameRegular, d.New}
		if got != step.want {
			t.Errorf("%s: got %+v, want %+v", step.name, got, step.want)
		}
	}
	// Another person is someone else.
	if d := e.observe(2, day(41, "12:30")); !d.New || d.Visitor == "p000001" {
		t.Errorf("second person: %+v", d)
	}
	e.check()
}

func TestLocalDays(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 and 00:45 in Tokyo: two days there, one in UTC.
	late := time.Date(2026, 11, 1, 14, 30, 0, 0, time.UTC)
	early := late.Add(75 * time.Minute)
	for _, tc := range []struct {
		zone *time.Location
		days int
	}{{time.UTC, 1}, {tokyo, 2}} {
		e := newEnv(t, store.Limits{}, identity.Options{Policy: identity.Policy{Zone: tc.zone}})
		e.observe(1, late)
		if d := e.observe(1, early); d.Days != tc.days {
			t.Errorf("%s: %d days, want %d", tc.zone, d.Days, tc.days)
		}
	}
	// A service cannot count in another zone than its store.
	e := newEnv(t, store.Limits{}, identity.Options{})
	if _, err := identity.New(e.st, identity.Options{Policy: identity.Policy{Zone: tokyo}}); err == nil || !strings.Contains(err.Error(), "differs from the store's") {
		t.Errorf("zone mismatch: %v", err)
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		p    identity.Policy
		want string
	}{
		{identity.Policy{RegularDays: 0, Window: 30, Retention: 90, Zone: time.UTC}, "regular days must be at least 1"},
		{identity.Policy{RegularDays: 3, Window: 400, Retention: 900, Zone: time.UTC}, "window must be 1 to 366"},
		{identity.Policy{RegularDays: 5, Window: 4, Retention: 90, Zone: time.UTC}, "cannot exceed the window"},
		{identity.Policy{RegularDays: 3, Window: 30, Retention: 20, Zone: time.UTC}, "retention (20 days) must be at least the window"},
		{identity.Policy{RegularDays: 3, Window: 30, Retention: 90, MergeWindow: -time.Minute, Zone: time.UTC}, "merge window must not be negative"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
	if err := identity.DefaultPolicy(nil).Validate(); err != nil {
		t.Error(err)
	}
}

func TestObserveIdempotent(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	v := e.visit(1, t0, 3)
	first, err := e.svc.Observe(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.Observe(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) {
		t.Errorf("second observe of %s: %+v, first %+v", v.ID, again, first)
	}
	d, ok, err := e.svc.Decided(v.ID)
	if !ok || err != nil || !reflect.DeepEqual(d, first) {
		t.Errorf("decided: %+v %v %v", d, ok, err)
	}
	if d := e.observe(1, t0.AddDate(0, 0, 1)); d.Visits != 2 {
		t.Errorf("the repeated visit was counted: %+v", d)
	}
}

func TestObserveRejectsBadVisits(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	e.observe(1, t0)
	other := toy
	other.Digest = "0000000000000000"
	nan := e.visit(1, t0, 1)
	nan.Descriptors[0][3] = float32(nanValue())
	for _, tc := range []struct {
		name string
		v    vocab.Visit
		want string
	}{
		{"no id", vocab.Visit{Start: t0, Model: toy, Descriptors: [][]float32{person(1)}}, "visit without an id"},
		{"no time", vocab.Visit{ID: "x", Model: toy, Descriptors: [][]float32{person(1)}}, "visit x has no time"},
		{"other model", vocab.Visit{ID: "x", Start: t0, Model: other, Descriptors: [][]float32{person(1)}}, "descriptors of model toy@000000000000"},
		{"no descriptors", vocab.Visit{ID: "x", Start: t0, Model: toy}, "visit x has no descriptors"},
		{"short descriptor", vocab.Visit{ID: "x", Start: t0, Model: toy, Descriptors: [][]float32{{1, 2}}}, "visit x: descriptor 1: descriptor has 2 values"},
		{"NaN", nan, "descriptor 1: descriptor value 3 is NaN"},
	} {
		if _, err := e.svc.Observe(context.Background(), tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if e.count() != 1 {
		t.Errorf("%d identities after bad visits, want 1", e.count())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.svc.Observe(ctx, e.visit(2, t0, 1)); err == nil {
		t.Error("observe with a cancelled context")
	}
	e.check()
}

func nanValue() float64 { var z float64; return z / z }

// TestTogether: people seen at the same time are different people, even
// when their faces match.
func TestTogether(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	a := e.observe(1, t0)
	// Person 1 again, but together with visit a: the matcher must not
	// attach it to a's identity. (A visit not decided yet, listed first,
	// rules nothing out and hides nothing.)
	b := e.observe(1, t0.Add(30*time.Second), "v-undecided", a.Visit)
	if b.Visitor == a.Visitor {
		t.Fatalf("two people seen together attached to one identity %s", a.Visitor)
	}
	// Maintenance never merges them.
	if _, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	e.st.View(func(tx *store.Tx) error {
		ra, _, _ := tx.Identity(a.Visitor)
		rb, ok, _ := tx.Identity(b.Visitor)
		if !ok || !slices.Contains(ra.Apart, b.Visitor) || !slices.Contains(rb.Apart, a.Visitor) {
			t.Errorf("apart lists %v / %v (b kept: %v)", ra.Apart, rb.Apart, ok)
		}
		return nil
	})
	e.check()
}

func TestStaff(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	if _, err := e.svc.AddStaff("Ann", []string{"ann1.jpg", "ann2.jpg"}, [][]float32{face(7, e.rng), face(7, e.rng)}, t0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		d := e.observe(7, t0.AddDate(0, 0, i))
		if d.Staff != "Ann" || d.Visitor != "" || d.Regular {
			t.Fatalf("staff visit %d: %+v", i, d)
		}
	}
	if e.count() != 0 {
		t.Errorf("staff counted as %d customers", e.count())
	}
	if d := e.observe(8, t0); d.Staff != "" || !d.New {
		t.Errorf("a customer taken for staff: %+v", d)
	}
	// Errors name the problem and store nothing.
	for _, tc := range []struct {
		name  string
		descs [][]float32
		want  string
	}{
		{"", [][]float32{person(1)}, "staff name is empty"},
		{"Bo\x00", [][]float32{person(1)}, "unprintable"},
		{"Bo", [][]float32{{1, 2}}, "staff Bo, x.jpg: descriptor has 2 values"},
	} {
		if _, err := e.svc.AddStaff(tc.name, []string{"x.jpg"}, tc.descs, t0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("add %q: %v, want %q", tc.name, err, tc.want)
		}
	}
	list, _ := e.svc.Staff()
	if len(list) != 1 || list[0].Name != "Ann" || !reflect.DeepEqual(list[0].Sources, []string{"ann1.jpg", "ann2.jpg"}) {
		t.Errorf("staff %+v", list)
	}
	if ok, err := e.svc.RemoveStaff("Ann"); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if d := e.observe(7, t0.AddDate(0, 0, 5)); d.Staff != "" || !d.New {
		t.Errorf("after removal, Ann is a customer: %+v", d)
	}
	if ok, _ := e.svc.RemoveStaff("Ann"); ok {
		t.Error("removed twice")
	}
	e.check()
}

func TestForgetAndMatch(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	a := e.observe(1, t0)
	e.observe(1, t0.AddDate(0, 0, 1))
	b := e.observe(2, t0)
	m, err := e.svc.Match([][]float32{face(1, e.rng)})
	if err != nil || m.Visitor != a.Visitor || m.Visits != 2 || m.Days != 2 || m.LogOdds <= 0 {
		t.Fatalf("match %+v %v", m, err)
	}
	if m, _ := e.svc.Match([][]float32{face(3, e.rng)}); m.Visitor != "" || m.Nearest == "" {
		t.Errorf("a stranger matched: %+v", m)
	}
	f, ok, err := e.svc.Forget(a.Visitor)
	if !ok || err != nil || f.Visits != 2 || f.Logged != 2 {
		t.Fatalf("forget: %+v %v %v", f, ok, err)
	}
	if _, ok, _ := e.svc.Decided(a.Visit); ok {
		t.Error("a forgotten visitor's decisions are still logged")
	}
	if m, _ := e.svc.Match([][]float32{face(1, e.rng)}); m.Visitor != "" {
		t.Errorf("forgotten visitor still matched: %+v", m)
	}
	if d := e.observe(1, t0.AddDate(0, 0, 2)); !d.New || d.Visitor == a.Visitor {
		t.Errorf("forgotten visitor came back as %+v (ids are never reused)", d)
	}
	if _, ok, _ := e.svc.Forget("p999999"); ok {
		t.Error("forgot a visitor that never was")
	}
	if _, ok, _ := e.svc.Decided(b.Visit); !ok {
		t.Error("someone else's decision lost")
	}
	e.check()
}

// TestMaintainMerges: a person split over two identities (the first
// service never attached anything) is merged by maintenance, histories
// united: three days make a regular.
func TestMaintainMerges(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Params: identity.Params{ReturnLogOdds: -1000}})
	a := e.observe(1, t0)
	b := e.observe(1, t0.AddDate(0, 0, 1))
	c := e.observe(1, t0.AddDate(0, 0, 2))
	other := e.observe(2, t0.AddDate(0, 0, 2))
	if a.Visitor == b.Visitor || b.Visitor == c.Visitor || c.Regular {
		t.Fatalf("setup: %v %v %v", a, b, c)
	}
	e.reopen(identity.Options{})
	r, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if r.Merged != 2 || r.Remaining != 0 {
		t.Errorf("report %+v, want 2 merges", r)
	}
	e.st.View(func(tx *store.Tx) error {
		if tx.Count() != 2 {
			t.Errorf("%d identities, want 2", tx.Count())
		}
		id, _ := tx.Resolve(c.Visitor)
		rec, ok, _ := tx.Identity(id)
		if !ok || id != a.Visitor || rec.Visits != 3 || rec.TotalDays != 3 || len(rec.Days) != 3 || !rec.Regular || !rec.EverRegular {
			t.Errorf("merged identity %s: %+v", id, rec)
		}
		vs, _ := tx.VisitsOf(id)
		if len(vs) != 3 {
			t.Errorf("merged identity has %d logged visits, want 3", len(vs))
		}
		if id, _ := tx.Resolve(other.Visitor); id != other.Visitor {
			t.Error("the other person was merged")
		}
		return nil
	})
	if d := e.observe(1, t0.AddDate(0, 0, 3)); d.Visitor != a.Visitor || d.Days != 4 || !d.Regular {
		t.Errorf("after the merge: %+v", d)
	}
	if e.svc.MaintenanceDue(t0.AddDate(0, 0, 3)) || !e.svc.MaintenanceDue(t0.AddDate(0, 0, 4)) {
		t.Error("maintenance due on the wrong days")
	}
	e.check()
}

// TestMaintainSplits: two people in one identity (the first service
// attached everything) are split by maintenance, each with their days.
func TestMaintainSplits(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Params: identity.Params{ReturnLogOdds: 1e6}})
	var ds []vocab.Decision
	for i, who := range []int{1, 2, 1, 2, 2} {
		ds = append(ds, e.observe(who, t0.AddDate(0, 0, i)))
	}
	if ds[4].Visitor != ds[0].Visitor || !ds[4].Regular {
		t.Fatalf("setup: %+v", ds)
	}
	e.reopen(identity.Options{})
	r, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 5))
	if err != nil {
		t.Fatal(err)
	}
	if r.Split != 1 {
		t.Fatalf("report %+v, want 1 split", r)
	}
	e.st.View(func(tx *store.Tx) error {
		var recs []store.Identity
		tx.ForEachIdentity(func(rec store.Identity) error { recs = append(recs, rec); return nil })
		if len(recs) != 2 {
			t.Fatalf("%d identities", len(recs))
		}
		for _, rec := range recs {
			vs, _ := tx.VisitsOf(rec.ID)
			if rec.Visits != len(rec.Exemplars) || len(vs) != rec.Visits || rec.TotalDays != len(rec.Days) || rec.Regular != (len(rec.Days) >= 3) {
				t.Errorf("after split: %+v (%d logged)", rec, len(vs))
			}
		}
		return nil
	})
	// Each person now has their own identity.
	d1, d2 := e.observe(1, t0.AddDate(0, 0, 6)), e.observe(2, t0.AddDate(0, 0, 6))
	if d1.Visitor == d2.Visitor || d1.Days != 3 || d2.Days != 4 {
		t.Errorf("after the split: %+v %+v", d1, d2)
	}
	e.check()
}

// TestMaintainResumes: a pass cut short leaves the rest on the to-do list
// and the next pass finishes.
func TestMaintainResumes(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	for i := 0; i < 40; i++ {
		e.observe(i, t0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := e.svc.Maintain(ctx, t0.AddDate(0, 0, 1))
	if err == nil || r.Remaining != 40 || r.Checked != 0 {
		t.Fatalf("cancelled pass: %+v, %v", r, err)
	}
	if !e.svc.MaintenanceDue(t0.AddDate(0, 0, 1)) {
		t.Error("an unfinished pass counted as done")
	}
	e.reopen(identity.Options{Maintenance: identity.MaintenanceOptions{Budget: time.Nanosecond}})
	r, _ = e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 1))
	if r.Remaining == 0 {
		t.Errorf("a 1 ns budget checked everything: %+v", r)
	}
	e.reopen(identity.Options{})
	r, err = e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 1))
	if err != nil || r.Remaining != 0 || r.Checked == 0 || r.Merged != 0 {
		t.Errorf("resumed pass: %+v %v", r, err)
	}
	if e.svc.MaintenanceDue(t0.AddDate(0, 0, 1)) {
		t.Error("finished pass not recorded")
	}
	e.check()
}

func TestRetention(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Policy: identity.Policy{Window: 30, Retention: 60}})
	old := e.observe(1, t0)
	e.runThrough(t0, t0.AddDate(0, 0, 30))
	keep := e.observe(2, t0.AddDate(0, 0, 30))
	// Observe expires on its way.
	e.runThrough(t0.AddDate(0, 0, 30), t0.AddDate(0, 0, 61))
	e.observe(3, t0.AddDate(0, 0, 61))
	e.st.View(func(tx *store.Tx) error {
		if _, ok, _ := tx.Identity(old.Visitor); ok {
			t.Error("identity unseen for 61 days kept")
		}
		if _, ok, _ := tx.Identity(keep.Visitor); !ok {
			t.Error("identity seen 31 days ago deleted")
		}
		return nil
	})
	e.runThrough(t0.AddDate(0, 0, 61), t0.AddDate(0, 0, 91))
	r, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 91))
	if err != nil || r.Expired != 1 {
		t.Errorf("maintenance %+v %v, want 1 expired", r, err)
	}
	e.check()
}

// TestCaps: the identity cap holds, regulars outlive passers-by, and an
// identity's size does not grow with its history.
func TestCaps(t *testing.T) {
	e := newEnv(t, store.Limits{MaxIdentities: 10, MaxExemplars: 4}, identity.Options{Policy: identity.Policy{Retention: 60, Window: 30}})
	// Person 0 comes every day for two years.
	var d vocab.Decision
	for day := 0; day < 730; day++ {
		d = e.observe(0, t0.AddDate(0, 0, day))
		// Passers-by fill the store.
		e.observe(1000+day, t0.AddDate(0, 0, day).Add(time.Hour))
	}
	if !d.Regular || d.Days != 30 || d.Visits != 730 {
		t.Errorf("daily visitor: %+v", d)
	}
	e.st.View(func(tx *store.Tx) error {
		if tx.Count() > 10 {
			t.Errorf("%d identities, cap 10", tx.Count())
		}
		rec, ok, _ := tx.Identity(d.Visitor)
		if !ok || len(rec.Exemplars) != 4 || len(rec.Days) != 30 || rec.TotalDays != 730 {
			t.Errorf("regular after two years: ok %v, %d exemplars, %d days, %d total", ok, len(rec.Exemplars), len(rec.Days), rec.TotalDays)
		}
		vs, _ := tx.VisitsOf(d.Visitor)
		if len(vs) > 60+16 {
			t.Errorf("%d logged visits kept: the log must stay bounded", len(vs))
		}
		return nil
	})
	e.check()
}
