package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"joren/office"
	"joren/office/pgtest"
	"joren/office/sqlstore"
	"joren/office/storetest"
)

func opener(t *testing.T, addr string, cfg storetest.Config) office.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), addr, sqlstore.Options{Retention: cfg.Retention, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, storetest.Factory{
		NewDB: func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "office.db") },
		Open:  opener,
	})
}

func TestPostgres(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	storetest.Run(t, storetest.Factory{NewDB: pg.NewDatabase, Open: opener})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ dsn, want string }{
		{"mysql://x/y", `database "mysql://x/y": want sqlite:FILE or postgres://`},
		{"sqlite:", "want sqlite:FILE"},
		{"sqlite:" + filepath.Join(dir, "missing", "office.db"), "its folder"},
		{"postgres://joren:secret@/nowhere?host=" + dir + "&port=1&sslmode=disable", "cannot connect"},
	} {
		_, err := sqlstore.Open(ctx, tc.dsn, sqlstore.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s): %v, want %q", tc.dsn, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%s): the error shows the password: %v", tc.dsn, err)
		}
	}
	if _, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "x.db"), sqlstore.Options{Retention: office.Retention{Events: 100, Rollups: 10}}); err == nil || !strings.Contains(err.Error(), "less than the events") {
		t.Errorf("rollups kept shorter than events: %v", err)
	}
}

// A store opened again is not migrated again, and one written by a newer
// joren-office is refused rather than misread.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "office.db")
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := sqlstore.Open(ctx, dsn, sqlstore.Options{}); err == nil || !strings.Contains(err.Error(), "newer than this joren-office knows") {
		t.Errorf("a newer schema: %v", err)
	}
}
