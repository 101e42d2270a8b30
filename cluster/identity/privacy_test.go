package identity_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// newModeEnv is newEnv for a store made in mode, encrypted when keyFile is
// set.
func newModeEnv(t testing.TB, mode store.Mode, keyFile string, o identity.Options) *env {
	t.Helper()
	return openEnv(t, store.Options{Mode: mode, KeyFile: keyFile}, o)
}

// enrol enrols person who as customer name, with two faces.
func (e *env) enrol(name string, who int) identity.Enrolment {
	e.t.Helper()
	en, err := e.svc.AddCustomer(name, "consent form 12", []string{name + "1.jpg", name + "2.jpg"}, [][]float32{face(who, e.rng), face(who, e.rng)}, t0.Add(-time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

func floatBytes(v []float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// fileHolds tells whether the store's file holds any of the descriptors,
// or their mean (what an exemplar keeps).
func (e *env) fileHolds(ds [][]float32) bool {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.st.Dir(), store.FileName))
	if err != nil {
		e.t.Fatal(err)
	}
	// The mean as the service computes it, to the bit.
	m := make([]float32, len(ds[0]))
	for _, d := range ds {
		if bytes.Contains(b, floatBytes(d)) {
			return true
		}
		for i := range d {
			m[i] += d[i]
		}
	}
	inv := 1 / float32(len(ds))
	for i := range m {
		m[i] *= inv
	}
	return bytes.Contains(b, floatBytes(m))
}

// TestConsentMode: only enrolled customers are recognised; anyone else
// leaves no identity and nothing of their face, and is an anonymous
// passage; customers follow the regular policy; staff are still staff.
func TestConsentMode(t *testing.T) {
	e := newModeEnv(t, store.Consent, "", identity.Options{Mode: store.Consent})
	en := e.enrol("Hanako", 1)
	if !en.New || en.Adopted != "" || en.Customer.Identity == "" || !en.Customer.Consented.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("enrolment %+v", en)
	}
	if _, err := e.svc.AddStaff("Ann", []string{"ann.jpg"}, [][]float32{face(7, e.rng)}, t0); err != nil {
		t.Fatal(err)
	}
	// A stranger and the customer, three days running (in time order):
	// the stranger is never remembered, the customer follows the same
	// policy as in counting mode.
	var ds []vocab.Decision
	for day := 0; day < 3; day++ {
		v := e.visit(2, t0.AddDate(0, 0, day), 3)
		d, err := e.svc.Observe(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		want := vocab.Decision{Visit: v.ID, Time: v.Start, Unknown: true, Confidence: d.Confidence}
		if !reflect.DeepEqual(d, want) || d.Confidence < 0.99 {
			t.Errorf("stranger, day %d: %+v", day, d)
		}
		if e.fileHolds(v.Descriptors) {
			t.Errorf("stranger, day %d: the file holds their face", day)
		}
		// Idempotent: the same decision again.
		if again, ok, err := e.svc.Decided(v.ID); !ok || err != nil || !reflect.DeepEqual(again, d) {
			t.Errorf("decided again: %+v %v %v", again, ok, err)
		}
		ds = append(ds, e.observe(1, t0.AddDate(0, 0, day).Add(time.Hour)))
	}
	if e.count() != 1 {
		t.Errorf("%d identities: only the customer's may exist", e.count())
	}
	for i, d := range ds {
		if d.Visitor != en.Customer.Identity || d.Unknown || d.Days != i+1 || d.New {
			t.Errorf("customer visit %d: %+v", i, d)
		}
	}
	if !ds[2].Regular || !ds[2].BecameRegular || ds[1].Regular {
		t.Errorf("customer did not become a regular on the third day: %+v", ds)
	}
	if d := e.observe(7, t0); d.Staff != "Ann" {
		t.Errorf("staff in consent mode: %+v", d)
	}
	// Maintenance makes nobody up.
	if _, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 3)); err != nil {
		t.Fatal(err)
	}
	if e.count() != 1 {
		t.Errorf("%d identities after maintenance", e.count())
	}
	list, err := e.svc.Customers(t0.AddDate(0, 0, 2))
	if err != nil || len(list) != 1 || list[0].Name != "Hanako" || list[0].Visits != 3 || !list[0].Regular || list[0].Note != "consent form 12" || len(list[0].Exemplars) != 2 {
		t.Errorf("customers %+v %v", list, err)
	}
	s, err := identity.Summarise(e.st, identity.Policy{}, t0.AddDate(0, 0, 3))
	if err != nil || s.Mode != "consent" || s.Customers != 1 || s.Passages != 3 || s.Identities != 1 {
		t.Errorf("stats %+v %v", s, err)
	}
	e.check()
}

