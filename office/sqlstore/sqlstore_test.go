package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Load and Rebuild give the same rollups as Write, on both databases.
func TestLoadRebuild(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	for name, dsn := range map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "o.db"), "postgres": pg.NewDatabase(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var written, loaded []office.Visit
			for i := range 500 {
				at := time.Date(2026, 11, 1+i%20, 8+i%12, i%60, 0, 0, time.UTC)
				v := office.Visit{ID: fmt.Sprintf("01KR%022d", i), Site: fmt.Sprintf("shop-%d", i%3), Device: "door-1", Time: at,
					Period: "2026-11", Visitor: fmt.Sprintf("%032x", i), New: i%4 == 0, Visits: 1, Days: 1, Regular: i%3 == 0, Schema: 1}
				if i%2 == 0 {
					written = append(written, v)
				} else {
					v.Place("UTC", time.UTC)
					loaded = append(loaded, v)
				}
			}
			if _, err := s.Write(ctx, &office.Batch{Visits: written}); err != nil {
				t.Fatal(err)
			}
			i := 0
			n, err := s.Load(ctx, func() (office.Visit, bool) {
				if i == len(loaded) {
					return office.Visit{}, false
				}
				i++
				return loaded[i-1], true
			})
			if err != nil || n != 250 {
				t.Fatalf("Load: %d, %v", n, err)
			}
			if m, _ := s.Check(ctx, office.Range{From: "2026-01-01", To: "2026-12-31"}); len(m) == 0 {
				t.Fatal("Check sees no difference before Rebuild: it checks nothing")
			}
			if err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if m, err := s.Check(ctx, office.Range{From: "2026-01-01", To: "2026-12-31"}); err != nil || len(m) > 0 {
				t.Errorf("after Rebuild: %v, %v", m, err)
			}
			sites, _ := s.Sites(ctx, office.Range{From: "2026-01-01", To: "2026-12-31"})
			var total int64
			for _, st := range sites {
				total += st.Visits
			}
			if total != 500 {
				t.Errorf("%d visits in the rollups, want 500", total)
			}
		})
	}
}
