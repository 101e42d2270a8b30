package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"joren/cluster"
	"joren/cluster/identity"
	"joren/cluster/month"
	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/office"
	"joren/office/pgtest"
	"joren/office/sqlstore"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vocab"
)

// headOffice is the broker configuration docs/office.md asks for.
var headOffice = mosquittotest.Options{Config: []string{"max_queued_messages 0", "max_inflight_messages 200"}}

// boxSim is one box replaying months of visits, as `joren replay --publish`
// does: its identity store decides each visit (cluster/identity, the
// device's code), and its publisher (sync/publish, through the outbox)
// delivers each decision's event. Its store, outbox and device secret
// stay in dir between replays, so a replay resumes: visits decided before
// are not decided again, and their recorded decisions are published again,
// with the same event ids.
type boxSim struct {
	site, device string
	zone         *time.Location
	visits       []month.Visit
	dir          string
}

// replay decides and publishes visits[:n] and waits until the broker has
// every event. onDecision sees each decision as it is emitted.
func (b *boxSim) replay(ctx context.Context, broker string, n int, onDecision func(i int)) ([]vocab.Decision, error) {
	st, err := store.Open(filepath.Join(b.dir, "store"), store.Options{Model: vocab.DlibResNet(), Zone: b.zone.String(), Create: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc, err := identity.New(st, identity.Options{})
	if err != nil {
		return nil, err
	}
	secret, err := event.LoadSecret(filepath.Join(b.dir, "device-secret"))
	if err != nil {
		return nil, err
	}
	maker, err := event.NewMaker(event.Config{Device: b.device, Site: b.site, Secret: secret, Location: b.zone})
	if err != nil {
		return nil, err
	}
	box, err := outbox.Open(filepath.Join(b.dir, "outbox.db"), outbox.Options{})
	if err != nil {
		return nil, err
	}
	defer box.Close()
	p, err := publish.New(publish.Config{
		Broker: broker, RetryMin: 100 * time.Millisecond, RetryMax: time.Second, DrainTimeout: 2 * time.Minute,
		Log: slog.New(slog.DiscardHandler),
	}, maker, box)
	if err != nil {
		return nil, err
	}
	in := make(chan vocab.Decision)
	done := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- p.Run(pctx, in) }()
	i := 0
	next := func() (month.Visit, error) {
		if i == n {
			return month.Visit{}, io.EOF
		}
		i++
		return b.visits[i-1], nil
	}
	var decisions []vocab.Decision
	_, err = month.Stream(ctx, svc, next, func(d vocab.Decision) error {
		decisions = append(decisions, d)
		if onDecision != nil {
			onDecision(len(decisions))
		}
		select {
		case in <- d:
			return nil
		case err := <-done:
			return fmt.Errorf("the publisher stopped: %v", err)
		}
	})
	close(in)
	if err != nil {
		return nil, err
	}
	// Run returns once the outbox is empty: the broker has every event.
	if err := <-done; err != nil {
		return nil, fmt.Errorf("%s/%s: %w", b.site, b.device, err)
	}
	return decisions, nil
}

// expected is what the box decided, counted as the box itself counts
// (event.Counts, on its local day): "site,device,day,visits,new_visitors,
// returning,regular_visits" lines, and the event ids.
func (b *boxSim) expected(t *testing.T, decisions []vocab.Decision) (lines []string, ids []string) {
	secret, err := event.LoadSecret(filepath.Join(b.dir, "device-secret"))
	if err != nil {
		t.Fatal(err)
	}
	maker, err := event.NewMaker(event.Config{Device: b.device, Site: b.site, Secret: secret, Location: b.zone})
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]*event.Counts{}
	for _, d := range decisions {
		v, err := maker.Visit(d)
		if err != nil {
			t.Fatalf("%s/%s: %v", b.site, b.device, err)
		}
		ids = append(ids, v.ID)
		day := v.Time.In(b.zone).Format(time.DateOnly)
		if byDay[day] == nil {
			byDay[day] = &event.Counts{}
		}
		byDay[day].Add(v)
	}
	for _, day := range slices.Sorted(maps.Keys(byDay)) {
		c := byDay[day]
		lines = append(lines, fmt.Sprintf("%s,%s,%s,%d,%d,%d,%d", b.site, b.device, day, c.Visits, c.New, c.Returning, c.Regulars))
	}
	return lines, ids
}

