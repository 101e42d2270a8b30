package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"joren/office"
)

// Config is how the suite wants a store opened.
type Config struct {
	Retention office.Retention
	Now       func() time.Time
}

// Factory makes the stores under test.
type Factory struct {
	// NewDB returns the address of a new, empty database.
	NewDB func(t testing.TB) string
	// Open opens the database at addr (a second Open of one address is a
	// second writer, as a second process would be); the test's cleanup
	// closes it.
	Open func(t *testing.T, addr string, cfg Config) office.Store
}

// Run runs the suite.
func Run(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"Counts", testCounts},
		{"Duplicates", testDuplicates},
		{"Zones", testZones},
		{"DeviceDay", testDeviceDay},
		{"Concurrent", testConcurrent},
		{"Status", testStatus},
		{"Stats", testStats},
		{"Quarantine", testQuarantine},
		{"Retention", testRetention},
		{"Ranges", testRanges},
		{"Months", testMonths},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

func open(t *testing.T, f Factory, cfg Config) office.Store {
	t.Helper()
	return f.Open(t, f.NewDB(t), cfg)
}

// at is a time on 2026-11-03 (a Tuesday) UTC.
func at(hour, min int) time.Time { return time.Date(2026, 11, 3, hour, min, 0, 0, time.UTC) }

// mk makes a visit event at t with the given kind and flags; its id is
// a ULID of t with random bits from rng.
func mk(rng *rand.Rand, site, device string, t time.Time, isNew, regular, became bool) office.Visit {
	var entropy [10]byte
	for i := range entropy {
		entropy[i] = byte(rng.IntN(256))
	}
	id := ulid.MustNew(ulid.Timestamp(t), strings.NewReader(string(entropy[:])))
	visits := 2
	if isNew {
		visits = 1
	}
	return office.Visit{
		ID: id.String(), Site: site, Device: device, Time: t.UTC().Truncate(time.Second),
		Period: t.Format("2006-01"), Visitor: fmt.Sprintf("%032x", rng.Uint64()),
		New: isNew, Visits: visits, Days: visits, Regular: regular, BecameRegular: became,
		Confidence: 0.9, Schema: 1,
	}
}

func write(t *testing.T, s office.Store, b *office.Batch) office.WriteResult {
	t.Helper()
	res, err := s.Write(context.Background(), b)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return res
}

