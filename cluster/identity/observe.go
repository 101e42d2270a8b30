package identity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"joren/cluster/store"
	"joren/vocab"
)

// Observe decides one visit: staff, a known visitor, or someone new (in
// consent mode: an enrolled customer, or someone unknown, of whom nothing
// is kept but an anonymous passage in the visit log: its id, time and the
// confidence that it was nobody enrolled); it updates the visitor's
// history and returns the decision once it is durable in the store.
// Observe is idempotent: a visit id already decided returns the recorded
// decision and changes nothing, so a replay interrupted by a crash can
// simply start again.
//
// Errors name the visit and say what is wrong; a bad visit changes nothing.
func (s *Service) Observe(ctx context.Context, v vocab.Visit) (vocab.Decision, error) {
	if err := ctx.Err(); err != nil {
		return vocab.Decision{}, err
	}
	if err := s.checkVisit(v); err != nil {
		return vocab.Decision{}, err
	}
	if v.End.Before(v.Start) {
		v.End = v.Start
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	m := mean(v.Descriptors)
	s.q.reset(s.sc.feature(m, s.feat), len(v.Descriptors))
	// The store is dated by the visit's time only when the clock is
	// trusted (clock.go): otherwise by the last trusted time, with no day
	// counted and no retention run.
	held := !s.readClock(v.Start).Trusted
	at := s.clock.dated(v.Start)
	var (
		o      observation
		save   time.Time
		saving bool
	)
	err := s.st.Update(func(tx *store.Tx) error {
		o = observation{v: v, mean: m, at: at, held: held, before: at.AddDate(0, 0, -s.policy.Retention)}
		if err := s.observe(tx, &o); err != nil {
			return err
		}
		if save, saving = s.clock.toSave(); saving {
			tx.SetClock(save)
		}
		return nil
	})
	if err != nil {
		return vocab.Decision{}, fmt.Errorf("visit %s: %w", v.ID, err)
	}
	if saving {
		s.clock.savedAs(save)
	}
	if held && !o.repeated {
		s.counters.Held++
	}
	s.learn(&o)
	return o.d, nil
}

// observation is one visit on its way through Observe's steps: what they
// found, and what the in-memory index must learn once the store has
// committed.
type observation struct {
	v    vocab.Visit
	mean []float32 // of the visit's descriptors
	// at dates the visit in the store: its start, or the last trusted
	// time when the clock is not trusted (held: then no day is counted,
	// nobody becomes a regular and retention waits).
	at   time.Time
	held bool
	// repeated: the visit was decided before.
	repeated bool
	// before is retention's horizon as of the visit.
	before time.Time
	// apart are the identities of the people seen at the same time, and
	// notStaff the staff members among them (nil when there are none).
	apart, notStaff map[string]bool
	// top are the best two identities (apart left out), prior the log
	// prior odds of each.
	top   []match
	prior float64
	// rec is the visitor's identity, isNew when the visit makes it.
	rec   store.Identity
	isNew bool
	d     vocab.Decision
	// changed says rec was written; removed are the identities that
	// retention and eviction deleted.
	changed bool
	removed []string
}

// observe decides a visit in one transaction, step by step; a step that
// settles the visit ends it (done).
func (s *Service) observe(tx *store.Tx, o *observation) error {
	if done, err := s.decidedBefore(tx, o); done || err != nil {
		return err
	}
	if err := s.together(tx, o); err != nil {
		return err
	}
	// The best two identities, but none of the people seen with the
	// visitor.
	o.top = s.idx.top(s.q, 2, func(id string) bool { return o.apart[id] })
	if done, err := s.staffVisit(tx, o); done || err != nil {
		return err
	}
	o.prior = s.prior()
	if err := s.recognise(tx, o); err != nil {
		return err
	}
	if o.isNew && s.mode == store.Consent {
		return s.passage(tx, o)
	}
	if err := s.remember(tx, o); err != nil {
		return err
	}
	if err := s.linkApart(tx, o); err != nil {
		return err
	}
	if err := s.markForMaintenance(tx, o); err != nil {
		return err
	}
	if err := s.logVisit(tx, o); err != nil {
		return err
	}
	return s.keepBounded(tx, o)
}

// decidedBefore returns the recorded decision of a visit already decided:
// Observe is idempotent, so that a replay interrupted by a crash can start
// again.
func (s *Service) decidedBefore(tx *store.Tx, o *observation) (bool, error) {
	rec, ok, err := tx.Visit(o.v.ID)
	if err != nil || !ok {
		return false, err
	}
	o.d, o.repeated = decisionOf(rec), true
	return true, nil
}

// together finds who was seen at the same time as the visitor (decided
// visits of Visit.Together): people side by side are other people, so
// their identities and staff members are ruled out.
func (s *Service) together(tx *store.Tx, o *observation) error {
	if len(o.v.Together) == 0 {
		return nil // most visits: no maps to make
	}
	o.apart, o.notStaff = map[string]bool{}, map[string]bool{}
	for _, other := range o.v.Together {
		rec, ok, err := tx.Visit(other)
		if err != nil {
			return err
		}
		if !ok {
			continue // not decided (yet): nothing to rule out
		}
		if rec.Identity != "" {
			// Maintenance may have merged it away since.
			id, err := tx.Resolve(rec.Identity)
			if err != nil {
				return err
			}
			o.apart[id] = true
		}
		if rec.Staff != "" {
			o.notStaff[rec.Staff] = true
		}
	}
	return nil
}

// staffVisit decides the visit as a staff member's when one matches it,
// at least as well as any identity. Staff come first: they walk in all day
// and must never count as visitors. Only the decision is logged.
func (s *Service) staffVisit(tx *store.Tx, o *observation) (bool, error) {
	best := math.Inf(-1)
	if len(o.top) > 0 {
		best = o.top[0].llr
	}
	name, llr, ok := s.matchStaff(s.q, o.notStaff)
	if !ok || !(llr >= best) {
		return false, nil
	}
	o.d = vocab.Decision{Visit: o.v.ID, Time: o.v.Start, Staff: name, Confidence: sigmoid(llr - s.params.StaffLLR)}
	return true, tx.PutVisit(store.Visit{ID: o.v.ID, Staff: name, Time: o.v.Start, Confidence: o.d.Confidence})
}

// recognise takes the best identity when its evidence beats the prior;
// otherwise the visitor is someone new.
func (s *Service) recognise(tx *store.Tx, o *observation) error {
	o.isNew = true
	if len(o.top) > 0 && o.top[0].llr+o.prior > 0 {
		rec, ok, err := tx.Identity(o.top[0].id)
		if err != nil {
			return err
		}
		// The index and the store always agree; be safe all the same.
		o.rec, o.isNew = rec, !ok
	}
	return nil
}

// passage logs the visit of someone nobody enrolled, in consent mode: no
// identity, nothing of the face, only the anonymous passage (with the
// confidence that it was nobody enrolled). Retention still runs, a few
// identities at a time, so that the store stays bounded without
// maintenance.
func (s *Service) passage(tx *store.Tx, o *observation) error {
	o.d = vocab.Decision{Visit: o.v.ID, Time: o.v.Start, Unknown: true, Confidence: confidence(o.top, o.prior, true)}
	if err := tx.PutVisit(store.Visit{ID: o.v.ID, Time: o.v.Start, Confidence: o.d.Confidence}); err != nil {
		return err
	}
	if o.held {
		return nil
	}
	var err error
	o.removed, err = tx.Expire(o.before, 8)
	return err
}

// remember adds the visit to the visitor's identity (a new one, with a
// fresh id, for someone new) and writes it, with the people seen with
// them as people apart: maintenance never merges those.
func (s *Service) remember(tx *store.Tx, o *observation) error {
	if o.isNew {
		id, err := tx.NewID()
		if err != nil {
			return err
		}
		o.rec = store.Identity{ID: id, Created: o.at}
	}
	o.d = s.attach(&o.rec, o, o.isNew)
	o.d.Confidence = confidence(o.top, o.prior, o.isNew)
	for id := range o.apart {
		o.rec.Apart = addApart(o.rec.Apart, id, tx.Limits().MaxApart)
	}
	if err := tx.PutIdentity(o.rec); err != nil {
		return err
	}
	o.changed = true
	return nil
}

// linkApart adds the visitor to the people-apart lists of those seen with
// them: the relation goes both ways, whichever identity maintenance
// checks.
func (s *Service) linkApart(tx *store.Tx, o *observation) error {
	for id := range o.apart {
		other, ok, err := tx.Identity(id)
		if err != nil {
			return err
		}
		if ok && !slices.Contains(other.Apart, o.rec.ID) {
			other.Apart = addApart(other.Apart, o.rec.ID, tx.Limits().MaxApart)
			if err := tx.PutIdentity(other); err != nil {
				return err
			}
		}
	}
	return nil
}

// markForMaintenance puts the visitor on maintenance's to-do list (its
// identity changed: it may now merge with another), and the runner-up too
// when the visit was ambiguous (a second identity within Margin of the
// best, itself above the prior): maintenance looks at both.
func (s *Service) markForMaintenance(tx *store.Tx, o *observation) error {
	if err := tx.MarkDirty(o.rec.ID); err != nil {
		return err
	}
	top := o.top
	if len(top) == 2 && !o.isNew && top[0].llr-top[1].llr < s.params.Margin && top[1].llr+o.prior > 0 {
		return tx.MarkDirty(top[1].id)
	}
	return nil
}

// logVisit records the decision under the visit's id: what makes Observe
// idempotent, and what forgetting someone deletes with them.
func (s *Service) logVisit(tx *store.Tx, o *observation) error {
	d := o.d
	return tx.PutVisit(store.Visit{ID: o.v.ID, Identity: o.rec.ID, Visitor: o.rec.ID, Time: o.v.Start, Days: d.Days, Visits: d.Visits,
		Regular: d.Regular, New: d.New, Became: d.BecameRegular, Confidence: d.Confidence})
}

// keepBounded runs retention a few at a time, so that the store stays
// bounded even when maintenance does not run (other identities unseen for
// too long, and now and then this visitor's old log records), then makes
// room within the limits, never evicting the visitor.
func (s *Service) keepBounded(tx *store.Tx, o *observation) error {
	var expired []string
	if !o.held {
		var err error
		if expired, err = tx.Expire(o.before, 8); err != nil {
			return err
		}
	}
	if o.rec.Visits%16 == 0 && !o.held {
		if _, err := tx.PruneVisitsOf(o.rec.ID, o.before); err != nil {
			return err
		}
	}
	evicted, err := tx.MakeRoom(0, 0, o.rec.ID)
	if err != nil {
		return err
	}
	o.removed = append(expired, evicted...)
	return nil
}

// learn brings the in-memory index in line with what the transaction
// committed: the visitor's new feature, and the identities deleted.
func (s *Service) learn(o *observation) {
	if o.changed {
		feat, n := s.featureOf(o.rec, nil)
		s.idx.put(o.rec.ID, feat, n)
	}
	for _, id := range o.removed {
		s.unload(id)
	}
	if len(o.removed) > 0 {
		s.log.Info("identities removed to stay within limits", "count", len(o.removed))
	}
}

// matchStaff returns the best staff member for q, if any is above the bar.
func (s *Service) matchStaff(q *query, skip map[string]bool) (string, float64, bool) {
	best, name := math.Inf(-1), ""
	for _, m := range s.staff {
		if skip[m.name] {
			continue
		}
		if l := q.llr(m.feat, m.n); l > best {
			best, name = l, m.name
		}
	}
	return name, best, name != "" && best > s.params.StaffLLR
}

// attach adds the visit of o (whose descriptors have mean o.mean) to rec
// and returns the decision. The visit is dated o.at; a visit held by an
// untrusted clock counts as a visit but adds no day, is never merged with
// the one before (its time says nothing), and makes nobody a regular.
func (s *Service) attach(rec *store.Identity, o *observation, isNew bool) vocab.Decision {
	pol := s.policy
	v, m, at := o.v, o.mean, o.at
	today := pol.Day(at)
	k := len(v.Descriptors)
	wasRegular := !isNew && daysIn(rec.Days, today, pol) >= pol.RegularDays
	// A passage within the merge window of the last one is the same visit
	// (someone stepping out and back in, or a track that broke).
	same := !isNew && !o.held && rec.LastVisit != "" && !at.Before(rec.LastSeen) && at.Sub(rec.LastEnd) <= pol.MergeWindow
	lim := s.st.Limits()
	if n := len(rec.Exemplars); same && n > 0 && rec.Exemplars[n-1].Visit == rec.LastVisit {
		last := &rec.Exemplars[n-1]
		w0, w1 := float32(last.Count), float32(k)
		merged := make([]float32, len(m))
		for i := range merged {
			merged[i] = (w0*last.Mean[i] + w1*m[i]) / (w0 + w1)
		}
		last.Mean, last.Count, last.Visit = merged, last.Count+k, v.ID
	} else {
		rec.Exemplars = append(rec.Exemplars, store.Exemplar{Visit: v.ID, Time: at, Day: today, Count: k, Mean: m})
		// The oldest exemplar goes first: faces change slowly, and recent
		// visits say most about the next one.
		if over := len(rec.Exemplars) - lim.MaxExemplars; over > 0 {
			rec.Exemplars = slices.Delete(rec.Exemplars, 0, over)
		}
	}
	if !same {
		rec.Visits++
		if !o.held && !slices.Contains(rec.Days, today) {
			rec.Days = append(rec.Days, today)
			slices.Sort(rec.Days)
			rec.TotalDays++
		}
	}
	// An enrolled customer's first visit sets LastSeen, which enrolment
	// set to the enrolment's time (for retention).
	if at.After(rec.LastSeen) || rec.LastSeen.IsZero() || rec.LastVisit == "" {
		rec.LastSeen = at
	}
	end := v.End
	if o.held {
		end = at
	}
	if end.After(rec.LastEnd) {
		rec.LastEnd = end
	}
	rec.LastVisit = v.ID
	latest := pol.Day(rec.LastSeen)
	rec.Days = slices.DeleteFunc(rec.Days, func(d int32) bool { return !pol.InWindow(d, latest) })
	n := daysIn(rec.Days, today, pol)
	rec.Regular = n >= pol.RegularDays
	became := rec.Regular && !wasRegular && !o.held
	if became {
		rec.RegularSince = at
	}
	rec.EverRegular = rec.EverRegular || rec.Regular
	return vocab.Decision{
		Visit: v.ID, Time: v.Start, Visitor: rec.ID, New: isNew,
		// A held visit's day is not counted, but it is a day of visiting.
		Visits: rec.Visits, Days: max(n, 1), Regular: rec.Regular, BecameRegular: became,
	}
}

// checkVisit tells what is wrong with a visit, if anything.
func (s *Service) checkVisit(v vocab.Visit) error {
	if v.ID == "" {
		return errors.New("visit without an id")
	}
	if v.Start.IsZero() {
		return fmt.Errorf("visit %s has no time", v.ID)
	}
	if v.Model.ID() != s.model.ID() || v.Model.Dim != s.model.Dim {
		return fmt.Errorf("visit %s: descriptors of model %s (%d values), but the store holds model %s (%d values)", v.ID, v.Model.ID(), v.Model.Dim, s.model.ID(), s.model.Dim)
	}
	if len(v.Descriptors) == 0 {
		return fmt.Errorf("visit %s has no descriptors", v.ID)
	}
	for i, d := range v.Descriptors {
		if err := s.model.Check(d); err != nil {
			return fmt.Errorf("visit %s: descriptor %d: %w", v.ID, i+1, err)
		}
	}
	return nil
}

func addApart(list []string, id string, limit int) []string {
	if slices.Contains(list, id) {
		return list
	}
	list = append(list, id)
	if over := len(list) - limit; over > 0 {
		list = slices.Delete(list, 0, over)
	}
	return list
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// confidence is the posterior probability of the decision taken, among
// "someone new" and the best two identities, with the prior of Params.
func confidence(top []match, prior float64, isNew bool) float64 {
	// Log-sum-exp over {new: 0} and the candidates.
	scores := []float64{0}
	for _, m := range top {
		scores = append(scores, m.llr+prior)
	}
	hi := slices.Max(scores)
	var sum float64
	for _, x := range scores {
		sum += math.Exp(x - hi)
	}
	chosen := 0.0
	if !isNew && len(top) > 0 {
		chosen = top[0].llr + prior
	}
	return math.Exp(chosen-hi) / sum
}
