package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"joren/office"
)

// Options configure a Store.
type Options struct {
	// Retention says how long what is kept (zero value: keep everything;
	// the binary passes office.DefaultRetention unless told otherwise).
	Retention office.Retention
	// Now is the clock (default time.Now), for retention.
	Now func() time.Time
	// Log receives migrations and retries (nil: discarded).
	Log *slog.Logger
}

// Store is an office.Store in SQLite or PostgreSQL.
type Store struct {
	db      *sql.DB
	d       dialect
	opt     Options
	display string // the DSN without a password, for errors

	mu    sync.Mutex
	zones map[string]*time.Location // loaded zones by name
}

var _ office.Store = (*Store)(nil)

// Open opens (creating and migrating if needed) the store at dsn:
// sqlite:FILE or postgres://user@host/db?... (postgresql:// too).
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if err := opt.Retention.Check(); err != nil {
		return nil, err
	}
	s := &Store{opt: opt, zones: map[string]*time.Location{}, display: Redact(dsn)}
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		err = s.openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		err = s.openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("database %q: want sqlite:FILE or postgres://USER@HOST/DB", s.display)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if path == "" || strings.ContainsAny(path, "?#") {
		return fmt.Errorf("database %q: want sqlite:FILE, a file name without ? or #", s.display)
	}
	if dir := filepath.Dir(path); dir != "." {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("database %s: its folder: %w", s.display, err)
		}
	}
	// WAL lets the dashboard read while a batch is written; FULL makes
	// each commit durable before Write returns (messages are acknowledged
	// after it); the write lock is taken at BEGIN so that two writers
	// queue instead of failing halfway.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(20000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("database %s: %w", s.display, err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db, s.d = db, sqliteDialect
	unlock, err := lockFile(path)
	if err != nil {
		db.Close()
		return fmt.Errorf("database %s: %w", s.display, err)
	}
	defer unlock()
	if err := s.ping(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, db, s.d, s.opt.Log); err != nil {
		db.Close()
		return fmt.Errorf("database %s: %w", s.display, err)
	}
	return nil
}

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("database %s: %w", s.display, err)
	}
	// A pooled connection is checked before it is used again: after the
	// server restarted, the first statement then gets a new connection
	// instead of failing on the dead one.
	db := sql.OpenDB(stdlib.GetConnector(*cfg, stdlib.OptionResetSession(func(ctx context.Context, c *pgx.Conn) error {
		if c.IsClosed() || c.Ping(ctx) != nil {
			return driver.ErrBadConn
		}
		return nil
	})))
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db, s.d = db, postgresDialect
	if err := s.ping(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, db, s.d, s.opt.Log); err != nil {
		db.Close()
		return fmt.Errorf("database %s: %w", s.display, err)
	}
	return nil
}

func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return fmt.Errorf("database %s: cannot connect: %w", s.display, err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// DB is the underlying database, for benchmarks and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Redact hides the password of a database address, for logs and errors.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// tx runs fn in a transaction, again (up to 10 times, with a growing
// pause) when it failed only because of another transaction.
func (s *Store) tx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt == 10 || ctx.Err() != nil {
			return fmt.Errorf("%s in %s: %w", what, s.display, err)
		}
		s.opt.Log.Debug("transaction conflict; again", "what", what, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func (s *Store) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}