func days(t *testing.T, s office.Store, r office.Range) []office.DayRow {
	t.Helper()
	var out []office.DayRow
	if err := s.EachDay(context.Background(), r, func(d office.DayRow) error {
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatalf("EachDay: %v", err)
	}
	return out
}

// consistent fails the test if a rollup differs from its visits.
func consistent(t *testing.T, s office.Store) {
	t.Helper()
	m, err := s.Check(context.Background(), office.Range{From: "2000-01-01", To: "2100-01-01"})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, x := range m {
		t.Errorf("rollup %s/%s %s: stored %+v, the visits sum to %+v", x.Want.Site, x.Want.Device, x.Want.Day, x.Got, x.Want)
	}
}

var all = office.Range{From: "2000-01-01", To: "2100-01-01"}

func testCounts(t *testing.T, f Factory) {
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	b := &office.Batch{Visits: []office.Visit{
		mk(rng, "shop-1", "door-1", at(10, 0), true, false, false),
		mk(rng, "shop-1", "door-1", at(10, 30), false, false, false),
		mk(rng, "shop-1", "door-1", at(11, 0), false, true, true),
		mk(rng, "shop-1", "door-1", at(17, 0), false, true, false),
		mk(rng, "shop-1", "door-2", at(9, 0), true, false, false),
		mk(rng, "shop-2", "door-1", at(23, 59), true, false, false),
	}}
	if res := write(t, s, b); res.Stored != 6 || res.Duplicates != 0 || res.TooOld != 0 {
		t.Errorf("Write: %+v, want 6 stored", res)
	}
	got := days(t, s, all)
	want := []office.DayRow{
		{Site: "shop-1", Device: "door-1", Day: "2026-11-03", Counts: office.Counts{Visits: 4, NewVisitors: 1, Returning: 3, RegularVisits: 2, BecameRegular: 1}},
		{Site: "shop-1", Device: "door-2", Day: "2026-11-03", Counts: office.Counts{Visits: 1, NewVisitors: 1}},
		{Site: "shop-2", Device: "door-1", Day: "2026-11-03", Counts: office.Counts{Visits: 1, NewVisitors: 1}},
	}
	want[0].Hours[10], want[0].Hours[11], want[0].Hours[17] = 2, 1, 1
	want[1].Hours[9] = 1
	want[2].Hours[23] = 1
	if !slices.Equal(got, want) {
		t.Errorf("rollups:\n got %+v\nwant %+v", got, want)
	}
	if r := got[0].ReturnRate(); r != 0.75 {
		t.Errorf("return rate %v, want 0.75", r)
	}
	tot, err := s.Totals(context.Background())
	if err != nil || tot.Visits != 6 || tot.Days != 3 || tot.Devices != 3 {
		t.Errorf("Totals %+v, %v", tot, err)
	}
	consistent(t, s)
}

func testDuplicates(t *testing.T, f Factory) {
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	a := mk(rng, "shop-1", "door-1", at(10, 0), true, false, false)
	b := mk(rng, "shop-1", "door-1", at(12, 0), false, true, false)
	if res := write(t, s, &office.Batch{Visits: []office.Visit{a, a, b}}); res.Stored != 2 || res.Duplicates != 1 {
		t.Errorf("a batch with a duplicate: %+v, want 2 stored and 1 duplicate", res)
	}
	// A redelivery, even with other fields changed, counts once: the id
	// decides.
	a2 := a
	a2.Regular = true
	if res := write(t, s, &office.Batch{Visits: []office.Visit{b, a2}}); res.Stored != 0 || res.Duplicates != 2 {
		t.Errorf("a redelivered batch: %+v, want 0 stored and 2 duplicates", res)
	}
	got := days(t, s, all)
	if len(got) != 1 || got[0].Visits != 2 || got[0].RegularVisits != 1 || got[0].NewVisitors != 1 {
		t.Errorf("rollups %+v, want 2 visits, 1 new, 1 regular", got)
	}
	consistent(t, s)
}

func testZones(t *testing.T, f Factory) {
	ctx := context.Background()
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	// 23:30 UTC on the 3rd is 08:30 on the 4th in Tokyo and 00:30 on the
	// 4th in Paris (UTC+1 in November).
	late := mk(rng, "tokyo-1", "door-1", at(23, 30), true, false, false)
	paris := mk(rng, "paris-1", "door-1", at(23, 30), true, false, false)
	if _, err := s.SetZone(ctx, "tokyo-1", "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	write(t, s, &office.Batch{Visits: []office.Visit{late, paris}})
	got := days(t, s, all)
	if len(got) != 2 || got[0].Site != "paris-1" || got[0].Day != "2026-11-03" || got[0].Hours[23] != 1 ||
		got[1].Site != "tokyo-1" || got[1].Day != "2026-11-04" || got[1].Hours[8] != 1 {
		t.Fatalf("placed %+v, want paris-1 on the 3rd at 23 (UTC default), tokyo-1 on the 4th at 8", got)
	}
	// Setting the default zone moves the shops without their own.
	moved, err := s.SetZone(ctx, office.DefaultZone, "Europe/Paris")
	if err != nil || moved != 1 {
		t.Fatalf("SetZone(*): moved %d, %v; want 1", moved, err)
	}
	got = days(t, s, all)
	if len(got) != 2 || got[0].Day != "2026-11-04" || got[0].Hours[0] != 1 || got[1].Day != "2026-11-04" {
		t.Errorf("after the default zone: %+v, want paris-1 on the 4th at 0", got)
	}
	// Setting the same zone again moves nothing.
	if moved, err := s.SetZone(ctx, "tokyo-1", "Asia/Tokyo"); err != nil || moved != 0 {
		t.Errorf("SetZone again: moved %d, %v", moved, err)
	}
	zones, err := s.Zones(ctx)
	if err != nil || zones["tokyo-1"] != "Asia/Tokyo" || zones[office.DefaultZone] != "Europe/Paris" || len(zones) != 2 {
		t.Errorf("Zones %v, %v", zones, err)
	}
	// New visits use the zones set.
	write(t, s, &office.Batch{Visits: []office.Visit{mk(rng, "paris-1", "door-1", at(22, 0), false, false, false)}})
	if got := days(t, s, office.Range{From: "2026-11-03", To: "2026-11-03", Sites: []string{"paris-1"}}); len(got) != 1 || got[0].Hours[23] != 1 {
		t.Errorf("a visit at 22:00 UTC in Paris: %+v, want the 3rd at 23", got)
	}
	for _, bad := range []struct{ site, zone, want string }{
		{"tokyo-1", "Mars/Olympus", "not a known IANA zone"},
		{"tokyo-1", "", "want an IANA name"},
		{"a b", "UTC", "site name"},
	} {
		if _, err := s.SetZone(ctx, bad.site, bad.zone); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetZone(%q, %q): %v, want %q", bad.site, bad.zone, err, bad.want)
		}
	}
	consistent(t, s)
}

func testDeviceDay(t *testing.T, f Factory) {
	ctx := context.Background()
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(7, 8))
	// A schema-2 event says its own day and offset: they win over the
	// office's zone, and a zone change leaves it where it is.
	v := mk(rng, "osaka-1", "door-1", at(23, 30), false, true, false)
	nine := 9 * time.Hour
	v.DeviceDay, v.DeviceOffset, v.Schema = "2026-11-04", &nine, 2
	write(t, s, &office.Batch{Visits: []office.Visit{v}})
	if moved, err := s.SetZone(ctx, "osaka-1", "America/New_York"); err != nil || moved != 0 {
		t.Errorf("SetZone moved %d, %v: a visit placed by its box must stay", moved, err)
	}
	got := days(t, s, all)
	if len(got) != 1 || got[0].Day != "2026-11-04" || got[0].Hours[8] != 1 {
		t.Errorf("%+v, want the box's day 2026-11-04 at 8", got)
	}
	consistent(t, s)
}

