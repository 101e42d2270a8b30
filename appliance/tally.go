package appliance

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"joren/vision/doorsim"
	"joren/vocab"
)

// Outcome pairs a passage of a synthesised video with the decision made
// about it, and says what the regular policy expected: the demo prints
// these and the end-to-end test checks them.
type Outcome struct {
	Passage doorsim.Passage
	// Decision is the decision whose visit started during the passage;
	// Found is false if there was none (the face was never good enough).
	Decision vocab.Decision
	Found    bool
	// Day is the passage's distinct day for its person: 1 on their first
	// day, 2 on their second...
	Day int
	// WantRegular is what the policy expects after this passage: at
	// least regularDays distinct days so far.
	WantRegular bool
}

// Right tells whether the decision's regular flag is what the policy
// expected.
func (o Outcome) Right() bool { return o.Found && o.Decision.Regular == o.WantRegular }

// Match pairs each passage of truth with the decision of the visit that
// started while the person was in the picture (a second around it). Passages
// made together with another person are left out: their decisions cannot
// be told apart by time alone.
func Match(truth doorsim.Truth, decisions []vocab.Decision, regularDays int) []Outcome {
	var out []Outcome
	days := map[string][]int{}
	for _, p := range truth.Passages {
		if !slices.Contains(days[p.Person], p.Day) {
			days[p.Person] = append(days[p.Person], p.Day)
		}
	}
	used := map[string]bool{}
	for _, p := range truth.Passages {
		if len(p.With) > 0 {
			continue
		}
		o := Outcome{Passage: p}
		o.Day = slices.Index(days[p.Person], p.Day) + 1
		o.WantRegular = o.Day >= regularDays
		from, to := truth.TimeOf(p.Enter).Add(-time.Second), truth.TimeOf(p.Leave).Add(time.Second)
		for _, d := range decisions {
			if !used[d.Visit] && !d.Time.Before(from) && !d.Time.After(to) {
				o.Decision, o.Found = d, true
				used[d.Visit] = true
				break
			}
		}
		out = append(out, o)
	}
	return out
}

// Score summarises outcomes.
type Score struct {
	Passages, Decided, Right int
	// Regulars lists the people who should have become regulars and
	// FirstLit the distinct day each was first shown as a regular (0:
	// never).
	Regulars []string
	FirstLit map[string]int
}

// Summarise scores outcomes.
func Summarise(outcomes []Outcome, regularDays int) Score {
	s := Score{FirstLit: map[string]int{}}
	seen := map[string]bool{}
	for _, o := range outcomes {
		s.Passages++
		if o.Found {
			s.Decided++
		}
		if o.Right() {
			s.Right++
		}
		if o.WantRegular && !seen[o.Passage.Person] {
			seen[o.Passage.Person] = true
			s.Regulars = append(s.Regulars, o.Passage.Person)
		}
		if o.Found && o.Decision.Regular && s.FirstLit[o.Passage.Person] == 0 {
			s.FirstLit[o.Passage.Person] = o.Day
		}
	}
	sort.Strings(s.Regulars)
	return s
}

func (s Score) String() string {
	return fmt.Sprintf("%d passages: %d decided, %d with the right regular status", s.Passages, s.Decided, s.Right)
}
