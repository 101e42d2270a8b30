package identity

import (
	"cmp"
	"context"
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
	p.ReturnLogOdds = cmp.Or(p.ReturnLogOdds, d.ReturnLogOdds)
	p.StaffLLR = cmp.Or(p.StaffLLR, d.StaffLLR)
	p.Margin = cmp.Or(p.Margin, d.Margin)
	p.Candidates = cmp.Or(p.Candidates, d.Candidates)
	p.MergeLogOdds = cmp.Or(p.MergeLogOdds, d.MergeLogOdds)
	p.SplitLogOdds = cmp.Or(p.SplitLogOdds, d.SplitLogOdds)
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
	// Clock bounds what the service believes of the times it is given
	// (ClockState).
	Clock ClockOptions
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
	// clock guards retention and the counting of days against a clock
	// that jumped; under mu.
	clock *clockGuard
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
	var lastSeen time.Time // the newest visit, for a store without Meta.Clock
	err = st.View(func(tx *store.Tx) error {
		if err := tx.ForEachCustomer(func(c store.Customer) error {
			s.enrolled[c.Identity] = enrolExemplars(c.Exemplars)
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
			if rec.LastSeen.After(lastSeen) {
				lastSeen = rec.LastSeen
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
	s.clock = newClockGuard(o.Clock, time.Duration(pol.Retention)*24*time.Hour, lastTrusted(meta, lastSeen, pol))
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

// enrolExemplars are the faces given at an enrolment (a customer's or a
// staff member's) as exemplars: one descriptor each, none from a visit.
func enrolExemplars(descs [][]float32) []store.Exemplar {
	ex := make([]store.Exemplar, 0, len(descs))
	for _, d := range descs {
		ex = append(ex, store.Exemplar{Count: 1, Mean: d})
	}
	return ex
}

// addFaces adds enrolled faces (descriptors) and the names of their
// sources to a staff member's or a customer's, keeping the newest max:
// faces change slowly, and the latest enrolment says most.
func addFaces(sources []string, faces [][]float32, newSources []string, newFaces [][]float32, max int) ([]string, [][]float32) {
	sources, faces = append(sources, newSources...), append(faces, newFaces...)
	if over := len(faces) - max; over > 0 {
		sources, faces = slices.Delete(sources, 0, over), slices.Delete(faces, 0, over)
	}
	return sources, faces
}

// unload drops an identity deleted from the store from memory: its index
// entry and an enrolled customer's faces. Under s.mu.
func (s *Service) unload(id string) {
	s.idx.remove(id)
	delete(s.enrolled, id)
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
		feat, n := s.identityFeature(enrolExemplars(m.Exemplars), nil)
		if n > 0 {
			s.staff = append(s.staff, staffEntry{name: m.Name, feat: feat, n: n})
		}
		return nil
	})
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
