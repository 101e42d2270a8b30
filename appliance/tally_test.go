package appliance

import (
	"testing"
	"time"

	"joren/cluster/month"
	"joren/vision/doorsim/truth"
	"joren/vision/frame"
	"joren/vocab"
)

// TestMatch scores decisions against a door video's truth: each passage
// made alone gets the decision of the visit that began while the person
// was in the picture, each decision is used once, a passage without one
// is missed, and the policy expects a regular from the person's third
// distinct day.
func TestMatch(t *testing.T) {
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	// Ten frames a second; day d starts at frame 100*d.
	tr := truth.Truth{FPS: 10, Frames: 400}
	for d := range 4 {
		tr.Timeline = append(tr.Timeline, frame.Mark{Frame: 100 * d, Time: day.AddDate(0, 0, d)})
	}
	pass := func(person string, d, enter int, with ...int) truth.Passage {
		return truth.Passage{Person: person, Day: d, Enter: 100*d + enter, Leave: 100*d + enter + 20, With: with}
	}
	tr.Passages = []truth.Passage{
		pass("ana", 0, 10), pass("bo", 0, 40),
		pass("ana", 1, 10), pass("ana", 1, 50), // twice on day 2: still her second day
		pass("ana", 2, 10), pass("cy", 2, 40, 6), pass("dee", 2, 40, 5), // cy and dee together
		pass("ana", 3, 10), pass("bo", 3, 40),
	}
	at := func(d int, s float64) time.Time {
		return day.AddDate(0, 0, d).Add(time.Duration(s * float64(time.Second)))
	}
	decided := []vocab.Decision{
		{Visit: "v1", Visitor: "A", Time: at(0, 1.2), New: true, Days: 1},
		{Visit: "v2", Visitor: "B", Time: at(0, 4.5), New: true, Days: 1},
		{Visit: "v3", Visitor: "A", Time: at(1, 0.5), Days: 2}, // a second before she is in view
		// ana's second passage of day 2: no face good enough.
		{Visit: "v5", Visitor: "A", Time: at(2, 1.5), Days: 3, Regular: true, BecameRegular: true},
		{Visit: "v6", Visitor: "C", Time: at(2, 4.1), New: true, Days: 1},
		{Visit: "v7", Visitor: "D", Time: at(2, 4.3), New: true, Days: 1},
		{Visit: "v8", Visitor: "A", Time: at(3, 1), Days: 4, Regular: true},
		{Visit: "v9", Visitor: "B", Time: at(3, 4.4), Days: 2, Regular: true}, // wrongly a regular
	}
	got := Match(tr, decided, 3)
	want := []month.Outcome{
		{Visit: "v1", Person: "ana", Day: 1},
		{Visit: "v2", Person: "bo", Day: 1},
		{Visit: "v3", Person: "ana", Day: 2},
		{Missed: true, Person: "ana", Day: 2},
		{Visit: "v5", Person: "ana", Day: 3, WantRegular: true},
		{Visit: "v8", Person: "ana", Day: 4, WantRegular: true},
		{Visit: "v9", Person: "bo", Day: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("%d outcomes, want %d (the passages made alone): %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Visit != w.Visit || g.Missed != w.Missed || g.Person != w.Person || g.Day != w.Day || g.WantRegular != w.WantRegular {
			t.Errorf("outcome %d: %+v, want %+v", i, g, w)
		}
	}
	if o := got[3]; !o.Time.Equal(tr.TimeOf(150)) || o.Right() {
		t.Errorf("the missed passage: %+v, want it timed at its entry and not right", o)
	}
	if o := got[4]; !o.BecameRegular || !o.Right() || o.Visitor != "A" {
		t.Errorf("ana's third day: %+v", o)
	}

	s, err := month.Measure(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.Visits != 7 || s.Decided != 6 || s.Right != 5 || s.People != 2 || s.Regulars != 1 || s.FirstRegular["ana"] != 3 || s.Identities != 2 {
		t.Errorf("%+v", s)
	}
}
