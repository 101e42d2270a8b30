package store

import "time"

// Expire deletes up to limit identities (all if limit <= 0) last seen
// before t (retention), with all their data, and returns their ids.
func (tx *Tx) Expire(before time.Time, limit int) ([]string, error) {
	var dead []string
	// The index is in day order (and, in a plain store, in time order
	// within a day): past before's day, nobody is left to expire.
	last := dayOf(before)
	if err := tx.eachSeen(func(id string, seen time.Time, _ byte) (bool, error) {
		if dayOf(seen) > last {
			return false, nil
		}
		if seen.Before(before) {
			dead = append(dead, id)
		}
		return limit <= 0 || len(dead) < limit, nil
	}); err != nil {
		return nil, err
	}
	for _, id := range dead {
		if _, err := tx.DeleteIdentity(id); err != nil {
			return nil, err
		}
	}
	return dead, nil
}

// MakeRoom evicts identities until extra more identities and extraBytes
// more bytes fit within the limits, and returns the evicted ids. Identities
// that were never regulars go first, least recently seen first: a one-off
// passer-by is cheap to forget, a regular is what the shop wants
// recognised. Only when no such identity is left are regulars evicted,
// least recently seen first. keep is never evicted (the identity being
// updated), nor are enrolled customers: they consented to be recognised,
// and are bounded by their own cap.
func (tx *Tx) MakeRoom(extra int, extraBytes int64, keep string) ([]string, error) {
	lim := tx.s.limits
	full := func() bool {
		return tx.Count()+extra > lim.MaxIdentities || tx.Bytes()+extraBytes > lim.MaxBytes
	}
	var evicted []string
	for _, regulars := range []bool{false, true} {
		for full() {
			// Collect a batch, then delete: a cursor must not see its
			// bucket change under it.
			var batch []string
			if err := tx.eachSeen(func(id string, _ time.Time, flags byte) (bool, error) {
				ever := flags&seenEverRegular != 0
				if id != keep && ever == regulars && flags&seenEnrolled == 0 {
					batch = append(batch, id)
				}
				return len(batch) < 64, nil
			}); err != nil {
				return evicted, err
			}
			if len(batch) == 0 {
				break
			}
			for _, id := range batch {
				if !full() {
					break
				}
				if _, err := tx.deleteIdentity(id, false); err != nil {
					return evicted, err
				}
				evicted = append(evicted, id)
			}
		}
	}
	return evicted, nil
}