// TestCustomers: enrolment adds faces, refuses a second enrolment of the
// same face, adopts a known visitor's history in counting mode, and
// removal deletes everything.
func TestCustomers(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	first := e.observe(3, t0)
	e.observe(3, t0.AddDate(0, 0, 1))
	en := e.enrol("Kenji", 3)
	if !en.New || en.Adopted != first.Visitor || en.Visits != 2 || en.Customer.Identity != first.Visitor {
		t.Errorf("enrolling a known visitor: %+v", en)
	}
	if d := e.observe(3, t0.AddDate(0, 0, 2)); d.Visitor != first.Visitor || !d.BecameRegular {
		t.Errorf("adopted history does not count: %+v", d)
	}
	more, err := e.svc.AddCustomer("Kenji", "", []string{"k3.jpg"}, [][]float32{face(3, e.rng)}, t0.AddDate(0, 0, 5))
	if err != nil || more.New || len(more.Customer.Exemplars) != 3 || more.Customer.Note != "consent form 12" || !more.Customer.Consented.Equal(t0.Add(-time.Hour)) {
		t.Errorf("adding faces: %+v %v", more, err)
	}
	if _, err := e.svc.AddCustomer("Kenji2", "", []string{"k.jpg"}, [][]float32{face(3, e.rng)}, t0); err == nil || !strings.Contains(err.Error(), "match customer Kenji, already enrolled") {
		t.Errorf("second enrolment of one face: %v", err)
	}
	for _, tc := range []struct{ name, want string }{{"", "customer name is empty"}, {"A\x01", "unprintable"}} {
		if _, err := e.svc.AddCustomer(tc.name, "", []string{"x.jpg"}, [][]float32{face(4, e.rng)}, t0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("name %q: %v", tc.name, err)
		}
	}
	e.check()
	f, ok, err := e.svc.RemoveCustomer("Kenji")
	if !ok || err != nil || f.ID != first.Visitor || f.Logged != 3 || f.Customer != "Kenji" {
		t.Fatalf("remove: %+v %v %v", f, ok, err)
	}
	if _, ok, _ := e.svc.Decided(first.Visit); ok {
		t.Error("a removed customer's visits are still logged")
	}
	if m, _ := e.svc.Match([][]float32{face(3, e.rng)}); m.Visitor != "" {
		t.Errorf("removed customer still matched: %+v", m)
	}
	if list, _ := e.svc.Customers(t0); len(list) != 0 {
		t.Errorf("customers after removal: %+v", list)
	}
	if _, ok, _ := e.svc.RemoveCustomer("Kenji"); ok {
		t.Error("removed twice")
	}
	e.check()
}

// TestSwitchModes: counting -> consent forgets everyone who did not enrol,
// to the last byte of the file; consent -> counting keeps the customers.
func TestSwitchModes(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	var faces [][][]float32
	for who := 1; who <= 6; who++ {
		v := e.visit(who, t0.Add(time.Duration(who)*time.Minute), 2)
		if _, err := e.svc.Observe(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		faces = append(faces, v.Descriptors)
	}
	en := e.enrol("Yui", 1)
	if forget, keep := e.svc.Pending(store.Consent); forget != 5 || keep != 1 {
		t.Errorf("pending: forget %d, keep %d", forget, keep)
	}
	// The service of another mode is refused, saying how to switch.
	_, err := identity.New(e.st, identity.Options{Mode: store.Consent})
	var me *identity.ModeError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "joren customers mode consent --forget-others --store "+e.st.Dir()) {
		t.Errorf("consent service on a counting store: %v", err)
	}
	ch, err := e.svc.SetMode(context.Background(), store.Consent)
	if err != nil || ch.Forgotten != 5 || ch.Customers != 1 || ch.From != store.Counting || ch.To != store.Consent {
		t.Fatalf("switch: %+v %v", ch, err)
	}
	if e.count() != 1 || e.st.Meta().Mode != store.Consent {
		t.Errorf("after the switch: %d identities, mode %s", e.count(), e.st.Meta().Mode)
	}
	for who := 2; who <= 6; who++ {
		if e.fileHolds(faces[who-1]) {
			t.Errorf("person %d's face is still in the file after the switch", who)
		}
	}
	if !e.fileHolds(faces[0]) {
		t.Error("test broken: the customer's face should be in the (plain) file")
	}
	if d := e.observe(4, t0.AddDate(0, 0, 1)); !d.Unknown {
		t.Errorf("a forgotten visitor after the switch: %+v", d)
	}
	if d := e.observe(1, t0.AddDate(0, 0, 1)); d.Visitor != en.Customer.Identity {
		t.Errorf("the customer after the switch: %+v", d)
	}
	e.check()
	ch, err = e.svc.SetMode(context.Background(), store.Counting)
	if err != nil || ch.Forgotten != 0 || ch.Customers != 1 {
		t.Fatalf("switch back: %+v %v", ch, err)
	}
	if d := e.observe(4, t0.AddDate(0, 0, 2)); !d.New || d.Unknown {
		t.Errorf("counting again: %+v", d)
	}
	if list, _ := e.svc.Customers(t0); len(list) != 1 {
		t.Errorf("customers after switching back: %+v", list)
	}
	e.check()
}

