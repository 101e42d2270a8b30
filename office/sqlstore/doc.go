// Package sqlstore is head office's store (office.Store) in SQL: SQLite,
// the embedded default (one file, pure Go: modernc.org/sqlite), or
// PostgreSQL for chains (github.com/jackc/pgx/v5), behind one
// implementation on database/sql. The schema is versioned: migrations
// (embedded SQL, one folder per dialect) are applied by
// github.com/pressly/goose at Open, under a lock, so several collectors
// may start at once.
//
// A batch is one transaction: the visits are inserted with ON CONFLICT
// DO NOTHING and RETURNING their ids, so exactly the visits stored for the
// first time are added to the daily rollups, by increments, in the same
// transaction. Duplicates, redeliveries and concurrent writers therefore
// cannot make the rollups differ from the sums of the visits (Check
// recomputes and compares them). Rows are locked in one order (ids, then
// rollup keys, then boxes) so that two PostgreSQL writers cannot deadlock;
// SQLite takes its write lock at BEGIN (BEGIN IMMEDIATE) and waits for it.
//
// Durability: SQLite runs in WAL mode with synchronous=FULL, PostgreSQL
// with its defaults, so a committed batch survives a power cut, which is
// what makes acknowledging a message after Write returns safe.
package sqlstore
