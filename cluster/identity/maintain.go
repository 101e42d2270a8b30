package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"joren/cluster"
	"joren/cluster/store"
)

// MaintenanceOptions bound a maintenance pass.
type MaintenanceOptions struct {
	// Budget bounds one pass's time; identities left unchecked wait for
	// the next pass (the to-do list is in the store, so a pass can also be
	// interrupted at any moment and resumed).
	Budget time.Duration
	// Method re-clusters each checked identity with its nearest
	// neighbours (default: cluster.Adaptive, the most accurate method of
	// docs/clustering.md). Merges and splits need its grouping and the
	// evidence of the scorer to agree.
	Method cluster.Method
	// EvidenceOnly skips re-clustering and trusts the scorer alone (for
	// measurements).
	EvidenceOnly bool
	// NoCompaction skips the compaction that ends every pass (for
	// measurements only: without it, deleted records can linger in the
	// file's free pages).
	NoCompaction bool
}

func (o MaintenanceOptions) fill() MaintenanceOptions {
	if o.Budget == 0 {
		o.Budget = 30 * time.Second
	}
	if o.Method == "" {
		o.Method = cluster.Adaptive
	}
	return o
}

// Report says what a maintenance pass did.
type Report struct {
	// Expired identities (unseen for the retention period) and pruned
	// visit log records.
	Expired, Pruned int
	// Checked identities; Merged pairs; Split identities.
	Checked, Merged, Split int
	// Remaining identities still to check (the budget ran out, or the
	// pass was interrupted).
	Remaining int
	// Held says why retention did not run and the pass was not recorded:
	// the clock was not trusted (ClockState). Re-clustering ran all the
	// same.
	Held string
	// Compacted is set when the pass rewrote the store's file with only
	// its live records (FileBefore and FileAfter bytes): what retention,
	// forgetting and updates deleted is then gone from the file too.
	Compacted             bool
	FileBefore, FileAfter int64
	Elapsed               time.Duration
}

// Maintain runs a maintenance pass as of now: it deletes identities unseen
// for the retention period and old visit log records, then re-checks every
// identity touched since the last pass against its nearest neighbours,
// merging identities found to be one person and splitting ones found to be
// two, with their visit histories and regular status kept consistent, and
// ends by compacting the store's file, so that nothing deleted (by
// retention, forgetting, or the updates that replaced old exemplars)
// lingers in its free pages. Enrolled customers are never merged with each
// other nor split.
//
// The device runs a pass every night (and the identity stage before the
// first visit of a day), so retention holds even on a box that is never
// restarted and sees nobody for weeks.
//
// Each identity is checked in its own transaction and taken off the
// to-do list in it, so the pass can stop at any moment (ctx, the budget,
// a crash) and the next one resumes where it stopped. Observe may run
// between steps.
func (s *Service) Maintain(ctx context.Context, now time.Time) (Report, error) {
	start := time.Now()
	var r Report
	stopped := ctx
	ctx, cancel := context.WithTimeout(ctx, s.maint.Budget)
	defer cancel()
	// Retention runs as of now only if the clock is trusted; otherwise
	// re-clustering dates what it does with the last trusted time, and the
	// pass is not recorded (the next trusted one runs in full).
	s.mu.Lock()
	cs := s.readClock(now)
	now = s.clock.dated(now)
	s.mu.Unlock()
	if cs.Trusted {
		if err := s.retain(now, &r); err != nil {
			return r, err
		}
	} else {
		r.Held = cs.Reason
	}
	s.log.Debug("maintenance pass started", "as_of", now, "held", r.Held)
	for {
		if ctx.Err() != nil {
			break
		}
		var batch []string
		if err := s.st.View(func(tx *store.Tx) error {
			batch = tx.Dirty(64)
			return nil
		}); err != nil {
			return r, err
		}
		if len(batch) == 0 {
			break
		}
		for _, id := range batch {
			if ctx.Err() != nil {
				break
			}
			if err := s.check(id, now, &r); err != nil {
				return r, fmt.Errorf("maintenance of identity %s: %w", id, err)
			}
			r.Checked++
		}
	}
	s.mu.Lock()
	var save time.Time
	err := s.st.Update(func(tx *store.Tx) error {
		r.Remaining = len(tx.Dirty(0))
		if r.Remaining == 0 && cs.Trusted {
			tx.SetMaintained(s.policy.Day(now))
			save = s.clock.last
			tx.SetClock(save)
		}
		return nil
	})
	if err == nil && !save.IsZero() {
		s.clock.savedAs(save)
	}
	s.mu.Unlock()
	// Compaction rewrites the whole file: not while the process is being
	// stopped (the next pass compacts).
	if err == nil && !s.maint.NoCompaction && stopped.Err() == nil {
		if r.FileBefore, r.FileAfter, err = s.st.Compact(); err == nil {
			r.Compacted = true
		}
	}
	r.Elapsed = time.Since(start)
	level := slog.LevelDebug
	if r.Expired+r.Merged+r.Split > 0 || r.Remaining > 0 || r.Held != "" {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "maintenance pass", "expired", r.Expired, "pruned", r.Pruned, "checked", r.Checked, "merged", r.Merged, "split", r.Split, "remaining", r.Remaining, "file", r.FileAfter, "held", r.Held, "took", r.Elapsed)
	if err != nil {
		return r, err
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return r, ctx.Err()
	}
	return r, nil
}