// TestInterruptedSwitch: a store left in consent mode with visitors not
// yet forgotten (a crash during the switch) is finished by New, before
// anyone is matched.
func TestInterruptedSwitch(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{})
	for who := 1; who <= 4; who++ {
		e.observe(who, t0)
	}
	e.enrol("Mio", 1)
	if err := e.st.Update(func(tx *store.Tx) error { return tx.SetMode(store.Consent) }); err != nil {
		t.Fatal(err)
	}
	e.reopen(identity.Options{Mode: store.Consent})
	if e.count() != 1 {
		t.Errorf("%d identities: the switch was not finished", e.count())
	}
	if d := e.observe(2, t0.AddDate(0, 0, 1)); !d.Unknown {
		t.Errorf("a visitor who never enrolled: %+v", d)
	}
	e.check()
}

// TestMaintainKeepsCustomersApart: two enrolled customers are never
// merged (nor split); a visitor found to be a customer joins the customer.
func TestMaintainKeepsCustomersApart(t *testing.T) {
	// Attach nothing at the door, so that every visit is a new identity
	// and only maintenance can join them.
	e := newEnv(t, store.Limits{}, identity.Options{Params: identity.Params{ReturnLogOdds: -1000}})
	a := e.enrol("Twin A", 5)
	// A second enrolment of the same face under another name (the bar
	// refuses it at -1000 log odds only because nothing matches).
	b, err := e.svc.AddCustomer("Twin B", "", []string{"b.jpg"}, [][]float32{face(5, e.rng)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	v := e.observe(5, t0)
	e.reopen(identity.Options{})
	r, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Compacted || r.FileAfter <= 0 {
		t.Errorf("maintenance did not compact: %+v", r)
	}
	list, _ := e.svc.Customers(t0)
	if len(list) != 2 {
		t.Fatalf("customers after maintenance: %+v", list)
	}
	if e.count() != 2 {
		t.Errorf("%d identities: the visitor should have joined a customer, and the customers stayed apart", e.count())
	}
	e.st.View(func(tx *store.Tx) error {
		id, _ := tx.Resolve(v.Visitor)
		if id != a.Customer.Identity && id != b.Customer.Identity {
			t.Errorf("visitor %s now lives as %s, not a customer", v.Visitor, id)
		}
		return nil
	})
	e.check()
}

// TestRetentionLeavesNothing: an identity unseen for the retention period
// is deleted by the maintenance pass with its exemplars and visit log, and
// the pass's compaction leaves none of their bytes in the file. The pass
// needs no visit to run (the device runs it nightly).
func TestRetentionLeavesNothing(t *testing.T) {
	e := newEnv(t, store.Limits{}, identity.Options{Policy: identity.Policy{Window: 30, Retention: 60}})
	old := e.visit(1, t0, 3)
	if _, err := e.svc.Observe(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	e.runThrough(t0, t0.AddDate(0, 0, 50))
	e.observe(2, t0.AddDate(0, 0, 50))
	if !e.fileHolds(old.Descriptors) {
		t.Fatal("test broken: the exemplar should be in the (plain) file")
	}
	e.runThrough(t0.AddDate(0, 0, 50), t0.AddDate(0, 0, 61))
	r, err := e.svc.Maintain(context.Background(), t0.AddDate(0, 0, 61))
	if err != nil || r.Expired != 1 || !r.Compacted {
		t.Fatalf("maintenance %+v %v", r, err)
	}
	if e.fileHolds(old.Descriptors) {
		t.Error("the expired visitor's exemplar is still in the file")
	}
	b, _ := os.ReadFile(filepath.Join(e.st.Dir(), store.FileName))
	if bytes.Contains(b, []byte(old.ID)) {
		t.Error("the expired visitor's visit id is still in the file")
	}
	e.check()
}

// TestEncryptedServiceSameDecisions: the service decides exactly the same
// on an encrypted store as on a plain one, through staff, customers,
// maintenance (merges), forgetting and retention.
func TestEncryptedServiceSameDecisions(t *testing.T) {
	key := filepath.Join(t.TempDir(), "store.key")
	run := func(keyFile string) []string {
		e := newModeEnv(t, store.Counting, keyFile, identity.Options{Policy: identity.Policy{Window: 10, Retention: 20}})
		e.enrol("Sora", 9)
		if _, err := e.svc.AddStaff("Ann", []string{"a.jpg"}, [][]float32{face(7, e.rng)}, t0); err != nil {
			t.Fatal(err)
		}
		var out []string
		rng := rand.New(rand.NewPCG(5, 6))
		for day := 0; day < 40; day++ {
			at := t0.AddDate(0, 0, day)
			if e.svc.MaintenanceDue(at) {
				r, err := e.svc.Maintain(context.Background(), at)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("maintain %d %d %d %d", r.Expired, r.Pruned, r.Merged, r.Split))
			}
			for k := 0; k < 6; k++ {
				who := rng.IntN(12)
				if day > 25 && who < 3 {
					continue // gone: retention will take them
				}
				d := e.observe(who, at.Add(time.Duration(k)*time.Hour))
				out = append(out, fmt.Sprintf("%+v", d))
			}
			if day == 20 {
				if _, ok, err := e.svc.Forget("p000004"); err != nil || !ok {
					t.Fatalf("forget: %v %v", ok, err)
				}
			}
		}
		e.check()
		if keyFile != "" && !e.st.Encrypted() {
			t.Fatal("not encrypted")
		}
		return out
	}
	plain, enc := run(""), run(key)
	if !reflect.DeepEqual(plain, enc) {
		for i := range plain {
			if i >= len(enc) || plain[i] != enc[i] {
				t.Fatalf("line %d differs:\n  plain     %s\n  encrypted %s", i, plain[i], enc[min(i, len(enc)-1)])
			}
		}
		t.Fatalf("%d lines plain, %d encrypted", len(plain), len(enc))
	}
}

// TestConsentQuality measures consent mode on the shared real descriptors:
// half the people enrol (two faces each), then everyone walks by in visits
// of three descriptors. A stranger taken for a customer is the mistake
// that matters in consent mode; a customer missed only misses a light.
func TestConsentQuality(t *testing.T) {
	names, by, model := dev(t)
	st, err := store.Open(t.TempDir(), store.Options{Model: model, Create: true, NoSync: true, Mode: store.Consent})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := identity.New(st, identity.Options{Mode: store.Consent, Maintenance: identity.MaintenanceOptions{NoCompaction: true}})
	if err != nil {
		t.Fatal(err)
	}
	const k = 3
	ids := map[string]string{}
	var enrolled, strangers []string
	for i, n := range names {
		if len(by[n]) < 2+k {
			continue
		}
		if i%2 == 1 {
			strangers = append(strangers, n)
			continue
		}
		e, err := svc.AddCustomer(fmt.Sprintf("c%03d", i), "", []string{"a.jpg", "b.jpg"}, by[n][:2], t0)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		ids[n] = e.Customer.Identity
		enrolled = append(enrolled, n)
	}
	var genuine, right, wrong, passers, taken int
	at := t0
	visit := func(n string, ds [][]float32) vocab.Decision {
		at = at.Add(7 * time.Hour)
		d, err := svc.Observe(context.Background(), vocab.Visit{ID: fmt.Sprintf("v%05d", genuine+passers), Start: at, End: at, Model: model, Descriptors: ds})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for round := 0; ; round++ {
		more := false
		for _, n := range enrolled {
			if lo := 2 + round*k; lo+k <= len(by[n]) {
				more = true
				genuine++
				switch d := visit(n, by[n][lo:lo+k]); {
				case d.Visitor == ids[n]:
					right++
				case !d.Unknown:
					wrong++
				}
			}
		}
		for _, n := range strangers {
			if lo := round * k; lo+k <= len(by[n]) {
				more = true
				passers++
				if d := visit(n, by[n][lo:lo+k]); !d.Unknown {
					taken++
				}
			}
		}
		if !more {
			break
		}
	}
	if n := st.Meta(); n.Mode != store.Consent {
		t.Fatal(n.Mode)
	}
	far := float64(taken) / float64(passers)
	t.Logf("%d customers enrolled; %d customer visits: %.1f%% recognised, %.1f%% taken for another customer; %d visits of %d strangers: %.1f%% taken for a customer",
		len(enrolled), genuine, 100*float64(right)/float64(genuine), 100*float64(wrong)/float64(genuine), passers, len(strangers), 100*far)
	if far > 0.03 {
		t.Errorf("%.1f%% of strangers' visits taken for a customer: want at most 3%%", 100*far)
	}
	if float64(right)/float64(genuine) < 0.75 {
		t.Errorf("only %d of %d customer visits recognised", right, genuine)
	}
	var identities int
	st.View(func(tx *store.Tx) error { identities = tx.Count(); return nil })
	if identities != len(enrolled) {
		t.Errorf("%d identities for %d customers", identities, len(enrolled))
	}
}
