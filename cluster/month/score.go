package month

import (
	"fmt"

	"joren/cluster"
	"joren/cluster/identity"
)

// Score is how good the decisions on a month (or a door video) were.
type Score struct {
	Visits, People int
	// Decided is how many visits got a decision; Right how many got the
	// regular flag the policy expected.
	Decided, Right int
	// Regulars is how many people became regulars during the month;
	// Identities how many visitor ids the store gave out.
	Regulars, Identities int
	// FirstRegular gives, for each person the policy expects to become
	// a regular, the distinct day they were first decided a regular on (0:
	// never).
	FirstRegular map[string]int
	// The "regular" flag against the truth, over visits.
	RegularP, RegularR, RegularF1 float64
	// Identity compares visitor ids with people, over visits (BCubed).
	Identity cluster.Score
	// HarmonicMean of RegularF1 and Identity.BCubedF1: the one number.
	HarmonicMean float64
}

func (s Score) String() string {
	return fmt.Sprintf("harmonic mean %.3f: regular F1 %.3f (P %.3f, R %.3f), identity BCubed F1 %.3f (P %.3f, R %.3f); %d visits of %d people (%d regulars), %d visitor ids",
		s.HarmonicMean, s.RegularF1, s.RegularP, s.RegularR, s.Identity.BCubedF1, s.Identity.BCubedP, s.Identity.BCubedR,
		s.Visits, s.People, s.Regulars, s.Identities)
}

// Evaluate scores outcomes against the truth of visits (Label, then
// Measure).
func Evaluate(visits []Visit, outcomes []Outcome, policy identity.Policy) (Score, error) {
	labelled, err := Label(visits, outcomes, policy)
	if err != nil {
		return Score{}, err
	}
	return Measure(labelled)
}

// Label returns the outcome of each visit, in the visits' order, with its
// truth set from the visit's Person: the truth of the regular flag at a
// visit is that the person has now come on at least policy.RegularDays
// distinct days within the window. Every visit needs an outcome.
func Label(visits []Visit, outcomes []Outcome, policy identity.Policy) ([]Outcome, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if len(visits) == 0 {
		return nil, fmt.Errorf("score: no visits")
	}
	byVisit := make(map[string]Outcome, len(outcomes))
	for _, o := range outcomes {
		byVisit[o.Visit] = o
	}
	days := map[string][]int32{}
	out := make([]Outcome, len(visits))
	for i, v := range visits {
		if v.Person == "" {
			return nil, fmt.Errorf("score: visit %s has no \"person\": only labelled months can be scored", v.ID)
		}
		o, ok := byVisit[v.ID]
		if !ok {
			return nil, fmt.Errorf("score: no decision for visit %s", v.ID)
		}
		today := policy.Day(v.Time)
		ds := days[v.Person]
		if len(ds) == 0 || ds[len(ds)-1] != today {
			ds = append(ds, today)
		}
		days[v.Person] = ds
		n := 0
		for _, d := range ds {
			if policy.InWindow(d, today) {
				n++
			}
		}
		o.Person, o.Day, o.WantRegular = v.Person, n, n >= policy.RegularDays
		out[i] = o
	}
	return out, nil
}

// Measure scores outcomes whose truth is set. A missed visit counts as
// not regular and as a visitor id of its own.
func Measure(outcomes []Outcome) (Score, error) {
	if len(outcomes) == 0 {
		return Score{}, fmt.Errorf("score: no visits")
	}
	var (
		people     = map[string]bool{}
		firstLit   = map[string]int{}
		ids        = map[string]int{}
		labels     = make(cluster.Labels, len(outcomes))
		truth      = make([]string, len(outcomes))
		tp, fp, fn float64
		s          = Score{Visits: len(outcomes), FirstRegular: map[string]int{}}
	)
	for i, o := range outcomes {
		if o.Person == "" {
			return Score{}, fmt.Errorf("score: the outcome of visit %d (%s) has no truth", i, o.Visit)
		}
		people[o.Person] = true
		if o.WantRegular {
			s.FirstRegular[o.Person] = 0
		}
		if !o.Missed {
			s.Decided++
		}
		if o.Right() {
			s.Right++
		}
		regular := o.Regular && !o.Missed
		if regular && firstLit[o.Person] == 0 {
			firstLit[o.Person] = o.Day
		}
		switch {
		case o.WantRegular && regular:
			tp++
		case regular:
			fp++
		case o.WantRegular:
			fn++
		}
		key := o.Visitor
		switch {
		case o.Missed:
			key = fmt.Sprint("missed:", i)
		case key == "":
			key = "staff:" + o.Staff
		}
		if _, ok := ids[key]; !ok {
			ids[key] = len(ids)
		}
		labels[i], truth[i] = ids[key], o.Person
	}
	id, err := cluster.Evaluate(labels, truth)
	if err != nil {
		return Score{}, err
	}
	for p := range s.FirstRegular {
		s.FirstRegular[p] = firstLit[p]
	}
	s.People, s.Regulars, s.Identities = len(people), len(s.FirstRegular), len(ids)-(s.Visits-s.Decided)
	s.RegularP, s.RegularR, s.Identity = ratio(tp, tp+fp), ratio(tp, tp+fn), id
	s.RegularF1 = f1(s.RegularP, s.RegularR)
	s.HarmonicMean = f1(s.RegularF1, id.BCubedF1)
	return s, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 1 // nothing claimed, nothing wrong
	}
	return a / b
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
