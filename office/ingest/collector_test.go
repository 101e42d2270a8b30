package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"joren/office"
	"joren/office/ingest"
	"joren/office/pgtest"
	"joren/office/sqlstore"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/vocab"
)

// headOffice is how head office's broker must be configured: no bound on
// the queue of a persistent session (mosquitto's default drops QoS 1
// messages beyond 1,000), a wider in-flight window than 20.
var headOffice = mosquittotest.Options{Config: []string{"max_queued_messages 0", "max_inflight_messages 200"}}

func openStore(t *testing.T, dsn string) office.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqlite(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "office.db") }

type running struct {
	c      *ingest.Collector
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// start runs a collector until stop or the test's end.
func start(t *testing.T, cfg ingest.Config) *running {
	t.Helper()
	r := &running{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	cfg.Metrics = ingest.NewMetrics(r.reg)
	c, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(r.stop)
	deadline := time.Now().Add(10 * time.Second)
	for !c.State().Connected {
		if time.Now().After(deadline) {
			t.Fatal("the collector did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The subscription follows the connection: give it a moment.
	time.Sleep(200 * time.Millisecond)
	return r
}

func (r *running) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// box makes a box's real visit events (sync/event).
type box struct {
	maker *event.Maker
	n     int
}

func newBox(t *testing.T, site, device string) *box {
	t.Helper()
	// Each box has its own secret, hence its own event ids.
	secret := make(event.Secret, 32)
	copy(secret, site+"/"+device)
	m, err := event.NewMaker(event.Config{Device: device, Site: site, Secret: secret, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return &box{maker: m}
}

func (b *box) visit(t *testing.T) (topic string, payload []byte) {
	t.Helper()
	b.n++
	d := vocab.Decision{
		Visit: fmt.Sprintf("v%05d", b.n), Visitor: fmt.Sprintf("p%d", b.n%7), Time: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC).Add(time.Duration(b.n) * time.Minute),
		New: b.n%3 == 0, Visits: 1 + b.n%4, Days: 1 + b.n%3, Regular: b.n%5 == 0, Confidence: 0.8,
	}
	v, err := b.maker.Visit(d)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(v)
	return "joren/" + v.Site + "/" + v.Device + "/visit", p
}

func publisher(t *testing.T, b *mosquittotest.Broker) paho.Client {
	t.Helper()
	o := b.ClientOptions(fmt.Sprintf("pub-%d", time.Now().UnixNano()))
	o.SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, payload []byte, retained bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// visits counts the stored visits (-1 when the database cannot say: the
// first query on a connection to a restarted server fails).
func visits(t *testing.T, s office.Store) int64 {
	t.Helper()
	tot, err := s.Totals(context.Background())
	if err != nil {
		t.Logf("counting: %v", err)
		return -1
	}
	return tot.Visits
}

func TestCollect(t *testing.T) {
	b := mosquittotest.Start(t, headOffice)
	pub := publisher(t, b)
	// The retained status published before the collector exists reaches it.
	publish(t, pub, "joren/shop-1/door-1/status", []byte(`{"schema":1,"state":"online","device":"door-1","site":"shop-1","time":"2026-11-03T08:00:00Z","version":"v1.2.0","uptime_s":5}`), true)
	s := openStore(t, sqlite(t))
	r := start(t, ingest.Config{Broker: b.URL(), Store: s, ClientID: "office-test"})
	bx := newBox(t, "shop-1", "door-1")
	var sent [][2]string
	for range 20 {
		topic, p := bx.visit(t)
		sent = append(sent, [2]string{topic, string(p)})
		publish(t, pub, topic, p, false)
	}
	for _, m := range sent[:5] { // redelivered: counted once
		publish(t, pub, m[0], []byte(m[1]), false)
	}
	publish(t, pub, "joren/shop-1/door-1/visit", []byte("not json"), false)
	publish(t, pub, "joren/shop-1/door-1/stats", []byte(`{"schema":1,"device":"door-1","site":"shop-1","time":"2026-11-03T09:30:00Z","since":"2026-11-03T08:00:00Z","uptime_s":5400,
"day":"2026-11-03","today":{"visits":20,"new":6,"returning":14,"regulars":4,"became_regular":0},"total":{"visits":20,"new":6,"returning":14,"regulars":4,"became_regular":0},
"outbox":{"pending":0,"delivered":20,"dropped":0},"commands":{"received":0,"rejected":0}}`), false)
	waitFor(t, "20 visits, the quarantined message and the stats", func() bool {
		ds, _ := s.Devices(context.Background())
		q, _, _ := s.Quarantine(context.Background(), 5)
		return visits(t, s) == 20 && len(q) == 1 && len(ds) == 1 && ds[0].StatsVisits == 20
	})
	ds, _ := s.Devices(context.Background())
	if d := ds[0]; d.State != "online" || d.Version != "v1.2.0" || d.OfficeVisits != 20 || d.StatsDay != "2026-11-03" {
		t.Errorf("box %+v", d)
	}
	q, _, _ := s.Quarantine(context.Background(), 5)
	if !strings.Contains(q[0].Reason, "not JSON") || string(q[0].Payload) != "not json" {
		t.Errorf("quarantined %+v", q[0])
	}
	waitFor(t, "the collector's counts", func() bool { st := r.c.State(); return st.Stored == 20 && st.Quarantined == 1 })
	if got := testutil.ToFloat64(metric(t, r.reg, "joren_office_visits_total", "result", "duplicate")); got != 5 {
		t.Errorf("duplicates counted: %v, want 5", got)
	}
	waitFor(t, "the collector's counts", func() bool { st := r.c.State(); return st.Stored == 20 && st.Quarantined == 1 })
	if st := r.c.State(); st.Stored != 20 || st.Quarantined != 1 || st.LastCommit.IsZero() {
		t.Errorf("state %+v", st)
	}
	// The box goes: its last will (retained) says so.
	publish(t, pub, "joren/shop-1/door-1/status", []byte(`{"schema":1,"state":"offline","reason":"connection lost","device":"door-1","site":"shop-1","uptime_s":0}`), true)
	waitFor(t, "the box offline", func() bool {
		ds, _ := s.Devices(context.Background())
		return ds[0].State == "offline" && ds[0].Reason == "connection lost"
	})
}

// metric finds one series of a registry's metric family.
func metric(t *testing.T, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
					g.Set(m.GetCounter().GetValue())
					return g
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return nil
}

// While the database is away nothing is acknowledged: a collector stopped
// then, and started again once the database is back, stores every event.
func TestDatabaseAway(t *testing.T) {
	b := mosquittotest.Start(t, headOffice)
	pub := publisher(t, b)
	pg := pgtest.Start(t, pgtest.Options{})
	s := openStore(t, pg.NewDatabase(t))
	cfg := ingest.Config{Broker: b.URL(), Store: s, ClientID: "office-pg"}
	r := start(t, cfg)
	bx := newBox(t, "shop-1", "door-1")
	for range 10 {
		topic, p := bx.visit(t)
		publish(t, pub, topic, p, false)
	}
	waitFor(t, "10 visits", func() bool { return visits(t, s) == 10 })
	pg.Stop()
	for range 30 {
		topic, p := bx.visit(t)
		publish(t, pub, topic, p, false)
	}
	waitFor(t, "a failed write", func() bool {
		return testutil.ToFloat64(errorsOf(t, r.reg)) > 0
	})
	r.stop()
	pg.Restart()
	if n := visits(t, s); n != 10 {
		t.Fatalf("%d visits stored while the database was away", n)
	}
	start(t, cfg)
	waitFor(t, "the 30 visits held by the broker", func() bool { return visits(t, s) == 40 })
}

func errorsOf(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	mfs, _ := reg.Gather()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() == "joren_office_write_errors_total" {
			g.Set(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	return g
}

// Two collectors of one group share the load: each message reaches one
// of them, nothing is stored twice.
func TestGroup(t *testing.T) {
	b := mosquittotest.Start(t, headOffice)
	pub := publisher(t, b)
	dsn := sqlite(t)
	s1, s2 := openStore(t, dsn), openStore(t, dsn)
	r1 := start(t, ingest.Config{Broker: b.URL(), Store: s1, Group: "office", ClientID: "office-1"})
	r2 := start(t, ingest.Config{Broker: b.URL(), Store: s2, Group: "office", ClientID: "office-2"})
	const n = 300
	boxes := []*box{newBox(t, "shop-1", "door-1"), newBox(t, "shop-1", "door-2"), newBox(t, "shop-2", "door-1")}
	for i := range n {
		topic, p := boxes[i%3].visit(t)
		publish(t, pub, topic, p, false)
	}
	waitFor(t, "every visit", func() bool {
		if visits(t, s1) == n {
			return true
		}
		t.Logf("stored %d: %+v %+v", visits(t, s1), r1.c.State(), r2.c.State())
		return false
	})
	// The counters move just after the commit the count above saw.
	waitFor(t, "the collectors' counts", func() bool { return r1.c.State().Stored+r2.c.State().Stored == n })
	a, c := r1.c.State().Stored, r2.c.State().Stored
	if a == 0 || c == 0 || a+c != n {
		t.Errorf("stored %d + %d, want both > 0 and %d in all", a, c, n)
	}
	got := testutil.ToFloat64(metric(t, r1.reg, "joren_office_messages_total", "outcome", "visit")) +
		testutil.ToFloat64(metric(t, r2.reg, "joren_office_messages_total", "outcome", "visit"))
	if got != n {
		t.Errorf("the group received %v visit messages, want each of the %d once", got, n)
	}
	if m, err := s1.Check(context.Background(), office.Range{From: "2026-01-01", To: "2026-12-31"}); err != nil || len(m) > 0 {
		t.Errorf("rollups: %v, %v", m, err)
	}
}

// A message the database refuses is quarantined alone; the rest of its
// batch is stored.
func TestRefusedByDatabase(t *testing.T) {
	b := mosquittotest.Start(t, headOffice)
	pub := publisher(t, b)
	pg := pgtest.Start(t, pgtest.Options{})
	s := openStore(t, pg.NewDatabase(t))
	start(t, ingest.Config{Broker: b.URL(), Store: s, ClientID: "office-pg", Linger: 300 * time.Millisecond})
	bx := newBox(t, "shop-1", "door-1")
	for i := range 6 {
		if i == 3 {
			// Valid JSON and schema; PostgreSQL text cannot hold NUL.
			publish(t, pub, "joren/shop-1/door-1/status", []byte(`{"schema":1,"state":"online","device":"door-1","site":"shop-1","version":"v1\u0000","uptime_s":1}`), false)
		}
		topic, p := bx.visit(t)
		publish(t, pub, topic, p, false)
	}
	waitFor(t, "6 visits and the refused message quarantined", func() bool {
		q, _, _ := s.Quarantine(context.Background(), 5)
		return visits(t, s) == 6 && len(q) == 1
	})
	q, _, _ := s.Quarantine(context.Background(), 5)
	if !strings.Contains(q[0].Reason, "the database refused it") || q[0].Topic != "joren/shop-1/door-1/status" {
		t.Errorf("quarantined %+v", q[0])
	}
}

func TestRefusedByBroker(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"office": "right"}})
	c, err := ingest.New(ingest.Config{Broker: b.URL(), Username: "office", Password: "wrong", Store: openStore(t, sqlite(t))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Run(ctx); err == nil || !strings.Contains(err.Error(), `refused user "office"`) {
		t.Errorf("Run: %v", err)
	}
	if _, err := ingest.New(ingest.Config{Broker: "mqtt://h", Store: openStore(t, sqlite(t)), Group: "a/b"}); err == nil || !strings.Contains(err.Error(), "group name") {
		t.Errorf("a group with a slash: %v", err)
	}
}

// The broker forgets shared subscriptions when it restarts (Debian 12's
// mosquitto 2.0.11): events published before the group subscribes again
// reach no member. The group's safety net stores them.
func TestSafetyNet(t *testing.T) {
	b := mosquittotest.Start(t, headOffice)
	pub := publisher(t, b)
	s := openStore(t, sqlite(t))
	r := start(t, ingest.Config{Broker: b.URL(), Store: s, Group: "office", ClientID: "office-1", NetEvery: time.Second})
	bx := newBox(t, "shop-1", "door-1")
	for range 300 {
		topic, p := bx.visit(t)
		publish(t, pub, topic, p, false)
	}
	waitFor(t, "300 visits", func() bool { return visits(t, s) == 300 })
	// The group is away while the broker restarts; the boxes go on.
	r.stop()
	b.Stop()
	b.Restart()
	for range 300 {
		topic, p := bx.visit(t)
		publish(t, pub, topic, p, false)
	}
	r = start(t, ingest.Config{Broker: b.URL(), Store: s, Group: "office", ClientID: "office-1", NetEvery: time.Second})
	waitFor(t, "600 visits", func() bool { return visits(t, s) == 600 })
	// mosquitto 2.0.11 forgets the shared subscription: the net stores
	// all 300; a broker that keeps it would leave the net nothing to do.
	// (The counters move just after the commit the count above saw.)
	waitFor(t, "the 300 counted as recovered", func() bool { return r.c.State().Recovered == 300 })
}
