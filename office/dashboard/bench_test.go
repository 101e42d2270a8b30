package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"joren/internal/testenv"
	"joren/office"
	"joren/office/dashboard"
	"joren/office/pgtest"
	"joren/office/sqlstore"
)

// The benchmark chain: 1,000 shops of one box each, the year 2026, 10
// million visits (27 a shop and day on average; shops of 10 to 45, busier
// weekends).
const (
	benchShops  = 1000
	benchVisits = 10_000_000
	// benchVersion names the cached data set: change it when the data
	// set or the schema changes.
	benchVersion = "v2"
)

// benchCache is where the data sets are kept between runs (deleting it
// builds them again).
func benchCache(b *testing.B) string {
	dir := filepath.Join(os.TempDir(), "joren-office-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchChain generates the visits in time order.
func benchChain() func() (office.Visit, bool) {
	rng := rand.New(rand.NewPCG(2026, 1000))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	size := make([]float64, benchShops)
	var sum float64
	for i := range size {
		size[i] = 10 + 35*rng.Float64()
		sum += size[i]
	}
	perDay := float64(benchVisits) / 365 / sum // scale to 10 million
	var (
		day, shop, left int
		n               int
		entropy         = ulid.Monotonic(rng32(rng), 0)
	)
	return func() (office.Visit, bool) {
		for left == 0 {
			if n >= benchVisits || day == 365 {
				return office.Visit{}, false
			}
			shop++
			if shop >= benchShops {
				shop, day = 0, day+1
				if day == 365 {
					return office.Visit{}, false
				}
			}
			f := size[shop] * perDay
			if wd := start.AddDate(0, 0, day).Weekday(); wd == time.Saturday || wd == time.Sunday {
				f *= 1.25
			} else {
				f *= 0.9
			}
			left = int(f + rng.Float64())
		}
		left--
		n++
		h := 10 + rng.IntN(10)
		at := start.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
		isNew := rng.Float64() < 0.38
		regular := !isNew && rng.Float64() < 0.45
		v := office.Visit{
			ID: ulid.MustNew(ulid.Timestamp(at), entropy).String(), Site: fmt.Sprintf("shop-%04d", shop), Device: "door-1", Time: at,
			Period: at.Format("2006-01"), Visitor: fmt.Sprintf("%032x", rng.Uint64()), New: isNew, Visits: 1 + rng.IntN(8), Days: 1 + rng.IntN(5),
			Regular: regular, BecameRegular: regular && rng.Float64() < 0.1, Confidence: 0.9, Schema: 1,
		}
		v.Place("UTC", time.UTC)
		return v, true
	}
}

// benchStore opens the cached data set of kind (sqlite or postgres),
// building it first if needed (minutes, once).
func benchStore(b *testing.B, kind string) office.Store {
	b.Helper()
	ctx := context.Background()
	cache := benchCache(b)
	done := filepath.Join(cache, kind+"-"+benchVersion+".done")
	var dsn string
	switch kind {
	case "sqlite":
		dsn = "sqlite:" + filepath.Join(cache, "office-"+benchVersion+".db")
	default:
		pg := pgtest.Start(b, pgtest.Options{Durable: true, Dir: filepath.Join(cache, "pg-"+benchVersion), Settings: []string{"shared_buffers=512MB"}})
		dsn = pg.DSN("bench")
		if _, err := os.Stat(done); err != nil {
			pg.Exec(b, "postgres", "DROP DATABASE IF EXISTS bench")
			pg.Exec(b, "postgres", "CREATE DATABASE bench")
		}
	}
	if _, err := os.Stat(done); err != nil {
		if kind == "sqlite" {
			os.Remove(strings.TrimPrefix(dsn, "sqlite:"))
		}
		s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		n, err := s.Load(ctx, benchChain())
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Rebuild(ctx); err != nil {
			b.Fatal(err)
		}
		var boxes office.Batch
		for i := range benchShops {
			site := fmt.Sprintf("shop-%04d", i)
			at := time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)
			p, _ := json.Marshal(map[string]any{"schema": 1, "state": "online", "device": "door-1", "site": site, "version": "v1.3.0", "uptime_s": 1})
			st, _ := json.Marshal(map[string]any{"schema": 1, "device": "door-1", "site": site, "time": at, "day": "2026-12-31", "outbox": map[string]any{"pending": 0, "delivered": 1, "dropped": 0}})
			boxes.Status = append(boxes.Status, office.StatusUpdate{Site: site, Device: "door-1", State: "online", Received: at, Version: "v1.3.0", Payload: p})
			boxes.Stats = append(boxes.Stats, office.StatsUpdate{Site: site, Device: "door-1", Time: at, Day: "2026-12-31", Payload: st})
		}
		if _, err := s.Write(ctx, &boxes); err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
		s.Close()
		b.Logf("%s: loaded %d visits in %s, rollups in %s", kind, n, t1.Sub(t0).Round(time.Second), time.Since(t1).Round(time.Second))
		if err := os.WriteFile(done, []byte(fmt.Sprintln(n)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkQueries times what the dashboard and joren-office report ask
// of the store, through the dashboard's handler (JSON or CSV included),
// over 10 million visits of 1,000 shops, and reports the 95th percentile.
func BenchmarkQueries(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			s := benchStore(b, kind)
			d, err := dashboard.New(dashboard.Config{Store: s, Password: password, Now: func() time.Time { return time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC) }})
			if err != nil {
				b.Fatal(err)
			}
			h := d.Handler()
			login := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"password": {password}}.Encode()))
			login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, login)
			cookie := rec.Result().Cookies()[0]
			rng := rand.New(rand.NewPCG(1, 2))
			day := func(n int) string {
				return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n).Format(time.DateOnly)
			}
			shop := func() string { return fmt.Sprintf("shop-%04d", rng.IntN(benchShops)) }
			for _, q := range []struct {
				name string
				url  func() string
			}{
				{"numbers-30-days", func() string { e := 29 + rng.IntN(336); return "/api/numbers?from=" + day(e-29) + "&to=" + day(e) }},
				{"numbers-year", func() string { return "/api/numbers?from=2026-01-01&to=2026-12-31" }},
				{"numbers-3-shops-quarter-compared", func() string {
					e := 182 + rng.IntN(183)
					return fmt.Sprintf("/api/numbers?from=%s&to=%s&cfrom=%s&cto=%s&site=%s&site=%s&site=%s", day(e-90), day(e), day(e-181), day(e-91), shop(), shop(), shop())
				}},
				{"fleet", func() string { return "/api/fleet" }},
				{"report-month-csv", func() string {
					m := 1 + rng.IntN(11)
					return fmt.Sprintf("/report.csv?from=2026-%02d-01&to=2026-%02d-01", m, m+1)
				}},
				{"report-shop-year-csv", func() string { return "/report.csv?from=2026-01-01&to=2026-12-31&site=" + shop() }},
			} {
				b.Run(q.name, func(b *testing.B) {
					var took []time.Duration
					for b.Loop() {
						for range 20 {
							req := httptest.NewRequest("GET", q.url(), nil)
							req.AddCookie(cookie)
							rec := httptest.NewRecorder()
							t0 := time.Now()
							h.ServeHTTP(rec, req)
							took = append(took, time.Since(t0))
							if rec.Code != http.StatusOK {
								b.Fatalf("%s: %d %s", req.URL, rec.Code, rec.Body)
							}
						}
					}
					slices.Sort(took)
					ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / 1e6 }
					b.ReportMetric(ms(0.5), "p50-ms")
					b.ReportMetric(ms(0.95), "p95-ms")
					b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
				})
			}
		})
	}
}
