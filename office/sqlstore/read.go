package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"joren/office"
)

// where is the WHERE clause selecting r in the daily or visits table.
func where(r office.Range) (string, []any, error) {
	if err := office.CheckDay("from", r.From); err != nil {
		return "", nil, err
	}
	if err := office.CheckDay("to", r.To); err != nil {
		return "", nil, err
	}
	clause := "day >= ? AND day <= ?"
	args := []any{r.From, r.To}
	if len(r.Sites) > 0 {
		clause += " AND site IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(r.Sites)), ", ") + ")"
		for _, s := range r.Sites {
			args = append(args, s)
		}
	}
	if r.Device != "" {
		clause += " AND device = ?"
		args = append(args, r.Device)
	}
	return clause, args, nil
}

func scanCounts(c *office.Counts) []any {
	return []any{&c.Visits, &c.NewVisitors, &c.Returning, &c.RegularVisits, &c.BecameRegular}
}

func scanHours(h *office.Hours) []any {
	out := make([]any, len(h))
	for i := range h {
		out[i] = &h[i]
	}
	return out
}

// EachDay calls fn with every rollup of r (office.Store).
func (s *Store) EachDay(ctx context.Context, r office.Range, fn func(office.DayRow) error) error {
	clause, args, err := where(r)
	if err != nil {
		return err
	}
	cols := countCols + ", " + hourCols
	if r.NoHours {
		cols = countCols
	}
	rows, err := s.db.QueryContext(ctx, s.d.q("SELECT site, device, day, "+cols+" FROM daily WHERE "+clause+" ORDER BY site, device, day"), args...)
	if err != nil {
		return fmt.Errorf("reading the daily rollups in %s: %w", s.display, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d office.DayRow
		dest := append([]any{&d.Site, &d.Device, &d.Day}, scanCounts(&d.Counts)...)
		if !r.NoHours {
			dest = append(dest, scanHours(&d.Hours)...)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Sites returns every shop's totals over r (office.Store): whole months
// from the monthly rollups, the days before and after them from the daily
// ones.
func (s *Store) Sites(ctx context.Context, r office.Range) ([]office.SiteTotal, error) {
	if _, _, err := where(r); err != nil {
		return nil, err
	}
	days, m1, m2 := splitMonths(r.From, r.To)
	type key struct{ site, device string }
	sums := map[key]office.Counts{}
	add := func(table, clause string, args []any) error {
		rows, err := s.db.QueryContext(ctx, s.d.q("SELECT site, device, "+sumCounts+" FROM "+table+" WHERE "+clause+" GROUP BY site, device"), args...)
		if err != nil {
			return fmt.Errorf("reading the shops' totals in %s: %w", s.display, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k key
				c office.Counts
			)
			if err := rows.Scan(append([]any{&k.site, &k.device}, scanCounts(&c)...)...); err != nil {
				return err
			}
			sums[k] = sums[k].Plus(c)
		}
		return rows.Err()
	}
	for _, d := range days {
		clause, args, _ := where(office.Range{From: d[0], To: d[1], Sites: r.Sites, Device: r.Device})
		if err := add("daily", clause, args); err != nil {
			return nil, err
		}
	}
	if m1 != "" {
		clause, args, _ := where(office.Range{From: "2000-01-01", To: "2000-01-01", Sites: r.Sites, Device: r.Device})
		clause = strings.Replace(clause, "day >= ? AND day <= ?", "month >= ? AND month <= ?", 1)
		args[0], args[1] = m1, m2
		if err := add("monthly", clause, args); err != nil {
			return nil, err
		}
	}
	bySite := map[string]*office.SiteTotal{}
	for k, c := range sums {
		t := bySite[k.site]
		if t == nil {
			t = &office.SiteTotal{Site: k.site}
			bySite[k.site] = t
		}
		t.Devices++
		t.Counts = t.Counts.Plus(c)
	}
	out := make([]office.SiteTotal, 0, len(bySite))
	for _, site := range slices.Sorted(maps.Keys(bySite)) {
		out = append(out, *bySite[site])
	}
	return out, nil
}

// splitMonths divides [from, to] into the whole months it covers (m1 to
// m2, "" if none) and the ranges of days outside them.
func splitMonths(from, to string) (days [][2]string, m1, m2 string) {
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	if f.Day() != 1 {
		end := time.Date(f.Year(), f.Month()+1, 0, 0, 0, 0, 0, time.UTC)
		if !end.Before(t) {
			return [][2]string{{from, to}}, "", ""
		}
		days = append(days, [2]string{from, day(end)})
		f = end.AddDate(0, 0, 1)
	}
	if start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC); t.AddDate(0, 0, 1).Day() != 1 {
		if start.Before(f) {
			return append(days, [2]string{day(f), to}), "", ""
		}
		days = append(days, [2]string{day(start), to})
		t = start.AddDate(0, 0, -1)
	}
	if !f.After(t) {
		m1, m2 = f.Format("2006-01"), t.Format("2006-01")
	}
	return days, m1, m2
}

// Timeline returns every day's totals over r (office.Store): over every
// shop from the chain's daily rollups, over some from their own.
func (s *Store) Timeline(ctx context.Context, r office.Range) ([]office.DayTotal, error) {
	clause, args, err := where(r)
	if err != nil {
		return nil, err
	}
	query := "SELECT day, " + sumCounts + ", " + hourSums + " FROM daily WHERE " + clause + " GROUP BY day ORDER BY day"
	if len(r.Sites) == 0 && r.Device == "" {
		query = "SELECT day, " + countCols + ", " + hourCols + " FROM chain_daily WHERE " + clause + " ORDER BY day"
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("reading the timeline in %s: %w", s.display, err)
	}
	defer rows.Close()
	var out []office.DayTotal
	for rows.Next() {
		var t office.DayTotal
		dest := append([]any{&t.Day}, scanCounts(&t.Counts)...)
		if err := rows.Scan(append(dest, scanHours(&t.Hours)...)...); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Devices returns every box with what is known of it (office.Store).
func (s *Store) Devices(ctx context.Context) ([]office.Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT d.site, d.device, d.state, d.reason, d.status_at, d.version, d.status,
	d.last_seen, d.last_visit, d.stats, d.stats_at, d.stats_day, d.stats_visits, COALESCE(r.visits, 0)
FROM devices d LEFT JOIN daily r ON r.site = d.site AND r.device = d.device AND r.day = d.stats_day
ORDER BY d.site, d.device`)
	if err != nil {
		return nil, fmt.Errorf("reading the boxes in %s: %w", s.display, err)
	}
	defer rows.Close()
	var out []office.Device
	for rows.Next() {
		var (
			d                              office.Device
			statusAt, seen, visit, statsAt int64
			status, stats                  string
		)
		if err := rows.Scan(&d.Site, &d.Device, &d.State, &d.Reason, &statusAt, &d.Version, &status,
			&seen, &visit, &stats, &statsAt, &d.StatsDay, &d.StatsVisits, &d.OfficeVisits); err != nil {
			return nil, err
		}
		d.StatusAt, d.LastSeen, d.LastVisit, d.StatsAt = millis(statusAt), millis(seen), time.Unix(visit/1000, 0).UTC(), millis(statsAt)
		if visit == 0 {
			d.LastVisit = time.Time{}
		}
		if status != "" {
			d.Status = []byte(status)
		}
		if stats != "" {
			d.Stats = []byte(stats)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Quarantine returns the latest quarantined messages (office.Store).
func (s *Store) Quarantine(ctx context.Context, limit int) ([]office.Quarantined, int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM quarantine").Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("counting the quarantine in %s: %w", s.display, err)
	}
	rows, err := s.db.QueryContext(ctx, s.d.q("SELECT hash, topic, payload, reason, first_seen, last_seen, times FROM quarantine ORDER BY last_seen DESC, hash LIMIT ?"), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the quarantine in %s: %w", s.display, err)
	}
	defer rows.Close()
	var out []office.Quarantined
	for rows.Next() {
		var (
			q           office.Quarantined
			first, last int64
		)
		if err := rows.Scan(&q.Hash, &q.Topic, &q.Payload, &q.Reason, &first, &last, &q.Times); err != nil {
			return nil, 0, err
		}
		q.FirstSeen, q.LastSeen = millis(first), millis(last)
		out = append(out, q)
	}
	return out, n, rows.Err()
}

// Totals counts what is stored (office.Store). It counts every visit:
// for tests and the check command, not for every page.
func (s *Store) Totals(ctx context.Context) (office.Totals, error) {
	var t office.Totals
	for _, c := range []struct {
		query string
		n     *int64
	}{
		{"SELECT COUNT(*) FROM visits", &t.Visits},
		{"SELECT COUNT(*) FROM quarantine", &t.Quarantined},
		{"SELECT COUNT(*) FROM devices", &t.Devices},
		{"SELECT COUNT(*) FROM daily", &t.Days},
	} {
		if err := s.db.QueryRowContext(ctx, c.query).Scan(c.n); err != nil {
			return t, fmt.Errorf("counting in %s: %w", s.display, err)
		}
	}
	return t, nil
}