// testConcurrent: writers (two handles on one database, as two
// processes) store overlapping batches with duplicates at once; every
// visit counts once and the rollups are exactly the sums.
func testConcurrent(t *testing.T, f Factory) {
	addr := f.NewDB(t)
	stores := []office.Store{f.Open(t, addr, Config{}), f.Open(t, addr, Config{})}
	rng := rand.New(rand.NewPCG(9, 10))
	var visits []office.Visit
	want := map[string]office.Counts{}
	for i := range 600 {
		site := fmt.Sprintf("shop-%d", i%4)
		v := mk(rng, site, "door-1", at(8+i%12, i%60).AddDate(0, 0, i%3), i%3 == 0, i%5 == 0, i%25 == 0)
		visits = append(visits, v)
		c := want[site+"/"+v.Time.Format(time.DateOnly)]
		c.Add(v)
		want[site+"/"+v.Time.Format(time.DateOnly)] = c
	}
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 11))
			// Each writer stores every visit, in its own order and
			// batches: each visit arrives six times.
			mine := slices.Clone(visits)
			r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for len(mine) > 0 {
				n := min(len(mine), 1+r.IntN(80))
				if _, err := stores[w%2].Write(context.Background(), &office.Batch{Visits: mine[:n]}); err != nil {
					errs <- err
					return
				}
				mine = mine[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := map[string]office.Counts{}
	for _, d := range days(t, stores[0], all) {
		c := got[d.Site+"/"+d.Day]
		got[d.Site+"/"+d.Day] = c.Plus(d.Counts)
	}
	if len(got) != len(want) {
		t.Errorf("%d shop-days, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	tot, err := stores[1].Totals(context.Background())
	if err != nil || tot.Visits != int64(len(visits)) {
		t.Errorf("%d visits stored (%v), want %d", tot.Visits, err, len(visits))
	}
	consistent(t, stores[0])
}

func status(site, device, state, reason, version string, received time.Time) office.StatusUpdate {
	p, _ := json.Marshal(map[string]any{"schema": 1, "state": state, "device": device, "site": site, "reason": reason, "version": version, "uptime_s": 1})
	return office.StatusUpdate{Site: site, Device: device, State: state, Reason: reason, Received: received, Version: version, Payload: p}
}

func device(t *testing.T, s office.Store, site, dev string) office.Device {
	t.Helper()
	ds, err := s.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Site == site && d.Device == dev {
			return d
		}
	}
	t.Fatalf("no box %s/%s in %+v", site, dev, ds)
	return office.Device{}
}

func testStatus(t *testing.T, f Factory) {
	s := open(t, f, Config{})
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	write(t, s, &office.Batch{Status: []office.StatusUpdate{status("shop-1", "door-1", "online", "", "v1.2.0", t0)}})
	if d := device(t, s, "shop-1", "door-1"); d.State != "online" || d.Version != "v1.2.0" || !d.LastSeen.Equal(t0) || !d.StatusAt.Equal(t0) {
		t.Errorf("after online: %+v", d)
	}
	// The last will (no version of its own here) wins over the online
	// status received before it; a stale online received later by a
	// lagging collector with an older receive time does not.
	write(t, s, &office.Batch{Status: []office.StatusUpdate{status("shop-1", "door-1", "offline", "connection lost", "", t0.Add(time.Minute))}})
	write(t, s, &office.Batch{Status: []office.StatusUpdate{status("shop-1", "door-1", "online", "", "v1.1.0", t0.Add(30*time.Second))}})
	d := device(t, s, "shop-1", "door-1")
	if d.State != "offline" || d.Reason != "connection lost" || d.Version != "v1.2.0" || !d.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("after the will and a stale online: %+v", d)
	}
	var m map[string]any
	if err := json.Unmarshal(d.Status, &m); err != nil || m["reason"] != "connection lost" {
		t.Errorf("status payload %s: %v", d.Status, err)
	}
	// Two updates of one box in one batch: the later received wins.
	write(t, s, &office.Batch{Status: []office.StatusUpdate{
		status("shop-1", "door-1", "offline", "shutdown", "", t0.Add(3*time.Minute)),
		status("shop-1", "door-1", "online", "", "v1.3.0", t0.Add(2*time.Minute)),
	}})
	if d := device(t, s, "shop-1", "door-1"); d.State != "offline" || d.Reason != "shutdown" || d.Version != "v1.3.0" {
		t.Errorf("after a batch of two: %+v", d)
	}
}

func testStats(t *testing.T, f Factory) {
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(12, 13))
	t0 := at(12, 0)
	stats := func(tm time.Time, visits int64) office.StatsUpdate {
		p, _ := json.Marshal(map[string]any{"schema": 1, "day": "2026-11-03", "time": tm, "today": map[string]any{"visits": visits}})
		return office.StatsUpdate{Site: "shop-1", Device: "door-1", Time: tm, Day: "2026-11-03", Visits: visits, Payload: p}
	}
	write(t, s, &office.Batch{
		Visits: []office.Visit{mk(rng, "shop-1", "door-1", at(10, 0), true, false, false), mk(rng, "shop-1", "door-1", at(11, 0), true, false, false)},
		Stats:  []office.StatsUpdate{stats(t0.Add(5*time.Minute), 3)},
		Seen:   []office.Seen{{Site: "shop-1", Device: "door-1", At: t0.Add(5 * time.Minute)}},
	})
	// Older stats arriving later (through the other collector) lose.
	write(t, s, &office.Batch{Stats: []office.StatsUpdate{stats(t0, 1)}})
	d := device(t, s, "shop-1", "door-1")
	if d.StatsDay != "2026-11-03" || d.StatsVisits != 3 || d.OfficeVisits != 2 || !d.StatsAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("stats: %+v; want the box's 3 visits of 2026-11-03 against the office's 2", d)
	}
	if !d.LastVisit.Equal(at(11, 0)) || !d.LastSeen.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("last visit %v, last seen %v", d.LastVisit, d.LastSeen)
	}
}

