package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"joren/cluster/store"
	"joren/vocab"
)

// Params tune matching. Zero fields take the defaults of the scorer in use
// (see DefaultParams); they were chosen on months of tuning people and
// checked on held-out people (docs/identity.md).
type Params struct {
	// ReturnLogOdds is the prior log odds that a visit is a return of
	// someone the store knows. The prior of each identity is that share
	// spread evenly over the N identities, so a visit joins identity j
	// when LLR_j - ln N + ReturnLogOdds > 0: the more identities, the
	// stronger the evidence must be, which keeps false matches from
	// growing with the store.
	ReturnLogOdds float64
	// StaffLLR is the evidence above which a visit is a staff member's
	// (and staff win ties with customers).
	StaffLLR float64
	// Margin: when the second-best identity is within this LLR of the
	// best, the visit is ambiguous; both identities go on maintenance's
	// to-do list, and the confidence says so.
	Margin float64
	// Candidates is how many nearest identities maintenance compares
	// with each identity it re-checks.
	Candidates int
	// MergeLogOdds and SplitLogOdds are maintenance's bars, in log odds
	// with the same prior: merge two identities above MergeLogOdds, split
	// one whose two parts fall below -SplitLogOdds.
	MergeLogOdds, SplitLogOdds float64
	// ConsentLogOdds replaces ReturnLogOdds in consent mode: the prior log
	// odds that a passer-by is one of the enrolled customers. Most people
	// at the door of a consent-mode shop never enrolled, and taking one
	// of them for a customer is the mistake that matters there, so it is
	// lower than ReturnLogOdds (default 0: on the shared descriptors,
	// with 35 customers enrolled and 3 descriptors a visit, 89% of the
	// customers' visits are recognised and 2 of 103 strangers' visits
	// pass for a customer; TestConsentQuality, docs/privacy.md).
	ConsentLogOdds float64
}

// DefaultParams returns the tuned parameters of a scorer kind ("plda" or
// "distance"). ReturnLogOdds was chosen on tuning people only
// (`joren replay --sweep`, docs/identity.md): the value whose shortfall
// from the best is smallest under every cross-validation scheme.
func DefaultParams(kind string) Params {
	p := Params{ReturnLogOdds: 4, StaffLLR: 2, Margin: 2, Candidates: 8, MergeLogOdds: 2, SplitLogOdds: 4}
	if kind == "distance" {
		p.ReturnLogOdds = 5
	}
	return p
}

func (p Params) fill(d Params) Params {
	if p.ReturnLogOdds == 0 {
		p.ReturnLogOdds = d.ReturnLogOdds
	}
	if p.StaffLLR == 0 {
		p.StaffLLR = d.StaffLLR
	}
	if p.Margin == 0 {
		p.Margin = d.Margin
	}
	if p.Candidates == 0 {
		p.Candidates = d.Candidates
	}
	if p.MergeLogOdds == 0 {
		p.MergeLogOdds = d.MergeLogOdds
	}
	if p.SplitLogOdds == 0 {
		p.SplitLogOdds = d.SplitLogOdds
	}
	return p
}

// Options configure a Service.
type Options struct {
	// Policy is the regular policy (zero fields: the defaults); its Zone
	// must be the store's (nil: the store's).
	Policy Policy
	// Params tune matching (zero fields: DefaultParams).
	Params Params
	// Space is the learnt space to match in. Nil: the space shipped for
	// the store's model, if any (LearntSpace). NoSpace forces the distance
	// model even when a space exists.
	Space   *Space
	NoSpace bool
	// Maintenance configures Maintain.
	Maintenance MaintenanceOptions
	// Log receives what the service does (nil: discarded).
	Log *slog.Logger
	// Mode is the mode the caller expects the store to be in ("": the
	// store's, whatever it is). A store in another mode is refused with a
	// ModeError saying how to switch: switching forgets people, so it is
	// never done implicitly (SetMode).
	Mode store.Mode
}

// ModeError says a store is not in the mode asked for.
type ModeError struct {
	Dir         string
	Store, Want store.Mode
}

