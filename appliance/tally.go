package appliance

import (
	"slices"

	"joren/cluster/month"
	"joren/vision/doorsim/truth"
	"joren/vocab"
)

// Match scores the decisions made on a synthesised door video (the demo,
// the end-to-end test) against its truth: one outcome per passage, with
// the decision of the visit that started while the person was in the
// picture (truth.During), or Missed if there was none (the face was never
// good enough). A passage's Day is the person's distinct day in the video,
// and the policy expects a regular from distinct day regularDays on (the
// video is shorter than the policy's window). Passages made together with
// another person are left out: their decisions cannot be told apart by
// time alone. month.Measure scores the outcomes.
func Match(t truth.Truth, decisions []vocab.Decision, regularDays int) []month.Outcome {
	var out []month.Outcome
	days := map[string][]int{}
	for _, p := range t.Passages {
		if !slices.Contains(days[p.Person], p.Day) {
			days[p.Person] = append(days[p.Person], p.Day)
		}
	}
	used := map[string]bool{}
	for _, p := range t.Passages {
		if len(p.With) > 0 {
			continue
		}
		o := month.Outcome{Time: t.TimeOf(p.Enter), Missed: true}
		for _, d := range decisions {
			if !used[d.Visit] && t.During(p, d.Time) {
				o = month.OutcomeOf(d)
				used[d.Visit] = true
				break
			}
		}
		o.Person = p.Person
		o.Day = slices.Index(days[p.Person], p.Day) + 1
		o.WantRegular = o.Day >= regularDays
		out = append(out, o)
	}
	return out
}