func testQuarantine(t *testing.T, f Factory) {
	s := open(t, f, Config{})
	t0 := at(12, 0)
	bad := office.Quarantined{Hash: "h1", Topic: "joren/shop-1/door-1/visit", Payload: []byte("{\"id\":\xff}"), Reason: "not UTF-8", FirstSeen: t0, LastSeen: t0, Times: 1}
	other := office.Quarantined{Hash: "h2", Topic: "joren/shop-1/door-1/stats", Payload: []byte(`{}`), Reason: "missing properties", FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Second), Times: 1}
	write(t, s, &office.Batch{Quarantine: []office.Quarantined{bad, other}})
	again := bad
	again.FirstSeen, again.LastSeen = t0.Add(time.Hour), t0.Add(time.Hour)
	write(t, s, &office.Batch{Quarantine: []office.Quarantined{again}})
	q, n, err := s.Quarantine(context.Background(), 10)
	if err != nil || n != 2 || len(q) != 2 {
		t.Fatalf("Quarantine: %d of %d, %v; want 2", len(q), n, err)
	}
	if q[0].Hash != "h1" || q[0].Times != 2 || !q[0].FirstSeen.Equal(t0) || !q[0].LastSeen.Equal(t0.Add(time.Hour)) || string(q[0].Payload) != string(bad.Payload) {
		t.Errorf("the message seen twice: %+v", q[0])
	}
	if q, _, _ := s.Quarantine(context.Background(), 1); len(q) != 1 {
		t.Errorf("limit 1: %d", len(q))
	}
}