// MaintenanceDue tells whether a pass is due before a visit at t: the
// first visit of a local day after the last completed pass, if the clock
// is trusted at t (an untrusted clock's passes hold retention and are not
// recorded: running one before every visit would only slow the door). A
// last pass dated after t (by a clock that ran ahead, before the guard)
// does not hold passes off.
func (s *Service) MaintenanceDue(t time.Time) bool {
	s.mu.Lock()
	ok, _ := s.clock.judge(t)
	last := s.clock.last
	s.mu.Unlock()
	m := s.st.Meta().Maintained
	return ok && (m < s.policy.Day(t) || !last.IsZero() && m > s.policy.Day(last))
}

func (s *Service) retain(now time.Time, r *Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := now.AddDate(0, 0, -s.policy.Retention)
	var expired []string
	err := s.st.Update(func(tx *store.Tx) error {
		var err error
		if expired, err = tx.Expire(before, 0); err != nil {
			return err
		}
		if r.Pruned, err = tx.PruneVisits(before); err != nil {
			return err
		}
		return tx.PruneAliases(before)
	})
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	for _, id := range expired {
		s.unload(id)
	}
	r.Expired = len(expired)
	return nil
}

// check re-clusters identity id with its nearest neighbours and applies
// the merges and split that the grouping and the evidence agree on.
func (s *Service) check(id string, now time.Time, r *Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		puts    []store.Identity
		removed []string
	)
	err := s.st.Update(func(tx *store.Tx) error {
		puts, removed = nil, nil
		if err := tx.ClearDirty(id); err != nil {
			return err
		}
		x, ok, err := tx.Identity(id)
		if err != nil || !ok {
			return err
		}
		feat, n, ok := s.idx.feature(id)
		if !ok {
			return nil
		}
		q := s.sc.query(slices.Clone(feat), n)
		cands := s.idx.top(q, s.params.Candidates, func(o string) bool { return o == id || slices.Contains(x.Apart, o) })
		group := []store.Identity{x}
		for _, c := range cands {
			y, ok, err := tx.Identity(c.id)
			if err != nil {
				return err
			}
			if ok && !slices.Contains(y.Apart, id) {
				group = append(group, y)
			}
		}
		label, exLabels, err := s.recluster(group)
		if err != nil {
			return err
		}
		merged := false
		prior := s.prior()
		// Merges: neighbours grouped with x by re-clustering, whose
		// evidence against x's clears the bar.
		for gi := 1; gi < len(group); gi++ {
			y := group[gi]
			if label != nil && label[gi] != label[0] {
				continue
			}
			fx, nx := s.featureOf(x, nil)
			fy, ny := s.featureOf(y, nil)
			if nx == 0 || ny == 0 {
				continue
			}
			if s.sc.query(fx, nx).llr(fy, ny)+prior <= s.params.MergeLogOdds {
				continue
			}
			if slices.Contains(x.Apart, y.ID) || slices.Contains(y.Apart, x.ID) {
				continue
			}
			// Two enrolled customers are two people, whatever their
			// faces say; a visitor found to be an enrolled customer
			// joins the customer.
			if x.Customer != "" && y.Customer != "" {
				continue
			}
			keep, gone := x, y
			if y.Created.Before(x.Created) || y.Created.Equal(x.Created) && y.ID < x.ID {
				keep, gone = y, x
			}
			if x.Customer != "" {
				keep, gone = x, y
			} else if y.Customer != "" {
				keep, gone = y, x
			}
			m := s.merge(keep, gone, tx.Limits())
			if err := tx.MoveVisits(gone.ID, keep.ID, nil); err != nil {
				return err
			}
			if err := tx.PutAlias(gone.ID, keep.ID, now); err != nil {
				return err
			}
			if _, err := tx.DeleteIdentity(gone.ID); err != nil {
				return err
			}
			if err := tx.PutIdentity(m); err != nil {
				return err
			}
			removed = append(removed, gone.ID)
			x = m
			merged = true
			r.Merged++
			s.log.Debug("merged identities", "kept", keep.ID, "merged", gone.ID)
		}
		// Split: part of x's visits grouped apart from the rest, with
		// evidence that they are someone else. (After a merge, the next
		// pass looks again.) An enrolled customer is one person by
		// enrolment: never split.
		if label == nil || merged || x.Customer != "" {
			puts = append(puts, x)
			return nil
		}
		if rest, part := splitParts(x, label[0], exLabels[0]); part != nil {
			fa, na := s.identityFeature(rest, nil)
			fb, nb := s.identityFeature(part, nil)
			if na > 0 && nb > 0 && s.sc.query(fa, na).llr(fb, nb)+prior < -s.params.SplitLogOdds {
				nid, err := tx.NewID()
				if err != nil {
					return err
				}
				a, b := s.split(x, rest, part, nid)
				var moved []string
				for _, e := range part {
					moved = append(moved, e.Visit)
				}
				if err := tx.MoveVisits(x.ID, b.ID, moved); err != nil {
					return err
				}
				if err := tx.PutIdentity(a); err != nil {
					return err
				}
				if err := tx.PutIdentity(b); err != nil {
					return err
				}
				x = a
				puts = append(puts, b)
				r.Split++
				s.log.Debug("split identity", "kept", a.ID, "new", b.ID)
			}
		}
		puts = append(puts, x)
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range removed {
		s.idx.remove(id)
	}
	for _, rec := range puts {
		feat, n := s.featureOf(rec, nil)
		if n > 0 {
			s.idx.put(rec.ID, feat, n)
		}
	}
	return nil
}

// recluster groups the exemplars of the identities with the maintenance
// method and returns, per identity, the group most of its descriptors fell
// in, and the group of each of its exemplars (nil, nil when re-clustering
// is off).
func (s *Service) recluster(group []store.Identity) ([]int, [][]int, error) {
	if s.maint.EvidenceOnly {
		return nil, nil, nil
	}
	var points [][]float32
	for _, g := range group {
		for _, e := range g.Exemplars {
			points = append(points, e.Mean)
		}
	}
	per := make([][]int, len(group))
	out := make([]int, len(group))
	if len(points) < 2 {
		for gi, g := range group {
			per[gi] = make([]int, len(g.Exemplars))
		}
		return out, per, nil
	}
	labels, err := cluster.Cluster(points, s.model, cluster.Params{Method: s.maint.Method})
	if err != nil {
		return nil, nil, err
	}
	i := 0
	for gi, g := range group {
		votes := map[int]int{}
		for _, e := range g.Exemplars {
			per[gi] = append(per[gi], labels[i])
			votes[labels[i]] += e.Count
			i++
		}
		best, bl := -1, -1
		for l, w := range votes {
			if w > best || w == best && l < bl {
				best, bl = w, l
			}
		}
		out[gi] = bl
	}
	return out, per, nil
}

// splitParts divides x's exemplars into those re-clustered with the
// majority and the others (nil when they all agree).
func splitParts(x store.Identity, majority int, labels []int) (rest, part []store.Exemplar) {
	if len(labels) != len(x.Exemplars) {
		return nil, nil
	}
	for i, e := range x.Exemplars {
		if labels[i] == majority {
			rest = append(rest, e)
		} else {
			part = append(part, e)
		}
	}
	if len(rest) == 0 || len(part) == 0 {
		return nil, nil
	}
	return rest, part
}

// merge combines two identities into keep's id: visit histories are
// united, so the merged identity is a regular exactly when the union of
// days says so.
func (s *Service) merge(keep, gone store.Identity, lim store.Limits) store.Identity {
	m := keep
	if gone.Created.Before(m.Created) {
		m.Created = gone.Created
	}
	if gone.LastSeen.After(m.LastSeen) {
		m.LastSeen, m.LastVisit = gone.LastSeen, gone.LastVisit
	}
	if gone.LastEnd.After(m.LastEnd) {
		m.LastEnd = gone.LastEnd
	}
	m.Visits = keep.Visits + gone.Visits
	common := 0
	for _, d := range gone.Days {
		if slices.Contains(keep.Days, d) {
			common++
		}
	}
	m.TotalDays = keep.TotalDays + gone.TotalDays - common
	m.Days = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(keep.Days), gone.Days...))))
	m.Exemplars = append(slices.Clone(keep.Exemplars), gone.Exemplars...)
	slices.SortStableFunc(m.Exemplars, func(a, b store.Exemplar) int { return a.Time.Compare(b.Time) })
	if over := len(m.Exemplars) - lim.MaxExemplars; over > 0 {
		m.Exemplars = slices.Delete(m.Exemplars, 0, over)
	}
	m.Apart = nil
	for _, a := range append(slices.Clone(keep.Apart), gone.Apart...) {
		if a != keep.ID && a != gone.ID {
			m.Apart = addApart(m.Apart, a, lim.MaxApart)
		}
	}
	s.restatus(&m)
	m.EverRegular = keep.EverRegular || gone.EverRegular || m.Regular
	switch {
	case keep.Regular && gone.Regular:
		if gone.RegularSince.Before(m.RegularSince) {
			m.RegularSince = gone.RegularSince
		}
	case gone.Regular:
		m.RegularSince = gone.RegularSince
	case m.Regular && !keep.Regular:
		m.RegularSince = m.LastSeen
	}
	return m
}

