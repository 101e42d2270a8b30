package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"joren/office"
	"joren/sync/event"
)

// location loads a zone by name, once.
func (s *Store) location(name string) (*time.Location, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if loc, ok := s.zones[name]; ok {
		return loc, nil
	}
	loc, err := office.LoadZone(name)
	if err != nil {
		return nil, err
	}
	s.zones[name] = loc
	return loc, nil
}

// zoneFor is the zone of site in zones (which holds the default too).
func zoneFor(zones map[string]string, site string) string {
	if z, ok := zones[site]; ok {
		return z
	}
	if z, ok := zones[office.DefaultZone]; ok {
		return z
	}
	return "UTC"
}

// zonesOf reads the zones of sites (which include the default).
func (s *Store) zonesOf(ctx context.Context, tx *sql.Tx, sites []string) (map[string]string, error) {
	zones := map[string]string{}
	err := chunk(len(sites), 500, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, site := range sites[lo:hi] {
			args = append(args, site)
		}
		rows, err := tx.QueryContext(ctx, s.d.q("SELECT site, zone FROM sites WHERE site IN ("+strings.TrimSuffix(strings.Repeat("?, ", hi-lo), ", ")+")"), args...)
		if err != nil {
			return fmt.Errorf("reading the shops' zones: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var site, zone string
			if err := rows.Scan(&site, &zone); err != nil {
				return err
			}
			zones[site] = zone
		}
		return rows.Err()
	})
	return zones, err
}

// Zones returns every shop's zone (office.Store).
func (s *Store) Zones(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT site, zone FROM sites ORDER BY site")
	if err != nil {
		return nil, fmt.Errorf("reading the shops' zones in %s: %w", s.display, err)
	}
	defer rows.Close()
	zones := map[string]string{}
	for rows.Next() {
		var site, zone string
		if err := rows.Scan(&site, &zone); err != nil {
			return nil, err
		}
		zones[site] = zone
	}
	return zones, rows.Err()
}

// SetZone sets a shop's zone and places its visits again (office.Store).
func (s *Store) SetZone(ctx context.Context, site, zone string) (int, error) {
	if site != office.DefaultZone {
		if err := event.CheckName("site", site); err != nil {
			return 0, err
		}
	}
	loc, err := s.location(zone)
	if err != nil {
		return 0, err
	}
	moved := 0
	err = s.tx(ctx, "setting the zone of "+site, func(tx *sql.Tx) error {
		moved = 0
		if err := s.d.lockSites(ctx, tx, []string{site}, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO sites (site, zone) VALUES (?, ?) ON CONFLICT (site) DO UPDATE SET zone = excluded.zone"), site, zone); err != nil {
			return err
		}
		// The visits placed by a zone (not by the box's own day and
		// offset) of the shop, or of every shop without its own zone.
		query := "SELECT id, site, device, at, day, hour, zone, device_day, device_offset, is_new, regular, became_regular FROM visits WHERE zone <> '' AND site = ?"
		args := []any{site}
		if site == office.DefaultZone {
			query = "SELECT id, site, device, at, day, hour, zone, device_day, device_offset, is_new, regular, became_regular FROM visits WHERE zone <> '' AND site NOT IN (SELECT site FROM sites WHERE site <> ?)"
		}
		var changed []office.Visit
		rows := map[dayKey]*office.DayRow{}
		add := func(v office.Visit, sign int64) {
			k := dayKey{v.Site, v.Device, v.Day}
			if rows[k] == nil {
				rows[k] = &office.DayRow{Site: v.Site, Device: v.Device, Day: v.Day}
			}
			var one office.DayRow
			one.Add(v)
			r := rows[k]
			r.Visits += sign * one.Visits
			r.NewVisitors += sign * one.NewVisitors
			r.Returning += sign * one.Returning
			r.RegularVisits += sign * one.RegularVisits
			r.BecameRegular += sign * one.BecameRegular
			r.Hours[v.Hour] += sign
		}
		err := func() error {
			rs, err := tx.QueryContext(ctx, s.d.q(query), args...)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var (
					v      office.Visit
					at     int64
					offset sql.NullInt64
				)
				if err := rs.Scan(&v.ID, &v.Site, &v.Device, &at, &v.Day, &v.Hour, &v.Zone, &v.DeviceDay, &offset, &v.New, &v.Regular, &v.BecameRegular); err != nil {
					return err
				}
				v.Time = time.Unix(at, 0).UTC()
				if offset.Valid {
					d := time.Duration(offset.Int64) * time.Second
					v.DeviceOffset = &d
				}
				old := v
				v.Place(zone, loc)
				if v.Day == old.Day && v.Hour == old.Hour && v.Zone == old.Zone {
					continue
				}
				if v.Day != old.Day || v.Hour != old.Hour {
					add(old, -1)
					add(v, +1)
					moved++
				}
				changed = append(changed, v)
			}
			return rs.Err()
		}()
		if err != nil {
			return fmt.Errorf("reading the visits to place again: %w", err)
		}
		for _, v := range changed {
			if _, err := tx.ExecContext(ctx, s.d.q("UPDATE visits SET day = ?, hour = ?, zone = ? WHERE id = ?"), v.Day, v.Hour, v.Zone, v.ID); err != nil {
				return err
			}
		}
		w := &writer{s: s, tx: tx, ctx: ctx}
		if err := w.addRollups(rows); err != nil {
			return err
		}
		// A day all of whose visits moved away has no row, as if it had
		// never had any (Check recomputes rows only for days with visits).
		for _, table := range []string{"daily", "monthly", "chain_daily"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE visits = 0"); err != nil {
				return err
			}
		}
		return nil
	})
	return moved, err
}
