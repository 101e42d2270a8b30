package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"joren/office"
)

// Write stores a batch in one transaction (office.Store).
func (s *Store) Write(ctx context.Context, b *office.Batch) (office.WriteResult, error) {
	var res office.WriteResult
	if b.Empty() {
		return res, nil
	}
	now := s.opt.Now()
	err := s.tx(ctx, "storing a batch", func(tx *sql.Tx) error {
		w := &writer{s: s, tx: tx, ctx: ctx, now: now}
		var err error
		res, err = w.write(b)
		return err
	})
	if isDataError(err) {
		err = office.DataError{Err: err}
	}
	return res, err
}

// isDataError tells a value the database refused from a database away.
func isDataError(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 22: data exception; 23: integrity constraint violation.
		return strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return true
		}
	}
	return false
}

// writer is one Write's transaction.
type writer struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
	now time.Time
}

type boxKey struct{ site, device string }

type dayKey struct{ site, device, day string }

func (w *writer) exec(query string, args ...any) error {
	_, err := w.tx.ExecContext(w.ctx, w.s.d.q(query), args...)
	return err
}

func (w *writer) write(b *office.Batch) (office.WriteResult, error) {
	var res office.WriteResult
	// The caller's batch is not changed: a retried transaction starts
	// from it again.
	visits := slices.Clone(b.Visits)
	slices.SortStableFunc(visits, func(a, b office.Visit) int { return strings.Compare(a.ID, b.ID) })
	visits = slices.CompactFunc(visits, func(a, b office.Visit) bool { return a.ID == b.ID })
	res.Duplicates = len(b.Visits) - len(visits)
	quarantine := slices.Clone(b.Quarantine)

	if len(visits) > 0 {
		sites := []string{office.DefaultZone}
		for _, v := range visits {
			sites = append(sites, v.Site)
		}
		slices.Sort(sites)
		sites = slices.Compact(sites)
		if err := w.s.d.lockSites(w.ctx, w.tx, sites, false); err != nil {
			return res, err
		}
		zones, err := w.s.zonesOf(w.ctx, w.tx, sites)
		if err != nil {
			return res, err
		}
		cutoff := office.Cutoff(w.now, w.s.opt.Retention.Events)
		kept := visits[:0]
		for _, v := range visits {
			name := zoneFor(zones, v.Site)
			loc, err := w.s.location(name)
			if err != nil {
				return res, err
			}
			v.Place(name, loc)
			if cutoff != "" && v.Day < cutoff {
				quarantine = append(quarantine, tooOld(v, cutoff, w.now))
				res.TooOld++
				continue
			}
			kept = append(kept, v)
		}
		visits = kept
	}

	inserted, err := w.insertVisits(visits)
	if err != nil {
		return res, err
	}
	res.Stored = len(inserted)
	res.Duplicates += len(visits) - len(inserted)
	rows := map[dayKey]*office.DayRow{}
	for _, v := range inserted {
		k := dayKey{v.Site, v.Device, v.Day}
		if rows[k] == nil {
			rows[k] = &office.DayRow{Site: v.Site, Device: v.Device, Day: v.Day}
		}
		rows[k].Add(v)
	}
	if err := w.addRollups(rows); err != nil {
		return res, err
	}
	if err := w.touchDevices(b, visits); err != nil {
		return res, err
	}
	if err := w.status(b.Status); err != nil {
		return res, err
	}
	if err := w.stats(b.Stats); err != nil {
		return res, err
	}
	return res, w.quarantine(quarantine)
}

// tooOld is the quarantine entry of a visit past the event retention.
func tooOld(v office.Visit, cutoff string, now time.Time) office.Quarantined {
	return office.Quarantined{
		Hash:      "too-old/" + v.ID,
		Topic:     "joren/" + v.Site + "/" + v.Device + "/visit",
		Payload:   []byte(fmt.Sprintf(`{"id":%q,"site":%q,"device":%q,"time":%q,"day":%q}`, v.ID, v.Site, v.Device, v.Time.UTC().Format(time.RFC3339), v.Day)),
		Reason:    fmt.Sprintf("visit of %s is older than the event retention (first day kept: %s): not counted", v.Day, cutoff),
		FirstSeen: now, LastSeen: now, Times: 1,
	}
}

