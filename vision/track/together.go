package track

import (
	"slices"
	"time"
)

// The visits reported recently (Tracker.done) are kept for the Together
// of the tracks still open: two people passing together are named in each
// other's visits whichever is reported first.

// together lists the tracks whose faces were seen while tr's was: live and
// ended tracks with enough faces to be visits, visits reported recently,
// and the other tracks reported now.
func (t *Tracker) together(tr *track, now []*track) []string {
	var ids []string
	overlaps := func(start, end time.Time) bool { return !start.After(tr.seen) && !end.Before(tr.start) }
	for _, o := range slices.Concat(t.live, t.ended, now) {
		if o != tr && o.faces >= t.cfg.MinFaces && overlaps(o.start, o.seen) && !slices.Contains(ids, o.id) {
			ids = append(ids, o.id)
		}
	}
	for _, s := range t.done {
		if s.id != tr.id && overlaps(s.start, s.end) && !slices.Contains(ids, s.id) {
			ids = append(ids, s.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// prune forgets reported visits no open track overlaps: tracks yet to
// start start later than they ended. (Not by a horizon of time: a track
// stays open across a stall however long the frames' times jumped.)
func (t *Tracker) prune() {
	var first time.Time // the earliest start of an open track
	open := false
	for _, tracks := range [2][]*track{t.live, t.ended} {
		for _, tr := range tracks {
			if !open || tr.start.Before(first) {
				first, open = tr.start, true
			}
		}
	}
	keep := t.done[:0]
	for _, s := range t.done {
		if open && !first.After(s.end) {
			keep = append(keep, s)
		}
	}
	t.done = keep
}
