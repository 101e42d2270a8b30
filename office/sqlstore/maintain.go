package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"joren/office"
)

// Purge deletes what is past the retention at now (office.Store).
func (s *Store) Purge(ctx context.Context, now time.Time) (office.Purged, error) {
	var p office.Purged
	ret := s.opt.Retention
	err := s.tx(ctx, "deleting what is past the retention", func(tx *sql.Tx) error {
		p = office.Purged{}
		del := func(n *int64, query string, arg any) error {
			res, err := tx.ExecContext(ctx, s.d.q(query), arg)
			if err != nil {
				return err
			}
			*n, err = res.RowsAffected()
			return err
		}
		if c := office.Cutoff(now, ret.Events); c != "" {
			if err := del(&p.Visits, "DELETE FROM visits WHERE day < ?", c); err != nil {
				return err
			}
		}
		if c := office.Cutoff(now, ret.Rollups); c != "" {
			if err := del(&p.Days, "DELETE FROM daily WHERE day < ?", c); err != nil {
				return err
			}
			var n int64
			if err := del(&n, "DELETE FROM chain_daily WHERE day < ?", c); err != nil {
				return err
			}
			// A month goes once all its days have gone.
			if err := del(&n, "DELETE FROM monthly WHERE month < ?", c[:7]); err != nil {
				return err
			}
		}
		if ret.Quarantine > 0 {
			if err := del(&p.Quarantined, "DELETE FROM quarantine WHERE last_seen < ?", now.AddDate(0, 0, -ret.Quarantine).UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	return p, err
}

// Check recomputes r's rollups from the visits, and the monthly and
// chain-wide rollups from the daily ones, and compares (office.Store).
func (s *Store) Check(ctx context.Context, r office.Range) ([]office.Mismatch, error) {
	want, err := s.recompute(ctx, r)
	if err != nil {
		return nil, err
	}
	got := map[dayKey]office.DayRow{}
	if err := s.EachDay(ctx, r, func(d office.DayRow) error {
		got[dayKey{d.Site, d.Device, d.Day}] = d
		return nil
	}); err != nil {
		return nil, err
	}
	out := compare(want, got)
	if len(r.Sites) > 0 || r.Device != "" {
		return out, nil
	}
	// The months r touches, and the chain's days, against the daily rows.
	f, _ := time.Parse(time.DateOnly, r.From)
	t, _ := time.Parse(time.DateOnly, r.To)
	whole := office.Range{From: f.Format("2006-01") + "-01", To: time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
	wantMonth, wantChain := map[dayKey]office.DayRow{}, map[dayKey]office.DayRow{}
	if err := s.EachDay(ctx, whole, func(d office.DayRow) error {
		mk := dayKey{d.Site, d.Device, d.Day[:7]}
		m := wantMonth[mk]
		m.Counts = m.Counts.Plus(d.Counts)
		wantMonth[mk] = m
		if d.Day >= r.From && d.Day <= r.To {
			ck := dayKey{"*", "*", d.Day}
			c := wantChain[ck]
			c.Counts, c.Hours = c.Counts.Plus(d.Counts), c.Hours.Plus(d.Hours)
			wantChain[ck] = c
		}
		return nil
	}); err != nil {
		return nil, err
	}
	gotMonth, gotChain := map[dayKey]office.DayRow{}, map[dayKey]office.DayRow{}
	err = s.scan(ctx, "SELECT site, device, month, "+countCols+" FROM monthly WHERE month >= ? AND month <= ?", []any{whole.From[:7], whole.To[:7]}, func(k dayKey, c office.Counts, _ *office.Hours) {
		gotMonth[k] = office.DayRow{Counts: c}
	})
	if err != nil {
		return nil, err
	}
	err = s.scan(ctx, "SELECT '*', '*', day, "+countCols+", "+hourCols+" FROM chain_daily WHERE day >= ? AND day <= ?", []any{r.From, r.To}, func(k dayKey, c office.Counts, h *office.Hours) {
		gotChain[k] = office.DayRow{Counts: c, Hours: *h}
	})
	if err != nil {
		return nil, err
	}
	out = append(out, compare(wantMonth, gotMonth)...)
	return append(out, compare(wantChain, gotChain)...), nil
}

// scan reads rows of site, device, day (or month) and counts, and hours
// when the query has them.
func (s *Store) scan(ctx context.Context, query string, args []any, fn func(dayKey, office.Counts, *office.Hours)) error {
	rows, err := s.db.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return fmt.Errorf("checking the rollups in %s: %w", s.display, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		var (
			k dayKey
			c office.Counts
			h office.Hours
		)
		dest := append([]any{&k.site, &k.device, &k.day}, scanCounts(&c)...)
		if len(cols) > len(dest) {
			dest = append(dest, scanHours(&h)...)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn(k, c, &h)
	}
	return rows.Err()
}

// compare lists the rows that differ between want and got.
func compare(want, got map[dayKey]office.DayRow) []office.Mismatch {
	keys := slices.Collect(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		return cmp.Or(strings.Compare(a.site, b.site), strings.Compare(a.device, b.device), strings.Compare(a.day, b.day))
	})
	var out []office.Mismatch
	for _, k := range keys {
		w, g := want[k], got[k]
		w.Site, w.Device, w.Day = k.site, k.device, k.day
		g.Site, g.Device, g.Day = k.site, k.device, k.day
		if w != g {
			out = append(out, office.Mismatch{Want: w, Got: g})
		}
	}
	return out
}

// recompute sums r's visits per shop, box and day.
func (s *Store) recompute(ctx context.Context, r office.Range) (map[dayKey]office.DayRow, error) {
	clause, args, err := where(r)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT site, device, day, hour, COUNT(*), SUM(`+s.d.flag("is_new")+`), SUM(`+s.d.flag("regular")+`), SUM(`+s.d.flag("became_regular")+`)
FROM visits WHERE `+clause+" GROUP BY site, device, day, hour"), args...)
	if err != nil {
		return nil, fmt.Errorf("summing the visits in %s: %w", s.display, err)
	}
	defer rows.Close()
	out := map[dayKey]office.DayRow{}
	for rows.Next() {
		var (
			k                         dayKey
			hour                      int
			n, isNew, regular, became int64
		)
		if err := rows.Scan(&k.site, &k.device, &k.day, &hour, &n, &isNew, &regular, &became); err != nil {
			return nil, err
		}
		if hour < 0 || hour > 23 {
			return nil, fmt.Errorf("visits of %s/%s on %s at hour %d", k.site, k.device, k.day, hour)
		}
		d := out[k]
		d.Site, d.Device, d.Day = k.site, k.device, k.day
		d.Visits += n
		d.NewVisitors += isNew
		d.Returning += n - isNew
		d.RegularVisits += regular
		d.BecameRegular += became
		d.Hours[hour] += n
		out[k] = d
	}
	return out, rows.Err()
}