// chunk calls fn with successive parts of n items, at most size each.
func chunk(n, size int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += size {
		if err := fn(lo, min(lo+size, n)); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "(?, ?, ...), (...)" for rows rows of cols values.
func placeholders(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// insertVisits inserts visits (sorted by id) that are not stored yet and
// returns those it inserted.
func (w *writer) insertVisits(visits []office.Visit) ([]office.Visit, error) {
	byID := make(map[string]office.Visit, len(visits))
	var inserted []office.Visit
	err := chunk(len(visits), 400, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*19)
		for _, v := range visits[lo:hi] {
			byID[v.ID] = v
			args = append(args, visitArgs(v, w.now.UnixMilli())...)
		}
		rows, err := w.tx.QueryContext(w.ctx, w.s.d.q("INSERT INTO visits ("+visitCols+") VALUES "+placeholders(hi-lo, 19)+
			" ON CONFLICT (id) DO NOTHING RETURNING id"), args...)
		if err != nil {
			return fmt.Errorf("inserting visits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			inserted = append(inserted, byID[id])
		}
		return rows.Err()
	})
	return inserted, err
}

// addDaily adds rows to the rollups (negative counts subtract), in key
// order.
func (w *writer) addDaily(rows map[dayKey]*office.DayRow) error {
	keys := slices.SortedFunc(maps.Keys(rows), func(a, b dayKey) int {
		return cmp.Or(strings.Compare(a.site, b.site), strings.Compare(a.device, b.device), strings.Compare(a.day, b.day))
	})
	return chunk(len(keys), 200, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*32)
		for _, k := range keys[lo:hi] {
			r := rows[k]
			args = append(args, r.Site, r.Device, r.Day, r.Visits, r.NewVisitors, r.Returning, r.RegularVisits, r.BecameRegular)
			for _, h := range r.Hours {
				args = append(args, h)
			}
		}
		err := w.exec("INSERT INTO daily (site, device, day, "+countCols+", "+hourCols+") VALUES "+placeholders(hi-lo, 32)+`
ON CONFLICT (day, site, device) DO UPDATE SET `+countIncs("daily")+",\n\t"+hourIncs, args...)
		if err != nil {
			return fmt.Errorf("updating the daily rollups: %w", err)
		}
		return nil
	})
}

type monthKey struct{ month, site, device string }

// addRollups adds rows to the daily rollups and the same counts to the
// monthly and chain-wide ones (negative counts subtract), in key order.
func (w *writer) addRollups(rows map[dayKey]*office.DayRow) error {
	if err := w.addDaily(rows); err != nil {
		return err
	}
	months := map[monthKey]office.Counts{}
	chain := map[string]office.DayRow{}
	for k, r := range rows {
		mk := monthKey{k.day[:7], k.site, k.device}
		months[mk] = months[mk].Plus(r.Counts)
		c := chain[k.day]
		c.Day, c.Counts, c.Hours = k.day, c.Counts.Plus(r.Counts), c.Hours.Plus(r.Hours)
		chain[k.day] = c
	}
	mkeys := slices.SortedFunc(maps.Keys(months), func(a, b monthKey) int {
		return cmp.Or(strings.Compare(a.month, b.month), strings.Compare(a.site, b.site), strings.Compare(a.device, b.device))
	})
	err := chunk(len(mkeys), 400, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*8)
		for _, k := range mkeys[lo:hi] {
			c := months[k]
			args = append(args, k.site, k.device, k.month, c.Visits, c.NewVisitors, c.Returning, c.RegularVisits, c.BecameRegular)
		}
		return w.exec("INSERT INTO monthly (site, device, month, "+countCols+") VALUES "+placeholders(hi-lo, 8)+`
ON CONFLICT (month, site, device) DO UPDATE SET `+countIncs("monthly"), args...)
	})
	if err != nil {
		return fmt.Errorf("updating the monthly rollups: %w", err)
	}
	days := slices.Sorted(maps.Keys(chain))
	err = chunk(len(days), 200, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*30)
		for _, d := range days[lo:hi] {
			c := chain[d]
			args = append(args, d, c.Visits, c.NewVisitors, c.Returning, c.RegularVisits, c.BecameRegular)
			for _, h := range c.Hours {
				args = append(args, h)
			}
		}
		return w.exec("INSERT INTO chain_daily (day, "+countCols+", "+hourCols+") VALUES "+placeholders(hi-lo, 30)+`
ON CONFLICT (day) DO UPDATE SET `+countIncs("chain_daily")+",\n\t"+strings.ReplaceAll(hourIncs, "daily.", "chain_daily."), args...)
	})
	if err != nil {
		return fmt.Errorf("updating the chain's daily rollups: %w", err)
	}
	return nil
}

// countIncs is the SET clause adding excluded's counts to table's.
func countIncs(table string) string {
	var b strings.Builder
	for i, c := range strings.Split(countCols, ", ") {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s.%s + excluded.%s", c, table, c, c)
	}
	return b.String()
}

