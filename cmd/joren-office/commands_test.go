package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/office"
	"joren/office/sqlstore"
)

// The read-side commands on a real database: report as a table and as
// CSV, sites, check and --repair, and what they say to a wrong command
// line.
func TestCommands(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "office.db")
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b office.Batch
	for i, at := range []time.Time{
		time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 4, 23, 30, 0, 0, time.UTC),
	} {
		b.Visits = append(b.Visits, office.Visit{ID: "01KR00000000000000000000" + string(rune('A'+i)) + "0", Site: "osaka-umeda", Device: "door-1", Time: at,
			Period: "2026-11", Visitor: strings.Repeat("a", 32), New: i == 0, Visits: 1 + i, Days: 1, Regular: i == 2, Schema: 1})
	}
	if _, err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	// A rollup damaged behind the store's back.
	if _, err := s.DB().Exec("UPDATE daily SET visits = 7 WHERE day = '2026-11-03'"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	run := func(want int, args ...string) string {
		t.Helper()
		out, err := joren(t, args...)
		code := 0
		if err != nil {
			code = err.(interface{ ExitCode() int }).ExitCode()
		}
		if code != want {
			t.Errorf("joren-office %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	out := run(0, "report", "--db", dsn, "--from", "2026-11-01", "--to", "2026-11-30", "--csv")
	if out != "site,device,day,visits,new_visitors,returning,regular_visits\nosaka-umeda,door-1,2026-11-03,7,1,1,0\nosaka-umeda,door-1,2026-11-04,1,0,1,1\n" {
		t.Errorf("report --csv:\n%s", out)
	}
	out = run(exitCheck, "check", "--db", dsn)
	if !strings.Contains(out, "osaka-umeda/door-1 2026-11-03: rollup {Visits:7") {
		t.Errorf("check:\n%s", out)
	}
	out = run(0, "check", "--db", dsn, "--repair")
	if !strings.Contains(out, "0 difference(s) left") {
		t.Errorf("check --repair:\n%s", out)
	}
	// Tokyo: every hour moves; 23:30 UTC on the 4th is the 5th, 08:30.
	out = run(0, "sites", "--db", dsn, "zone", "osaka-umeda", "Asia/Tokyo")
	if !strings.Contains(out, "osaka-umeda: Asia/Tokyo (3 stored visits moved") {
		t.Errorf("sites zone: %s", out)
	}
	out = run(0, "report", "--db", dsn, "--from", "2026-11-01", "--to", "2026-11-30")
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	if want := "osaka-umeda door-1 2026-11-03 2 1 1 0 50%|osaka-umeda door-1 2026-11-05 1 0 1 1 100%|TOTAL 2 days 3 1 2 1 67%"; strings.Join(rows, "|") != want {
		t.Errorf("report:\n%s", out)
	}
	out = run(0, "sites", "--db", dsn)
	if !strings.Contains(out, "UTC (not set)") || !strings.Contains(out, "osaka-umeda  Asia/Tokyo") {
		t.Errorf("sites:\n%s", out)
	}
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{exitUsage, []string{"report", "--db", dsn, "--from", "2026-11", "--to", "2026-11-30"}, `--from "2026-11" is not a day`},
		{exitUsage, []string{"report", "--db", dsn, "--from", "2026-12-01", "--to", "2026-11-30"}, "is after --to"},
		{exitFailure, []string{"report", "--db", "sqlite:" + filepath.Join(t.TempDir(), "nope.db"), "--from", "2026-11-01", "--to", "2026-11-30"}, "no database sqlite:"},
		{exitFailure, []string{"sites", "--db", dsn, "zone", "osaka-umeda", "Osaka/Umeda"}, "not a known IANA zone"},
		{exitUsage, []string{"run", "--db", dsn}, "--broker is required"},
		{exitUsage, []string{"run", "--broker", "mqtt://127.0.0.1:1", "--listen", ":0"}, "--listen needs --password-file"},
		{exitUsage, []string{"run", "--broker", "mqtt://127.0.0.1:1", "--keep-events", "10", "--keep-rollups", "5"}, "less than the events"},
		{exitUsage, []string{"run", "--broker", "http://x", "--db", dsn}, `unknown scheme "http"`},
	} {
		if out := run(tc.code, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("joren-office %s: %q, want %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "nope.db")); err == nil {
		t.Error("report made a database")
	}
}
