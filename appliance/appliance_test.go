//go:build cgo

package appliance

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"joren/appliance/config"
	"joren/cluster/month"
	"joren/cluster/store"
	"joren/device/pintest"
	"joren/internal/testenv"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/sync/schematest"
	"joren/vision/camera/cv"
	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
	"joren/vocab"
)

// fakeNotifier records what the service manager was told.
type fakeNotifier struct {
	mu                     sync.Mutex
	ready, alive, stopping int
}

func (f *fakeNotifier) Ready()    { f.mu.Lock(); f.ready++; f.mu.Unlock() }
func (f *fakeNotifier) Alive()    { f.mu.Lock(); f.alive++; f.mu.Unlock() }
func (f *fakeNotifier) Stopping() { f.mu.Lock(); f.stopping++; f.mu.Unlock() }
func (f *fakeNotifier) WatchdogInterval() time.Duration {
	return 2 * time.Second
}

// listFiles returns every file under dir (relative paths).
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// TestEndToEnd runs the appliance on a synthesised video of people
// passing a door over four simulated days, with the indicator on periph
// test pins and events to a real mosquitto: regulars light the indicator
// from their third distinct day on, the events match the decisions, and
// nothing is written to disk but the store, the outbox and the device
// secret.
func TestEndToEnd(t *testing.T) {
	work := t.TempDir()
	video := filepath.Join(work, "video", "door.avi")
	tr, err := doorsim.MakeVideo(context.Background(), testenv.Models(t), testenv.Faces(t), video,
		doorsim.Options{Days: 4, Regulars: 4, Together: -1, Seed: 7}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	videoFiles := listFiles(t, filepath.Dir(video))

	led, buzz := pintest.Register(t, "GPIO17", 17), pintest.Register(t, "GPIO27", 27)
	broker := mosquittotest.Start(t, mosquittotest.Options{})
	sub := broker.Subscribe(t, "head-office", "joren/#")

	// Everything the process might write to: its data, its temporary
	// folder, its working folder (this package's), its home.
	data := filepath.Join(work, "data")
	tmp, home := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("HOME", home)
	pkgBefore := listFiles(t, ".")

	cfg := config.Default()
	cfg.Device = config.Device{ID: "door-test", Site: "test-shop", Timezone: "Asia/Tokyo", DataDir: data, Models: testenv.Models(t)}
	cfg.Camera = config.Camera{Source: video, Clock: truth.Path(video)}
	// The key lives outside the data directory, as on the image.
	boot := filepath.Join(work, "boot")
	if err := os.Mkdir(boot, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Store.KeyFile = filepath.Join(boot, "store.key")
	cfg.Indicator = config.Indicator{Kind: "gpio", LED: "GPIO17", Buzzer: "GPIO27:low"}
	cfg.Events.Broker = broker.URL()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Control.Socket = filepath.Join(work, "run", "control.sock")
	// An installer watches the page while the video plays.
	const password = "aim the camera, then go"
	cfg.Installer = config.Installer{Enabled: true, Listen: freeAddr(t), PasswordFile: filepath.Join(boot, "installer-password"), OffAfterMinutes: 30}
	if err := os.WriteFile(cfg.Installer.PasswordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		decisions []vocab.Decision
		decidedAt []time.Time
	)
	notify := &fakeNotifier{}
	a, err := Open(cfg, Options{
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Version:  "test",
		Notifier: notify,
		Camera:   cv.Driver{},
		OnDecision: func(d vocab.Decision, _ vocab.Visit) {
			mu.Lock()
			decisions = append(decisions, d)
			decidedAt = append(decidedAt, time.Now())
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	watchCtx, stopWatching := context.WithCancel(ctx)
	watcher := &pageWatcher{}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchPage(watchCtx, cfg.Installer.Listen, password, watcher)
	}()
	err = a.Run(ctx)
	stopWatching()
	<-watched
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.Close()
	watcher.check(t, len(decisions))
	if notify.ready != 1 || notify.stopping != 1 {
		t.Errorf("service manager told ready %d times, stopping %d times", notify.ready, notify.stopping)
	}

	// Decisions against the video's truth.
	outcomes := Match(tr, decisions, cfg.Regular.Days)
	score, err := month.Measure(outcomes)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passages: %d decided, %d with the right regular status; %s; %d decisions in all", score.Visits, score.Decided, score.Right, score, len(decisions))
	for _, o := range outcomes {
		t.Logf("%s %-9s distinct day %d: missed %v regular %v (want %v) days %d", o.Time.Format(time.DateOnly), o.Person, o.Day, o.Missed, o.Regular, o.WantRegular, o.Days)
	}
	if score.Decided < score.Visits*9/10 {
		t.Errorf("only %d of %d passages decided", score.Decided, score.Visits)
	}
	if score.Right < score.Visits*8/10 {
		t.Errorf("regular status right for only %d of %d passages", score.Right, score.Visits)
	}
	if score.Regulars < 3 {
		t.Fatalf("the video has %d people who should become regulars, want at least 3", score.Regulars)
	}
	// Nobody is called a regular before their third day; most regulars
	// are recognised on exactly that day. (The video shows different
	// photos of a person on different days, harder than one person at a
	// real door: dlib sometimes takes two photos of one woman for two
	// people, who then never reach three days.)
	onTime := 0
	for p, day := range score.FirstRegular {
		switch {
		case day == cfg.Regular.Days:
			onTime++
		case day != 0:
			t.Errorf("%s was first shown as a regular on their distinct day %d, want %d", p, day, cfg.Regular.Days)
		}
	}
	for _, o := range outcomes {
		if !o.Missed && o.Regular && !o.WantRegular {
			t.Errorf("%s shown as a regular on their distinct day %d", o.Person, o.Day)
		}
	}
	if onTime*3 < score.Regulars*2 {
		t.Errorf("only %d of %d regulars were recognised on their day %d", onTime, score.Regulars, cfg.Regular.Days)
	}

	// The indicator: the LED lit once at start (the lamp test), three
	// times for the installer page's "Test the light", then for each
	// decision about a regular (three blinks) with the active-low buzzer;
	// no other decision lit it.
	lit := 0
	for _, d := range decisions {
		if d.Regular && d.Staff == "" {
			lit++
		}
	}
	// The video plays faster than real time, so a regular's pattern may
	// find another waiting and be merged into it (the indicator never
	// queues more than one); each such merge is one fewer three-blink
	// pattern, and the indicator counts them. How many merge depends on
	// how fast the machine plays the video (a third on a busy one, half on
	// an idle one): every request is played or merged, and the regulars'
	// own patterns are played.
	merged := a.ind.Coalesced()
	t.Logf("indicator: %d patterns played, %d requests merged", a.ind.Played(), merged)
	if requests := 1 + 1 + lit; a.ind.Played()+merged != requests || merged >= lit {
		t.Errorf("%d patterns played and %d merged of %d requests (the lamp test, the page's test, %d regulars)", a.ind.Played(), merged, requests, lit)
	}
	if rises := led.Rises(); rises != 1+3*(1+lit-merged) {
		t.Errorf("LED lit %d times for %d decisions about regulars (%d merged), want the lamp test, the page's test and three blinks each", rises, lit, merged)
	}
	beeps := 0
	for i, c := range buzz.Levels() {
		if c.Level == false && i > 0 { // active low: low is sound
			beeps++
		}
	}
	if lit > 0 && beeps == 0 {
		t.Error("the buzzer never sounded")
	}
	if l := led.Levels(); len(l) > 0 && l[len(l)-1].Level != false {
		t.Error("the LED was left on at shutdown")
	}

	// Head office got one event per decision, matching it, and nothing
	// that identifies the person.
	msgs, _ := sub.WaitFor(20*time.Second, func(m []mosquittotest.Message) bool {
		return countTopic(m, "/visit") >= len(decisions) && strings.Contains(string(m[len(m)-1].Payload), `"reason":"shutdown"`)
	})
	var events []event.Visit
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/visit") {
			continue
		}
		var v event.Visit
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatal(err)
		}
		for _, forbidden := range []string{"descriptor", `"visit"`, "visitor_id"} {
			if strings.Contains(string(m.Payload), forbidden) {
				t.Errorf("event carries %s: %s", forbidden, m.Payload)
			}
		}
		events = append(events, v)
	}
	if len(events) != len(decisions) {
		t.Fatalf("%d events for %d decisions", len(events), len(decisions))
	}
	sort.Slice(events, func(i, j int) bool { return events[i].ID < events[j].ID })
	sort.Slice(decisions, func(i, j int) bool { return decisions[i].Time.Before(decisions[j].Time) })
	tokyo, _ := time.LoadLocation(cfg.Device.Timezone)
	var decided event.Counts
	for i, d := range decisions {
		e := events[i]
		if !e.Time.Equal(d.Time.Truncate(time.Second)) || e.Visits != d.Visits || e.Days != d.Days || e.Regular != d.Regular ||
			e.BecameRegular != d.BecameRegular || (e.Kind == event.New) != d.New || e.Visitor == d.Visitor {
			t.Errorf("event %d %+v does not match decision %+v", i, e, d)
		}
		// The shop's day and offset, from device.timezone.
		if e.Day != d.Time.In(tokyo).Format(time.DateOnly) || e.UTCOffset != "+09:00" {
			t.Errorf("event %d on %s %s, decided at %s", i, e.Day, e.UTCOffset, d.Time.In(tokyo))
		}
		decided.Add(e)
	}

	// Every message is valid; the status and stats carry the box's
	// health, and at shutdown the last stats count every decision before
	// the status says offline.
	schema := schematest.New(t)
	var (
		lastStats event.Stats
		statuses  []event.Status
	)
	for _, m := range msgs {
		kind := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
		if err := schema.Validate(kind, m.Payload); err != nil {
			t.Errorf("%s: %v: %s", m.Topic, err, m.Payload)
		}
		switch kind {
		case "stats":
			lastStats = event.Stats{}
			json.Unmarshal(m.Payload, &lastStats)
		case "status":
			var s event.Status
			json.Unmarshal(m.Payload, &s)
			statuses = append(statuses, s)
		}
	}
	if lastStats.Total != decided || lastStats.Health == nil || lastStats.Health.Camera == nil || lastStats.Version != "test" || lastStats.UTCOffset != "+09:00" {
		t.Errorf("last stats %+v (health %+v), want total %+v", lastStats, lastStats.Health, decided)
	}
	if len(statuses) < 2 || statuses[0].Health == nil || statuses[0].Health.Camera == nil || statuses[0].Health.Clock == nil || statuses[0].Health.Broker.State != vocab.BrokerConnected {
		t.Errorf("birth status %+v", statuses)
	} else if off := statuses[len(statuses)-1]; off.State != event.Offline || off.Reason != "shutdown" || off.Health == nil || off.Health.Camera == nil {
		t.Errorf("last status %+v, want offline at shutdown with the box's health", off)
	}

	// The store is encrypted with the key made on first start.
	if fi, err := os.Stat(cfg.Store.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store key: %v, mode %v; want a file only its owner reads", err, fi.Mode())
	}
	if st, err := store.Open(filepath.Join(data, "store"), store.Options{ReadOnly: true}); err == nil {
		st.Close()
		t.Error("the store opened without its key")
	} else if !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("opening the store without its key: %v, want it to say the store is encrypted", err)
	}

	// Nothing on disk but the store (with its backup and its list of
	// the keys deleted since the last compaction: docs/privacy.md), the
	// outbox and the device secret.
	want := []string{"device-secret", "outbox.db"}
	for _, f := range []string{store.FileName, store.BackupFile, store.FileName + ".erased"} {
		want = append(want, filepath.Join("store", f))
	}
	if got := listFiles(t, data); !slices.Equal(got, want) {
		t.Errorf("data directory holds %v", got)
	}
	for name, dir := range map[string]string{"TMPDIR": tmp, "HOME": home} {
		if got := listFiles(t, dir); len(got) > 0 {
			t.Errorf("%s holds %v", name, got)
		}
	}
	if got := listFiles(t, "."); !slices.Equal(got, pkgBefore) {
		t.Errorf("the working folder changed: %v, was %v", got, pkgBefore)
	}
	if got := listFiles(t, filepath.Dir(video)); !slices.Equal(got, videoFiles) {
		t.Errorf("the video's folder changed: %v", got)
	}
}

func countTopic(ms []mosquittotest.Message, suffix string) int {
	n := 0
	for _, m := range ms {
		if strings.HasSuffix(m.Topic, suffix) {
			n++
		}
	}
	return n
}

// testWriter sends the appliance's log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