func testRetention(t *testing.T, f Factory) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := open(t, f, Config{Retention: office.Retention{Events: 10, Rollups: 30, Quarantine: 5}, Now: clock})
	rng := rand.New(rand.NewPCG(14, 15))
	old := mk(rng, "shop-1", "door-1", now.AddDate(0, 0, -12), true, false, false)
	kept := mk(rng, "shop-1", "door-1", now.AddDate(0, 0, -9), true, false, false)
	res := write(t, s, &office.Batch{Visits: []office.Visit{old, kept}})
	if res.Stored != 1 || res.TooOld != 1 {
		t.Errorf("Write %+v, want 1 stored, 1 too old", res)
	}
	q, _, _ := s.Quarantine(ctx, 10)
	if len(q) != 1 || !strings.Contains(q[0].Reason, "older than the event retention") || !strings.Contains(string(q[0].Payload), old.ID) {
		t.Errorf("quarantine %+v", q)
	}
	// 20 days later: the visit is past the event retention (its rollup
	// is kept), the quarantined message past its own.
	now = now.AddDate(0, 0, 20)
	p, err := s.Purge(ctx, now)
	if err != nil || p.Visits != 1 || p.Days != 0 || p.Quarantined != 1 {
		t.Errorf("Purge: %+v, %v; want 1 visit and 1 quarantined message deleted", p, err)
	}
	if got := days(t, s, all); len(got) != 1 || got[0].Visits != 1 {
		t.Errorf("rollups after the visits went: %+v", got)
	}
	// The visit redelivered now is refused, not counted twice.
	if res := write(t, s, &office.Batch{Visits: []office.Visit{kept}}); res.Stored != 0 || res.TooOld != 1 {
		t.Errorf("late redelivery: %+v", res)
	}
	now = now.AddDate(0, 0, 30)
	if p, err := s.Purge(ctx, now); err != nil || p.Days != 1 {
		t.Errorf("Purge of rollups: %+v, %v", p, err)
	}
}