func (e *ModeError) Error() string {
	if e.Want == store.Consent {
		return fmt.Sprintf("identity store %s is in counting mode, not consent mode: switching forgets every visitor who did not enrol; do it explicitly with `joren customers mode consent --forget-others --store %s`", e.Dir, e.Dir)
	}
	return fmt.Sprintf("identity store %s is in consent mode, not counting mode: switch it with `joren customers mode counting --store %s` (enrolled customers are kept)", e.Dir, e.Dir)
}

// Service is the identity store at work: it decides every visit
// (Observe), keeps the store bounded and re-clusters it (Maintain), and
// manages staff and forgetting. The device and `joren replay` call the same
// methods.
//
// A Service is the only writer of its store (the store's file lock keeps
// other processes out). Its methods are safe for concurrent use; they are
// serialised, each one a short transaction, so a maintenance pass running
// in one goroutine lets Observe in another proceed between its steps.
type Service struct {
	mu     sync.Mutex
	st     *store.Store
	model  vocab.Model
	policy Policy
	params Params
	maint  MaintenanceOptions
	sc     *scorer
	idx    *index
	staff  []staffEntry
	log    *slog.Logger
	// mode is the store's mode; enrolled holds the enrolment exemplars of
	// every enrolled customer's identity (they add to its visits').
	mode     store.Mode
	enrolled map[string][]store.Exemplar
	// Scratch of the door's path (Observe, Match), reused under mu.
	q    *query
	feat []float32
	// counters of Run, under mu.
	counters RunStats
}

type staffEntry struct {
	name string
	feat []float32
	n    int
}

