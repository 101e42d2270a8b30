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

// Check recomputes r's rollups from the visits and compares (office.Store).
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
	var out []office.Mismatch
	keys := slices.Collect(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		return cmp.Or(strings.Compare(a.site, b.site), strings.Compare(a.device, b.device), strings.Compare(a.day, b.day))
	})
	for _, k := range keys {
		w, g := want[k], got[k]
		if w != g {
			w.Site, w.Device, w.Day = k.site, k.device, k.day
			g.Site, g.Device, g.Day = k.site, k.device, k.day
			out = append(out, office.Mismatch{Want: w, Got: g})
		}
	}
	return out, nil
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
