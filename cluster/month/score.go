package month

import (
	"fmt"

	"joren/cluster"
	"joren/cluster/identity"
)

// Outcome is one line of `joren replay`'s output: what the store decided
// about one visit.
type Outcome struct {
	Visit   string `json:"visit"`
	Visitor string `json:"visitor"`
	// Staff is set (and Visitor empty) when the visit matched staff.
	Staff string `json:"staff,omitempty"`
	// Visits is the distinct days so far, this one included.
	Visits  int  `json:"visits"`
	Regular bool `json:"regular"`
}

// Score is how good the decisions on a month were.
type Score struct {
	Visits, People int
	// Regulars is how many people became regulars during the month;
	// Identities how many visitor ids the store gave out.
	Regulars, Identities int
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

// Evaluate scores outcomes against the truth of visits (their Person). The
// truth of the regular flag at a visit: the person has now come on at least
// policy.RegularDays distinct days within the window. Every visit needs an
// outcome.
func Evaluate(visits []Visit, outcomes []Outcome, policy identity.Policy) (Score, error) {
	if err := policy.Validate(); err != nil {
		return Score{}, err
	}
	if len(visits) == 0 {
		return Score{}, fmt.Errorf("score: no visits")
	}
	byVisit := make(map[string]Outcome, len(outcomes))
	for _, o := range outcomes {
		byVisit[o.Visit] = o
	}
	var (
		days       = map[string][]int32{}
		ids        = map[string]int{}
		labels     = make(cluster.Labels, len(visits))
		truth      = make([]string, len(visits))
		tp, fp, fn float64
		regulars   = map[string]bool{}
	)
	for i, v := range visits {
		if v.Person == "" {
			return Score{}, fmt.Errorf("score: visit %s has no \"person\": only labelled months can be scored", v.ID)
		}
		o, ok := byVisit[v.ID]
		if !ok {
			return Score{}, fmt.Errorf("score: no decision for visit %s", v.ID)
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
		want := n >= policy.RegularDays
		if want {
			regulars[v.Person] = true
		}
		switch {
		case want && o.Regular:
			tp++
		case o.Regular:
			fp++
		case want:
			fn++
		}
		key := o.Visitor
		if key == "" {
			key = "staff:" + o.Staff
		}
		if _, ok := ids[key]; !ok {
			ids[key] = len(ids)
		}
		labels[i], truth[i] = ids[key], v.Person
	}
	id, err := cluster.Evaluate(labels, truth)
	if err != nil {
		return Score{}, err
	}
	s := Score{
		Visits: len(visits), People: len(days), Regulars: len(regulars), Identities: len(ids),
		RegularP: ratio(tp, tp+fp), RegularR: ratio(tp, tp+fn),
		Identity: id,
	}
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