// touchDevices makes sure every box of the batch has a row, and moves its
// last-seen and last-visit times forward.
func (w *writer) touchDevices(b *office.Batch, visits []office.Visit) error {
	type touch struct{ seen, visit int64 }
	boxes := map[boxKey]touch{}
	up := func(k boxKey, seen, visit int64) {
		t := boxes[k]
		t.seen, t.visit = max(t.seen, seen), max(t.visit, visit)
		boxes[k] = t
	}
	for _, s := range b.Seen {
		up(boxKey{s.Site, s.Device}, s.At.UnixMilli(), 0)
	}
	for _, v := range visits {
		up(boxKey{v.Site, v.Device}, 0, v.Time.UnixMilli())
	}
	for _, s := range b.Status {
		up(boxKey{s.Site, s.Device}, s.Received.UnixMilli(), 0)
	}
	for _, s := range b.Stats {
		up(boxKey{s.Site, s.Device}, 0, 0)
	}
	keys := slices.SortedFunc(maps.Keys(boxes), func(a, b boxKey) int {
		return cmp.Or(strings.Compare(a.site, b.site), strings.Compare(a.device, b.device))
	})
	return chunk(len(keys), 500, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*4)
		for _, k := range keys[lo:hi] {
			args = append(args, k.site, k.device, boxes[k].seen, boxes[k].visit)
		}
		err := w.exec("INSERT INTO devices (site, device, last_seen, last_visit) VALUES "+placeholders(hi-lo, 4)+`
ON CONFLICT (site, device) DO UPDATE SET
	last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen ELSE devices.last_seen END,
	last_visit = CASE WHEN excluded.last_visit > devices.last_visit THEN excluded.last_visit ELSE devices.last_visit END`, args...)
		if err != nil {
			return fmt.Errorf("updating the boxes: %w", err)
		}
		return nil
	})
}

// status applies status messages: the last received wins (a box's clock
// may be wrong, and the last will has no time of its own).
func (w *writer) status(updates []office.StatusUpdate) error {
	updates = slices.Clone(updates)
	slices.SortStableFunc(updates, func(a, b office.StatusUpdate) int {
		return cmp.Or(strings.Compare(a.Site, b.Site), strings.Compare(a.Device, b.Device), a.Received.Compare(b.Received))
	})
	for _, u := range updates {
		at := u.Received.UnixMilli()
		err := w.exec(`UPDATE devices SET state = ?, reason = ?, status_at = ?, version = COALESCE(NULLIF(?, ''), version), status = ?
WHERE site = ? AND device = ? AND status_at <= ?`, u.State, u.Reason, at, u.Version, string(u.Payload), u.Site, u.Device, at)
		if err != nil {
			return fmt.Errorf("updating the status of %s/%s: %w", u.Site, u.Device, err)
		}
	}
	return nil
}

// stats applies stats messages: the latest by the box's own time wins
// (stats of one box may reach two collectors in either order).
func (w *writer) stats(updates []office.StatsUpdate) error {
	updates = slices.Clone(updates)
	slices.SortStableFunc(updates, func(a, b office.StatsUpdate) int {
		return cmp.Or(strings.Compare(a.Site, b.Site), strings.Compare(a.Device, b.Device), a.Time.Compare(b.Time))
	})
	for _, u := range updates {
		at := u.Time.UnixMilli()
		err := w.exec(`UPDATE devices SET stats = ?, stats_at = ?, stats_day = ?, stats_visits = ?
WHERE site = ? AND device = ? AND stats_at <= ?`, string(u.Payload), at, u.Day, u.Visits, u.Site, u.Device, at)
		if err != nil {
			return fmt.Errorf("updating the stats of %s/%s: %w", u.Site, u.Device, err)
		}
	}
	return nil
}

// quarantine keeps messages aside, each distinct one once, counted.
func (w *writer) quarantine(q []office.Quarantined) error {
	merged := map[string]office.Quarantined{}
	for _, m := range q {
		m.Times = max(m.Times, 1)
		if o, ok := merged[m.Hash]; ok {
			m.Times += o.Times
			m.FirstSeen = o.FirstSeen
		}
		merged[m.Hash] = m
	}
	keys := slices.Sorted(maps.Keys(merged))
	return chunk(len(keys), 200, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*7)
		for _, k := range keys[lo:hi] {
			m := merged[k]
			args = append(args, m.Hash, m.Topic, m.Payload, m.Reason, m.FirstSeen.UnixMilli(), m.LastSeen.UnixMilli(), m.Times)
		}
		err := w.exec("INSERT INTO quarantine (hash, topic, payload, reason, first_seen, last_seen, times) VALUES "+placeholders(hi-lo, 7)+`
ON CONFLICT (hash) DO UPDATE SET
	reason = excluded.reason,
	last_seen = CASE WHEN excluded.last_seen > quarantine.last_seen THEN excluded.last_seen ELSE quarantine.last_seen END,
	times = quarantine.times + excluded.times`, args...)
		if err != nil {
			return fmt.Errorf("quarantining messages: %w", err)
		}
		return nil
	})
}
