package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"joren/office"
)

// Load bulk-inserts visits (next returns them until false), placed on
// the calendar by the caller (office.Visit.Place), without touching the
// rollups: for importing a history, and for building the benchmarks' data
// sets. Visits already stored are an error, not skipped. Run Rebuild
// afterwards. PostgreSQL uses COPY; SQLite large transactions.
func (s *Store) Load(ctx context.Context, next func() (office.Visit, bool)) (int64, error) {
	if s.d.postgres {
		return s.copyVisits(ctx, next)
	}
	var n int64
	now := s.opt.Now().UnixMilli()
	for {
		var batch []office.Visit
		for len(batch) < 100_000 {
			v, ok := next()
			if !ok {
				break
			}
			batch = append(batch, v)
		}
		if len(batch) == 0 {
			return n, nil
		}
		err := s.tx(ctx, "loading visits", func(tx *sql.Tx) error {
			return chunk(len(batch), 400, func(lo, hi int) error {
				args := make([]any, 0, (hi-lo)*19)
				for _, v := range batch[lo:hi] {
					args = append(args, visitArgs(v, now)...)
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO visits ("+visitCols+") VALUES "+placeholders(hi-lo, 19), args...)
				return err
			})
		})
		if err != nil {
			return n, err
		}
		n += int64(len(batch))
	}
}

// visitArgs are a visit's values in visitCols's order.
func visitArgs(v office.Visit, received int64) []any {
	var offset any
	if v.DeviceOffset != nil {
		offset = int64(*v.DeviceOffset / time.Second)
	}
	return []any{v.ID, v.Site, v.Device, v.Time.Unix(), v.Day, v.Hour, v.Zone, v.DeviceDay, offset,
		v.Period, v.Visitor, v.New, v.Visits, v.Days, v.Regular, v.BecameRegular, v.Confidence, v.Schema, received}
}

// copyVisits loads visits with PostgreSQL's COPY.
func (s *Store) copyVisits(ctx context.Context, next func() (office.Visit, bool)) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	now := s.opt.Now().UnixMilli()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		cols := []string{"id", "site", "device", "at", "day", "hour", "zone", "device_day", "device_offset", "period", "visitor",
			"is_new", "visits", "days", "regular", "became_regular", "confidence", "schema_version", "received"}
		n, err = pc.CopyFrom(ctx, pgx.Identifier{"visits"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			v, ok := next()
			if !ok {
				return nil, nil
			}
			return visitArgs(v, now), nil
		}))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("loading visits into %s: %w", s.display, err)
	}
	return n, nil
}

// Rebuild computes the rollups of every day that has stored visits again
// from the visits, and the monthly and chain-wide rollups of those days
// from the daily ones, in one transaction (days whose visits are past the
// event retention keep their rollups). After Load; and the repair if
// Check ever finds a difference.
func (s *Store) Rebuild(ctx context.Context) error {
	isNew, regular, became := s.d.flag("is_new"), s.d.flag("regular"), s.d.flag("became_regular")
	hours := ""
	for h := range 24 {
		hours += fmt.Sprintf(", SUM(CASE WHEN hour = %d THEN 1 ELSE 0 END)", h)
	}
	days := "SELECT DISTINCT day FROM visits"
	months := "SELECT DISTINCT substr(day, 1, 7) FROM visits"
	return s.tx(ctx, "rebuilding the rollups", func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM daily WHERE day IN (" + days + ")",
			"INSERT INTO daily (site, device, day, " + countCols + ", " + hourCols + ") SELECT site, device, day, COUNT(*), SUM(" + isNew + "), COUNT(*) - SUM(" + isNew + "), SUM(" + regular + "), SUM(" + became + ")" + hours +
				" FROM visits GROUP BY site, device, day",
			"DELETE FROM monthly WHERE month IN (" + months + ")",
			"INSERT INTO monthly (site, device, month, " + countCols + ") SELECT site, device, substr(day, 1, 7), " + sumCounts +
				" FROM daily WHERE substr(day, 1, 7) IN (" + months + ") GROUP BY site, device, substr(day, 1, 7)",
			"DELETE FROM chain_daily WHERE day IN (" + days + ")",
			"INSERT INTO chain_daily (day, " + countCols + ", " + hourCols + ") SELECT day, " + sumCounts + ", " + hourSums +
				" FROM daily WHERE day IN (" + days + ") GROUP BY day",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}