// months makes two months (November and December 2026) of visits of 40
// people held out of the tuning, at a shop in zone.
func months(t *testing.T, names []string, by map[string][][]float32, seed uint64, zone *time.Location) []month.Visit {
	t.Helper()
	_, people := month.Split(names, 40, seed)
	var all []month.Visit
	for i, start := range []time.Time{time.Date(2026, 11, 1, 0, 0, 0, 0, zone), time.Date(2026, 12, 1, 0, 0, 0, 0, zone)} {
		vs, err := month.Generate(people, by, month.Config{Seed: seed*10 + uint64(i), Start: start, Days: 30, Zone: zone})
		if err != nil {
			t.Fatal(err)
		}
		for j := range vs {
			vs[j].ID = start.Format("2006-01") + "/" + vs[j].ID
		}
		all = append(all, vs...)
	}
	return all
}

// TestAcceptance is issue 16's judgement. Three boxes in two shops and
// two time zones replay two months of visits of held-out people into
// mosquitto; the replay is interrupted halfway, resumed, and run once more,
// so every event reaches the broker at least twice; the broker is
// restarted in the middle; two `joren-office run --group` instances share
// the load into SQLite and two more into PostgreSQL, and one of them is
// killed (SIGKILL) and started again. `joren-office report` must then give,
// per box and local day, exactly the numbers the boxes decided.
func TestAcceptance(t *testing.T) {
	ctx := context.Background()
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	es, err := cluster.ReadEmbeddings(f, f.Name(), 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	names, by, err := month.People(es)
	if err != nil {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	paris, _ := time.LoadLocation("Europe/Paris")
	tmp := t.TempDir()
	boxes := []*boxSim{
		{site: "osaka-umeda", device: "door-1", zone: tokyo},
		{site: "paris-marais", device: "door-1", zone: paris},
		{site: "paris-marais", device: "door-2", zone: paris},
	}
	for i, b := range boxes {
		b.visits = months(t, names, by, uint64(i+1), b.zone)
		b.dir = filepath.Join(tmp, b.site+"-"+b.device)
	}

	broker := mosquittotest.Start(t, headOffice)
	pg := pgtest.Start(t, pgtest.Options{})
	dbs := []struct{ name, dsn string }{
		{"sqlite", "sqlite:" + filepath.Join(tmp, "office.db")},
		{"postgres", pg.NewDatabase(t)},
	}
	// Every delivery of every visit event, as a plain persistent
	// subscriber sees them: proof that each arrived at least twice.
	deliveries := broker.Subscribe(t, "witness", "joren/+/+/visit")
	offices := map[string]*officeProc{}
	for _, db := range dbs {
		for _, n := range []string{"1", "2"} {
			offices[db.name+"-"+n] = start(t, "run", "--broker", broker.URL(), "--db", db.dsn, "--group", db.name, "--client-id", db.name+"-"+n, "--log-level", "warn", "--net-every", "3s")
		}
	}
	// The Osaka shop's zone is known before its events come; the Paris
	// shop's only at the end (its visits are then moved to Paris days).
	waitDB(t, dbs[0].dsn)
	for _, db := range dbs {
		if out, err := joren(t, "sites", "--db", db.dsn, "zone", "osaka-umeda", "Asia/Tokyo"); err != nil {
			t.Fatalf("sites zone: %v: %s", err, out)
		}
	}

	// pass runs every box's replay of its first n(box) visits at once.
	// hook sees each box's decisions as they come; what it asks onTest to
	// do (stop the broker, kill a collector) runs on the test's goroutine
	// while that box waits.
	actions := make(chan func())
	onTest := func(a func()) {
		done := make(chan struct{})
		actions <- func() { a(); close(done) }
		<-done
	}
	pass := func(n func(*boxSim) int, hook func(b *boxSim, i int)) [][]vocab.Decision {
		t.Helper()
		out := make([][]vocab.Decision, len(boxes))
		g, gctx := errgroup.WithContext(ctx)
		for k, b := range boxes {
			g.Go(func() error {
				var on func(int)
				if hook != nil {
					on = func(i int) { hook(b, i) }
				}
				d, err := b.replay(gctx, broker.URL(), n(b), on)
				out[k] = d
				return err
			})
		}
		finished := make(chan error, 1)
		go func() { finished <- g.Wait() }()
		for {
			select {
			case a := <-actions:
				a()
			case err := <-finished:
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
		}
	}
	half := func(b *boxSim) int { return len(b.visits) / 2 }
	full := func(b *boxSim) int { return len(b.visits) }

	// 1. Interrupted halfway.
	first := pass(half, nil)
	// 2. Resumed to the end; the broker restarts while the first box is
	// halfway through its second half (the other boxes go on publishing
	// into their outboxes meanwhile).
	second := pass(full, func(b *boxSim, i int) {
		if b == boxes[0] && i == len(b.visits)*3/4 {
			onTest(func() {
				broker.Stop()
				time.Sleep(time.Second)
				broker.Restart()
			})
		}
	})
	// 3. Everything once more. One collector is killed (SIGKILL) before,
	// and started again halfway: its persistent session keeps what the
	// broker gave it and it had not acknowledged.
	offices["sqlite-2"].kill()
	third := pass(full, func(b *boxSim, i int) {
		if b == boxes[1] && i == len(b.visits)/2 {
			onTest(offices["sqlite-2"].launch)
		}
	})

	var want, ids []string
	for k, b := range boxes {
		if !slices.EqualFunc(first[k], second[k][:len(first[k])], sameDecision) || !slices.EqualFunc(second[k], third[k], sameDecision) {
			t.Fatalf("%s/%s: a resumed replay decided differently", b.site, b.device)
		}
		l, i := b.expected(t, second[k])
		want, ids = append(want, l...), append(ids, i...)
		t.Logf("%s/%s: %d visits on %d days", b.site, b.device, len(second[k]), len(l))
	}
	slices.Sort(want)

	// Every event reached the broker at least twice.
	msgs, ok := deliveries.WaitFor(60*time.Second, func(m []mosquittotest.Message) bool { return len(m) >= 2*len(ids) })
	if !ok {
		t.Fatalf("the witness saw %d deliveries of %d events", len(msgs), len(ids))
	}
	for _, db := range dbs {
		waitVisits(t, db.dsn, len(ids))
		if out, err := joren(t, "sites", "--db", db.dsn, "zone", "paris-marais", "Europe/Paris"); err != nil {
			t.Fatalf("sites zone: %v: %s", err, out)
		}
	}
	recovered := map[string]int{}
	for name, o := range offices {
		if err := o.stop(); err != nil {
			t.Errorf("joren-office %s: %v", name, err)
		}
		for _, m := range regexp.MustCompile(`safety net stored visits its shared subscription had missed.* visits=(\d+)`).FindAllStringSubmatch(o.out.String(), -1) {
			n, _ := strconv.Atoi(m[1])
			recovered[strings.Split(name, "-")[0]] += n
		}
	}
	// How many events the broker's restart would have lost without the
	// groups' safety nets (mosquitto 2.0.11 forgets shared subscriptions).
	t.Logf("events recovered by the safety net: %v", recovered)
	for _, db := range dbs {
		out, err := joren(t, "report", "--db", db.dsn, "--from", "2026-10-31", "--to", "2027-01-01", "--csv")
		if err != nil {
			t.Fatalf("%s: report: %v: %s", db.name, err, out)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%s: report: %v:\n%s", db.name, err, out)
		}
		if got := strings.Join(rows[0], ","); got != "site,device,day,visits,new_visitors,returning,regular_visits" {
			t.Errorf("%s: header %q", db.name, got)
		}
		var got []string
		for _, r := range rows[1:] {
			got = append(got, strings.Join(r, ","))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the report differs from what the boxes decided:\n%s", db.name, diff(want, got))
		}
		if out, err := joren(t, "check", "--db", db.dsn); err != nil {
			t.Errorf("%s: check: %v: %s", db.name, err, out)
		}
		s, err := sqlstore.Open(ctx, db.dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.Devices(ctx)
		s.Close()
		if err != nil || len(ds) != 3 {
			t.Fatalf("%s: boxes %+v, %v", db.name, ds, err)
		}
		for _, d := range ds {
			if d.State != "offline" || d.Reason != "shutdown" {
				t.Errorf("%s: %s/%s is %s (%s), want offline after its shutdown", db.name, d.Site, d.Device, d.State, d.Reason)
			}
		}
	}
}

func sameDecision(a, b vocab.Decision) bool {
	return a.Visit == b.Visit && a.Visitor == b.Visitor && a.New == b.New && a.Regular == b.Regular &&
		a.BecameRegular == b.BecameRegular && a.Visits == b.Visits && a.Days == b.Days && a.Time.Equal(b.Time)
}

// waitDB waits until joren-office run has made the database.
func waitDB(t *testing.T, dsn string) {
	t.Helper()
	path := strings.TrimPrefix(dsn, "sqlite:")
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
		if err == nil {
			s.Close()
			if _, err := os.Stat(path); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no database %s: %v", dsn, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitVisits waits until the database holds n visits.
func waitVisits(t *testing.T, dsn string, n int) {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(60 * time.Second)
	var tot office.Totals
	for time.Now().Before(deadline) {
		if tot, err = s.Totals(context.Background()); err == nil && tot.Visits >= int64(n) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if tot.Visits != int64(n) {
		t.Fatalf("%s holds %d visits, want %d (%v)", dsn, tot.Visits, n, err)
	}
}

// diff lists the lines only in want (-) or only in got (+).
func diff(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	return b.String()
}
