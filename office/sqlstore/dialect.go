package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name  string
	goose goose.Dialect
	// postgres: $1 placeholders, advisory locks, boolean columns.
	postgres bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", goose: goose.DialectSQLite3}
	postgresDialect = dialect{name: "postgres", goose: goose.DialectPostgres, postgres: true}
)

// q rewrites a query written with ? placeholders for the dialect.
func (d dialect) q(query string) string {
	if !d.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// flag is a boolean column's value in a comparison or a sum.
func (d dialect) flag(col string) string {
	if d.postgres {
		return "CASE WHEN " + col + " THEN 1 ELSE 0 END"
	}
	return col
}

// lockSites takes PostgreSQL advisory locks on sites for the rest of the
// transaction: shared by writers (many at once), exclusive by SetZone,
// so that no visit is placed with a zone that is being changed. SQLite
// serialises writers anyway.
func (d dialect) lockSites(ctx context.Context, tx *sql.Tx, sites []string, exclusive bool) error {
	if !d.postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	for _, s := range sites { // sorted by the caller: one lock order
		if _, err := tx.ExecContext(ctx, "SELECT "+fn+"($1)", siteLock(s)); err != nil {
			return fmt.Errorf("locking site %s: %w", s, err)
		}
	}
	return nil
}

// siteLock is a site's advisory lock key.
func siteLock(site string) int64 {
	h := fnv.New64a()
	h.Write([]byte("joren-office/site/" + site))
	return int64(h.Sum64())
}

// retryable tells whether a transaction failed only because of another
// one (a lock wait gave up, a deadlock, a serialisation failure) and may
// simply be run again.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return true
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
