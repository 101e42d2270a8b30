package publish

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"joren/sync/event"
	"joren/sync/outbox"
)

// The visit counts of the stats message count decisions, not publishes:
// each event id (one per decided visit: event ids are derived from visit
// ids) is counted once, in the outbox transaction that stores its event,
// so a re-published decision (a resumed replay, a retry, a replay run
// twice into one outbox) is stored and delivered again but never counted
// again, and a crash counts an event exactly when it stored it.
//
// The ids counted are kept per local day, for the latest openDays days
// that had visits; older days are closed: their ids are dropped (keeping
// the file small) and an event of a closed day is not counted (it was
// counted when it was new, or is a late straggler). Days are closed by
// their number, not by the calendar, so a clock that jumped ahead for a
// day closes one day, not two months.
//
// In the outbox's state:
//
//	publish/tally                 {"total": counts, "open": first open day}
//	publish/day/DAY               that local day's counts
//	publish/seen/DAY/EVENT-ID     counted
//	publish/counters              schema 1's counters (migrated on first use)
const (
	keyTally    = "publish/tally"
	prefixDay   = "publish/day/"
	prefixSeen  = "publish/seen/"
	keyCounters = "publish/counters"
)

// openDays is how many of the latest local days with visits keep their
// counted ids: a decision may come back for any of them (a replay resumed
// weeks later, a clock set back by a month) and is still counted once.
const openDays = 62

// tally is the counts, as stored, of the open days and in total.
type tally struct {
	Total event.Counts `json:"total"`
	// Open is the first local day still counted ("" while none was
	// closed).
	Open string `json:"open,omitempty"`

	days   map[string]event.Counts // the open days'
	legacy string                  // the day of schema 1's counters, to write out and forget
}

// Counters are the visit counts the outbox holds, as `joren events
// status` shows them.
type Counters struct {
	// Day is the latest local day with a counted visit, and Today its
	// counts.
	Day   string       `json:"day"`
	Today event.Counts `json:"today"`
	// Total counts every decided visit published through this outbox,
	// each once.
	Total event.Counts `json:"total"`
}

// ReadCounters returns the counts stored in box (zero if none).
func ReadCounters(box *outbox.Outbox) (Counters, error) {
	var t tally
	err := box.ViewState(func(s *outbox.State) (err error) {
		t, err = readTally(s)
		return err
	})
	if err != nil {
		return Counters{}, fmt.Errorf("outbox %s: %w", box.Path(), err)
	}
	c := Counters{Total: t.Total}
	if n := len(t.days); n > 0 {
		c.Day = slices.Sorted(maps.Keys(t.days))[n-1]
		c.Today = t.days[c.Day]
	}
	return c, nil
}

// readTally reads the counts from the outbox's state.
func readTally(s *outbox.State) (tally, error) {
	t := tally{days: map[string]event.Counts{}}
	raw := s.Get(keyTally)
	if raw == nil {
		// Schema 1 kept one day's counts and a total, counted at every
		// publish. They are taken as they are (a box that only ran
		// `joren run` never published twice), and the day they were
		// kept for stays open; earlier days are closed.
		if old := s.Get(keyCounters); old != nil {
			var c Counters
			if err := json.Unmarshal(old, &c); err != nil {
				return tally{}, fmt.Errorf("damaged visit counters: %w", err)
			}
			t.Total, t.Open, t.legacy = c.Total, c.Day, c.Day
			if c.Day != "" {
				t.days[c.Day] = c.Today
			}
		}
		return t, nil
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return tally{}, fmt.Errorf("damaged visit counts: %w", err)
	}
	var err error
	s.Scan(prefixDay, func(k string, v []byte) bool {
		var c event.Counts
		if err = json.Unmarshal(v, &c); err != nil {
			err = fmt.Errorf("damaged visit counts of %s: %w", k[len(prefixDay):], err)
			return false
		}
		t.days[k[len(prefixDay):]] = c
		return true
	})
	return t, err
}

// count counts v in s unless its id was counted already or its day is
// closed. It returns the tally with v counted (t itself is not changed,
// so that a transaction that fails leaves it as it was) and whether v was
// counted.
func (t tally) count(s *outbox.State, v event.Visit) (tally, bool, error) {
	day := v.Day
	seen := prefixSeen + day + "/" + v.ID
	if day < t.Open || s.Get(seen) != nil {
		return t, false, nil
	}
	t.days = maps.Clone(t.days)
	if t.legacy != "" {
		if err := s.Delete(keyCounters); err != nil {
			return t, false, err
		}
		if err := putJSON(s, prefixDay+t.legacy, t.days[t.legacy]); err != nil {
			return t, false, err
		}
		t.legacy = ""
	}
	c := t.days[day]
	c.Add(v)
	t.days[day] = c
	t.Total.Add(v)
	if err := s.Put(seen, []byte{1}); err != nil {
		return t, false, err
	}
	if err := putJSON(s, prefixDay+day, c); err != nil {
		return t, false, err
	}
	for len(t.days) > openDays {
		days := slices.Sorted(maps.Keys(t.days))
		oldest := days[0]
		if _, err := s.DeletePrefix(prefixSeen + oldest + "/"); err != nil {
			return t, false, err
		}
		if err := s.Delete(prefixDay + oldest); err != nil {
			return t, false, err
		}
		delete(t.days, oldest)
		t.Open = days[1]
	}
	return t, true, putJSON(s, keyTally, t)
}

// today returns the counts of local day day.
func (t tally) today(day string) event.Counts { return t.days[day] }

func putJSON(s *outbox.State, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Put(key, b)
}