// split moves the exemplars part of x to a new identity nid; rest stays.
// Days only part's visits account for go with it; the others stay.
func (s *Service) split(x store.Identity, rest, part []store.Exemplar, nid string) (a, b store.Identity) {
	b = store.Identity{ID: nid, Exemplars: part, Visits: len(part)}
	for _, e := range part {
		if b.Created.IsZero() || e.Time.Before(b.Created) {
			b.Created = e.Time
		}
		if e.Time.After(b.LastSeen) {
			b.LastSeen, b.LastEnd, b.LastVisit = e.Time, e.Time, e.Visit
		}
		if !slices.Contains(b.Days, e.Day) {
			b.Days = append(b.Days, e.Day)
		}
	}
	slices.Sort(b.Days)
	b.TotalDays = len(b.Days)
	a = x
	a.Exemplars = rest
	a.Visits = max(1, x.Visits-len(part))
	restDays := map[int32]bool{}
	for _, e := range rest {
		restDays[e.Day] = true
	}
	a.Days = slices.DeleteFunc(slices.Clone(x.Days), func(d int32) bool { return slices.Contains(b.Days, d) && !restDays[d] })
	a.TotalDays = max(len(a.Days), x.TotalDays-(len(x.Days)-len(a.Days)))
	if slices.ContainsFunc(part, func(e store.Exemplar) bool { return e.Visit == x.LastVisit }) {
		a.LastSeen, a.LastVisit = time.Time{}, ""
		for _, e := range rest {
			if e.Time.After(a.LastSeen) {
				a.LastSeen, a.LastEnd, a.LastVisit = e.Time, e.Time, e.Visit
			}
		}
	}
	// Found to be two people: never merge them back.
	a.Apart = addApart(slices.Clone(a.Apart), b.ID, s.st.Limits().MaxApart)
	b.Apart = []string{a.ID}
	s.restatus(&a)
	s.restatus(&b)
	b.EverRegular = b.Regular
	if b.Regular {
		b.RegularSince = b.LastSeen
	}
	return a, b
}

// restatus recomputes the window's days and the regular status as of the
// identity's last visit.
func (s *Service) restatus(rec *store.Identity) {
	pol := s.policy
	latest := pol.Day(rec.LastSeen)
	rec.Days = slices.DeleteFunc(rec.Days, func(d int32) bool { return !pol.InWindow(d, latest) })
	rec.Regular = daysIn(rec.Days, latest, pol) >= pol.RegularDays
}