func testRanges(t *testing.T, f Factory) {
	ctx := context.Background()
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(16, 17))
	var b office.Batch
	for d := range 5 {
		for i := range d + 1 {
			b.Visits = append(b.Visits,
				mk(rng, "shop-a", "door-1", at(10+i, 0).AddDate(0, 0, d), i == 0, false, false),
				mk(rng, "shop-b", fmt.Sprintf("door-%d", 1+i%2), at(10, i).AddDate(0, 0, d), false, true, false))
		}
	}
	write(t, s, &b)
	r := office.Range{From: "2026-11-04", To: "2026-11-06"}
	sites, err := s.Sites(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	// Days 1..3 (the 4th to the 6th) have 2+3+4 visits per shop.
	if len(sites) != 2 || sites[0].Site != "shop-a" || sites[0].Visits != 9 || sites[0].NewVisitors != 3 || sites[0].Devices != 1 ||
		sites[1].Visits != 9 || sites[1].RegularVisits != 9 || sites[1].Devices != 2 {
		t.Errorf("Sites %+v", sites)
	}
	tl, err := s.Timeline(ctx, office.Range{From: r.From, To: r.To, Sites: []string{"shop-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 3 || tl[0].Day != "2026-11-04" || tl[0].Visits != 2 || tl[2].Visits != 4 || tl[2].Hours[13] != 1 || tl[2].Hours[10] != 1 {
		t.Errorf("Timeline %+v", tl)
	}
	light := days(t, s, office.Range{From: r.From, To: r.To, NoHours: true})
	full := days(t, s, office.Range{From: r.From, To: r.To})
	for i := range full {
		if light[i].Counts != full[i].Counts || light[i].Hours != (office.Hours{}) {
			t.Errorf("without hours: %+v, with: %+v", light[i], full[i])
		}
	}
	one := days(t, s, office.Range{From: r.From, To: r.To, Sites: []string{"shop-b"}, Device: "door-2"})
	if len(one) != 3 || one[0].Device != "door-2" || one[0].Visits != 1 {
		t.Errorf("one box: %+v", one)
	}
	for _, bad := range []office.Range{{From: "2026-11", To: "2026-11-06"}, {From: "2026-11-01", To: "tomorrow"}} {
		if _, err := s.Sites(ctx, bad); err == nil || !strings.Contains(err.Error(), "is not a day") {
			t.Errorf("range %+v: %v", bad, err)
		}
	}
}

// testMonths: totals over ranges made of whole months and days around
// them (the monthly rollups) equal the sums of the daily rows, and so do
// the chain-wide days, also after a zone moves visits across a month's end.
func testMonths(t *testing.T, f Factory) {
	ctx := context.Background()
	s := open(t, f, Config{})
	rng := rand.New(rand.NewPCG(18, 19))
	var b office.Batch
	start := time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC)
	for d := range 70 {
		for i := range 1 + d%4 {
			b.Visits = append(b.Visits, mk(rng, fmt.Sprintf("shop-%d", i%3), "door-1", start.AddDate(0, 0, d).Add(time.Duration(9+i*5)*time.Hour+30*time.Minute), i == 0, i == 2, false))
		}
	}
	write(t, s, &b)
	check := func(when string) {
		t.Helper()
		for _, r := range []office.Range{
			{From: "2026-10-01", To: "2026-10-31"}, {From: "2026-09-30", To: "2026-12-01"}, {From: "2026-10-15", To: "2026-11-30"},
			{From: "2026-11-01", To: "2026-12-05"}, {From: "2026-10-02", To: "2026-10-09"}, {From: "2026-09-01", To: "2026-12-31", Sites: []string{"shop-1"}},
		} {
			want := map[string]office.Counts{}
			for _, d := range days(t, s, r) {
				want[d.Site] = want[d.Site].Plus(d.Counts)
			}
			sites, err := s.Sites(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]office.Counts{}
			for _, st := range sites {
				got[st.Site] = st.Counts
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s, %s to %s: Sites %v, the days sum to %v", when, r.From, r.To, got, want)
			}
			tl, err := s.Timeline(ctx, office.Range{From: r.From, To: r.To})
			if err != nil {
				t.Fatal(err)
			}
			var sum office.Counts
			for _, d := range tl {
				sum = sum.Plus(d.Counts)
			}
			var all office.Counts
			for _, d := range days(t, s, office.Range{From: r.From, To: r.To}) {
				all = all.Plus(d.Counts)
			}
			if sum != all {
				t.Errorf("%s, %s to %s: the chain's timeline sums to %+v, the days to %+v", when, r.From, r.To, sum, all)
			}
		}
		consistent(t, s)
	}
	check("written")
	// Tokyo moves the evening visits of the 31st into November.
	if _, err := s.SetZone(ctx, "shop-1", "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	check("after a zone change")
}