// New loads the store's identities into memory and returns the service.
// Time and memory grow with the number of identities (bounded by the
// store's cap), not with history.
func New(st *store.Store, o Options) (*Service, error) {
	meta := st.Meta()
	zone, err := st.Zone()
	if err != nil {
		return nil, err
	}
	pol := o.Policy.fill()
	if pol.Zone == nil {
		pol.Zone = zone
	} else if pol.Zone.String() != zone.String() {
		return nil, fmt.Errorf("policy time zone %s differs from the store's (%s)", pol.Zone, zone)
	}
	if err := pol.Validate(); err != nil {
		return nil, fmt.Errorf("regular policy: %w", err)
	}
	space := o.Space
	if space == nil && !o.NoSpace {
		space = LearntSpace(meta.Model)
	}
	if o.NoSpace {
		space = nil
	}
	sc, err := newScorer(meta.Model, space)
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		st:       st,
		model:    meta.Model,
		policy:   pol,
		params:   o.Params.fill(DefaultParams(sc.kind())),
		maint:    o.Maintenance.fill(),
		sc:       sc,
		idx:      newIndex(sc.dim),
		log:      log,
		q:        &query{s: sc},
		feat:     make([]float32, sc.dim),
		mode:     meta.Mode,
		enrolled: map[string][]store.Exemplar{},
	}
	if o.Mode != "" && o.Mode != meta.Mode {
		return nil, &ModeError{Dir: st.Dir(), Store: meta.Mode, Want: o.Mode}
	}
	start := time.Now()
	others := 0
	err = st.View(func(tx *store.Tx) error {
		if err := tx.ForEachCustomer(func(c store.Customer) error {
			s.enrolled[c.Identity] = enrolExemplars(c)
			return nil
		}); err != nil {
			return err
		}
		var feat []float32
		if err := tx.ForEachIdentity(func(rec store.Identity) error {
			if s.mode == store.Consent && rec.Customer == "" {
				others++ // left by an interrupted switch: forgotten below
				return nil
			}
			var n int
			feat, n = s.featureOf(rec, feat)
			if n == 0 {
				return nil
			}
			s.idx.put(rec.ID, feat, n)
			return nil
		}); err != nil {
			return err
		}
		return s.loadStaff(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("loading identity store %s: %w", st.Dir(), err)
	}
	if others > 0 {
		// A switch to consent mode was interrupted: finish it before
		// anyone is matched.
		n, err := s.forgetOthers(context.Background())
		if err != nil {
			return nil, fmt.Errorf("identity store %s: finishing the switch to consent mode: %w", st.Dir(), err)
		}
		log.Info("switch to consent mode finished: visitors who did not enrol forgotten", "forgotten", n)
	}
	log.Debug("identity store loaded", "identities", s.idx.len(), "customers", len(s.enrolled), "staff", len(s.staff), "mode", s.mode, "scorer", sc.kind(), "took", time.Since(start))
	return s, nil
}

// Mode is the store's mode.
func (s *Service) Mode() store.Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

func enrolExemplars(c store.Customer) []store.Exemplar {
	ex := make([]store.Exemplar, 0, len(c.Exemplars))
	for _, d := range c.Exemplars {
		ex = append(ex, store.Exemplar{Count: 1, Mean: d})
	}
	return ex
}

// featureOf is an identity's feature and count: its visits' exemplars,
// and an enrolled customer's enrolment faces.
func (s *Service) featureOf(rec store.Identity, dst []float32) ([]float32, int) {
	ex := rec.Exemplars
	if e, ok := s.enrolled[rec.ID]; ok && len(e) > 0 {
		ex = append(slices.Clone(e), ex...)
	}
	return s.identityFeature(ex, dst)
}

// Model is the model of the store's descriptors.
func (s *Service) Model() vocab.Model { return s.model }

// Policy is the regular policy in force.
func (s *Service) Policy() Policy { return s.policy }

// prior is the log prior odds that a visit is a given identity's: the
// mode's odds of a known face spread over the identities. Under s.mu.
func (s *Service) prior() float64 {
	odds := s.params.ReturnLogOdds
	if s.mode == store.Consent {
		odds = s.params.ConsentLogOdds
	}
	return odds - math.Log(float64(max(s.idx.len(), 1)))
}

// Scorer names how evidence is weighed: "plda" (learnt space) or
// "distance".
func (s *Service) Scorer() string { return s.sc.kind() }

// identityFeature is the count-weighted mean feature of exemplars, and
// their descriptor count.
func (s *Service) identityFeature(ex []store.Exemplar, dst []float32) ([]float32, int) {
	n := 0
	for _, x := range ex {
		if len(x.Mean) == s.model.Dim && x.Count > 0 {
			n += x.Count
		}
	}
	if n == 0 {
		return dst, 0
	}
	// The features of a mean are the mean of the features, except for
	// unit-normalised ones: then average the features themselves.
	var tmp []float32
	if s.sc.unit {
		tmp = make([]float32, s.sc.dim)
	}
	m := make([]float32, s.model.Dim) // the distance scorer's features have the model's length
	for _, x := range ex {
		if len(x.Mean) != s.model.Dim || x.Count < 1 {
			continue
		}
		v := x.Mean
		if s.sc.unit {
			v = s.sc.feature(x.Mean, tmp)
		}
		w := float32(x.Count) / float32(n)
		for i, y := range v {
			m[i] += w * y
		}
	}
	if s.sc.unit {
		if cap(dst) < s.sc.dim {
			dst = make([]float32, s.sc.dim)
		}
		return append(dst[:0], m...), n
	}
	return s.sc.feature(m, dst), n
}

func (s *Service) loadStaff(tx *store.Tx) error {
	s.staff = s.staff[:0]
	return tx.ForEachStaff(func(m store.Staff) error {
		ex := make([]store.Exemplar, 0, len(m.Exemplars))
		for _, d := range m.Exemplars {
			ex = append(ex, store.Exemplar{Count: 1, Mean: d})
		}
		feat, n := s.identityFeature(ex, nil)
		if n > 0 {
			s.staff = append(s.staff, staffEntry{name: m.Name, feat: feat, n: n})
		}
		return nil
	})
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

// mean is the mean of descriptors.
func mean(ds [][]float32) []float32 {
	m := make([]float32, len(ds[0]))
	for _, d := range ds {
		for i, v := range d {
			m[i] += v
		}
	}
	inv := 1 / float32(len(ds))
	for i := range m {
		m[i] *= inv
	}
	return m
}

// Decided returns the decision recorded for a visit id, if any, as it was
// made (the visitor then, even if maintenance merged it since).
func (s *Service) Decided(visit string) (vocab.Decision, bool, error) {
	var (
		d  vocab.Decision
		ok bool
	)
	err := s.st.View(func(tx *store.Tx) error {
		rec, found, err := tx.Visit(visit)
		if err != nil || !found {
			return err
		}
		d, ok = decisionOf(rec), true
		return nil
	})
	return d, ok, err
}

func decisionOf(v store.Visit) vocab.Decision {
	return vocab.Decision{
		Visit: v.ID, Time: v.Time, Visitor: v.Visitor, Staff: v.Staff, New: v.New,
		Visits: v.Visits, Days: v.Days, Regular: v.Regular, BecameRegular: v.Became, Confidence: v.Confidence,
		// Only consent mode logs a visit with neither: an anonymous passage.
		Unknown: v.Visitor == "" && v.Staff == "",
	}
}

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
	q := s.q
	q.reset(s.sc.feature(m, s.feat), len(v.Descriptors))
	var (
		d       vocab.Decision
		changed *store.Identity
		removed []string
	)
	err := s.st.Update(func(tx *store.Tx) error {
		changed, removed = nil, nil
		if rec, ok, err := tx.Visit(v.ID); err != nil || ok {
			d = decisionOf(rec)
			return err
		}
		// People seen at the same time are other people.
		apart := map[string]bool{}
		notStaff := map[string]bool{}
		for _, other := range v.Together {
			rec, ok, err := tx.Visit(other)
			if err != nil {
				return err
			}
			if ok && rec.Identity != "" {
				id, err := tx.Resolve(rec.Identity)
				if err != nil {
					return err
				}
				apart[id] = true
			}
			if ok && rec.Staff != "" {
				notStaff[rec.Staff] = true
			}
		}
		top := s.idx.top(q, 2, func(id string) bool { return apart[id] })
		best := math.Inf(-1)
		if len(top) > 0 {
			best = top[0].llr
		}
		// Staff first: they walk in all day and must never count.
		if name, llr, ok := s.matchStaff(q, notStaff); ok && llr >= best {
			d = vocab.Decision{Visit: v.ID, Time: v.Start, Staff: name, Confidence: sigmoid(llr - s.params.StaffLLR)}
			return tx.PutVisit(store.Visit{ID: v.ID, Staff: name, Time: v.Start, Confidence: d.Confidence})
		}
		prior := s.prior()
		var rec store.Identity
		isNew := true
		if len(top) > 0 && top[0].llr+prior > 0 {
			var ok bool
			var err error
			rec, ok, err = tx.Identity(top[0].id)
			if err != nil {
				return err
			}
			isNew = !ok // the index and the store always agree; be safe
		}
		before := v.Start.AddDate(0, 0, -s.policy.Retention)
		if isNew && s.mode == store.Consent {
			// Nobody enrolled: no identity, nothing of the face.
			d = vocab.Decision{Visit: v.ID, Time: v.Start, Unknown: true, Confidence: confidence(top, prior, true)}
			if err := tx.PutVisit(store.Visit{ID: v.ID, Time: v.Start, Confidence: d.Confidence}); err != nil {
				return err
			}
			var err error
			removed, err = tx.Expire(before, 8)
			return err
		}
		if isNew {
			id, err := tx.NewID()
			if err != nil {
				return err
			}
			rec = store.Identity{ID: id, Created: v.Start}
		}
		d = s.attach(&rec, v, m, isNew)
		d.Confidence = confidence(top, prior, isNew)
		for id := range apart {
			rec.Apart = addApart(rec.Apart, id, tx.Limits().MaxApart)
		}
		if err := tx.PutIdentity(rec); err != nil {
			return err
		}
		changed = &rec
		for id := range apart {
			other, ok, err := tx.Identity(id)
			if err != nil {
				return err
			}
			if ok && !slices.Contains(other.Apart, rec.ID) {
				other.Apart = addApart(other.Apart, rec.ID, tx.Limits().MaxApart)
				if err := tx.PutIdentity(other); err != nil {
					return err
				}
			}
		}
		if err := tx.MarkDirty(rec.ID); err != nil {
			return err
		}
		// An ambiguous visit: let maintenance look at both.
		if len(top) == 2 && !isNew && top[0].llr-top[1].llr < s.params.Margin && top[1].llr+prior > 0 {
			if err := tx.MarkDirty(top[1].id); err != nil {
				return err
			}
		}
		if err := tx.PutVisit(store.Visit{ID: v.ID, Identity: rec.ID, Visitor: rec.ID, Time: v.Start, Days: d.Days, Visits: d.Visits,
			Regular: d.Regular, New: d.New, Became: d.BecameRegular, Confidence: d.Confidence}); err != nil {
			return err
		}
		// Retention, a few at a time, so that the store stays bounded
		// even when maintenance does not run: other identities unseen for
		// too long, and now and then this one's old log records.
		expired, err := tx.Expire(before, 8)
		if err != nil {
			return err
		}
		if rec.Visits%16 == 0 {
			if _, err := tx.PruneVisitsOf(rec.ID, before); err != nil {
				return err
			}
		}
		evicted, err := tx.MakeRoom(0, 0, rec.ID)
		if err != nil {
			return err
		}
		removed = append(expired, evicted...)
		return nil
	})
	if err != nil {
		return vocab.Decision{}, fmt.Errorf("visit %s: %w", v.ID, err)
	}
	if changed != nil {
		feat, n := s.featureOf(*changed, nil)
		s.idx.put(changed.ID, feat, n)
	}
	for _, id := range removed {
		s.idx.remove(id)
		delete(s.enrolled, id)
	}
	if len(removed) > 0 {
		s.log.Info("identities removed to stay within limits", "count", len(removed))
	}
	return d, nil
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

// attach adds visit v (whose descriptors have mean m) to rec and returns
// the decision.
func (s *Service) attach(rec *store.Identity, v vocab.Visit, m []float32, isNew bool) vocab.Decision {
	pol := s.policy
	today := pol.Day(v.Start)
	k := len(v.Descriptors)
	wasRegular := !isNew && daysIn(rec.Days, today, pol) >= pol.RegularDays
	// A passage within the merge window of the last one is the same visit
	// (someone stepping out and back in, or a track that broke).
	same := !isNew && rec.LastVisit != "" && !v.Start.Before(rec.LastSeen) && v.Start.Sub(rec.LastEnd) <= pol.MergeWindow
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
		rec.Exemplars = append(rec.Exemplars, store.Exemplar{Visit: v.ID, Time: v.Start, Day: today, Count: k, Mean: m})
		// The oldest exemplar goes first: faces change slowly, and recent
		// visits say most about the next one.
		if over := len(rec.Exemplars) - lim.MaxExemplars; over > 0 {
			rec.Exemplars = slices.Delete(rec.Exemplars, 0, over)
		}
	}
	if !same {
		rec.Visits++
		if !slices.Contains(rec.Days, today) {
			rec.Days = append(rec.Days, today)
			slices.Sort(rec.Days)
			rec.TotalDays++
		}
	}
	// An enrolled customer's first visit sets LastSeen, which enrolment
	// set to the enrolment's time (for retention).
	if v.Start.After(rec.LastSeen) || rec.LastSeen.IsZero() || rec.LastVisit == "" {
		rec.LastSeen = v.Start
	}
	if v.End.After(rec.LastEnd) {
		rec.LastEnd = v.End
	}
	rec.LastVisit = v.ID
	latest := pol.Day(rec.LastSeen)
	rec.Days = slices.DeleteFunc(rec.Days, func(d int32) bool { return !pol.InWindow(d, latest) })
	n := daysIn(rec.Days, today, pol)
	rec.Regular = n >= pol.RegularDays
	became := rec.Regular && !wasRegular
	if became {
		rec.RegularSince = v.Start
	}
	rec.EverRegular = rec.EverRegular || rec.Regular
	return vocab.Decision{
		Visit: v.ID, Time: v.Start, Visitor: rec.ID, New: isNew,
		Visits: rec.Visits, Days: n, Regular: rec.Regular, BecameRegular: became,
	}
}

// daysIn counts the days within the window as of today.
func daysIn(days []int32, today int32, pol Policy) int {
	n := 0
	for _, d := range days {
		if pol.InWindow(d, today) {
			n++
		}
	}
	return n
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
