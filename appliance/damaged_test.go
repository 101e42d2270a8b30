package appliance

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/appliance/config"
	"joren/cluster/store"
	"joren/internal/boltfile"
	"joren/internal/logtest"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vocab"
)

var toyModel = vocab.Model{Name: "toy", Digest: "0123456789abcdef", Dim: 4, Metric: vocab.Euclidean, Threshold: 1}

// damagedBox is an appliance, as far as opening its store and outbox goes,
// whose SD card damaged both: the store lost the second half of its file
// (it has a backup), the outbox its last pages.
func damagedBox(t *testing.T) (*Appliance, *logtest.Buffer, int) {
	t.Helper()
	cfg := config.Default()
	data := t.TempDir()
	cfg.Device = config.Device{ID: "door", Site: "shop", Timezone: "UTC", DataDir: data}
	cfg.Store.KeyFile = filepath.Join(t.TempDir(), "store.key")
	dir := filepath.Join(data, "store")

	// Weeks of visitors, a nightly pass (the backup), then more visitors.
	o := store.Options{Model: toyModel, Create: true, KeyFile: cfg.Store.KeyFile, Backup: true}
	st, err := store.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	put := func(from, to int) {
		err := st.Update(func(tx *store.Tx) error {
			for i := from; i < to; i++ {
				id, _ := tx.NewID()
				seen := time.Now().Add(-time.Duration(to-i) * time.Hour)
				rec := store.Identity{ID: id, Created: seen, LastSeen: seen, Visits: 1, TotalDays: 1, Days: []int32{int32(seen.Unix() / 86400)},
					Exemplars: []store.Exemplar{{Visit: fmt.Sprintf("v%d", i), Time: seen, Count: 1, Mean: []float32{float32(i), 1, 2, 3}}}}
				if err := tx.PutIdentity(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(0, 400)
	if _, _, err := st.Compact(); err != nil {
		t.Fatal(err)
	}
	put(400, 420)
	st.Close()
	path := filepath.Join(dir, store.FileName)
	info, _ := boltfile.Verify(path)
	os.Truncate(path, int64(info.Pages)*int64(info.PageSize)/2)

	box, err := outbox.Open(filepath.Join(data, publish.OutboxFile), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		box.Put([]outbox.Record{{ID: fmt.Sprint("e", i), Topic: "joren/shop/door/visit", Payload: []byte(strings.Repeat("x", 250))}}, nil)
	}
	box.Close()
	opath := filepath.Join(data, publish.OutboxFile)
	oinfo, _ := boltfile.Verify(opath)
	os.Truncate(opath, int64(oinfo.Pages-1)*int64(oinfo.PageSize))

	logs := &logtest.Buffer{}
	a := &Appliance{cfg: cfg, log: logs.Logger(), dataDir: data, model: toyModel, zone: time.UTC, o: Options{Version: "test"}}
	t.Cleanup(func() { a.Close() })
	return a, logs, 420
}

// TestDamagedFilesAtStart: a box whose store and outbox an SD card
// damaged starts anyway, on what could be saved (its visitors back from
// the damaged file and the backup), keeps the damaged files aside named
// with the time, says so in its log and its health, and counts them; the
// next start does not recover again.
func TestDamagedFilesAtStart(t *testing.T) {
	a, logs, visitors := damagedBox(t)
	if err := a.openStore(); err != nil {
		t.Fatalf("opening a damaged store: %v", err)
	}
	if err := a.openEvents(); err != nil {
		t.Fatalf("opening a damaged outbox: %v", err)
	}
	if n := a.svc.Len(); n < visitors*9/10 {
		t.Errorf("%d of %d visitors after the recovery", n, visitors)
	}
	if n := a.box.Len(); n < 150 {
		t.Errorf("%d of 200 events after the recovery", n)
	}
	kept := a.keptFiles()
	for _, key := range []string{"store", "outbox"} {
		if len(kept[key]) != 1 || !strings.Contains(kept[key][0].Path, ".damaged-") {
			t.Errorf("%s: kept %+v", key, kept[key])
		}
		if a.recovered.count(key) != 1 {
			t.Errorf("%s: %d recoveries counted", key, a.recovered.count(key))
		}
	}
	var h vocab.Health
	a.fileProblems(&h, time.Now())
	for _, key := range []string{"store", "outbox"} {
		p, ok := h.Problem(key)
		if !ok || !strings.Contains(p.Reason, "damaged") || !strings.Contains(p.Reason, "kept as") {
			t.Errorf("health of %s: %+v", key, p)
		}
		t.Logf("%s: %s", key, p.Reason)
	}
	if h.Status != vocab.StatusDegraded {
		t.Errorf("status %q with damaged files", h.Status)
	}
	for _, want := range []string{"the identity store is damaged", "the damaged outbox is kept aside"} {
		if logs.Line(want) == "" {
			t.Errorf("no log line %q", want)
		}
	}
	a.Close()

	// The next start opens the new files as they are, and still says a
	// damaged file was set aside.
	b := &Appliance{cfg: a.cfg, log: slog.New(slog.DiscardHandler), dataDir: a.dataDir, model: toyModel, zone: time.UTC, o: Options{Version: "test"}}
	defer b.Close()
	if err := b.openStore(); err != nil {
		t.Fatal(err)
	}
	if err := b.openEvents(); err != nil {
		t.Fatal(err)
	}
	if b.recovered.count("store")+b.recovered.count("outbox") != 0 {
		t.Error("recovered again at the next start")
	}
	var h2 vocab.Health
	b.fileProblems(&h2, time.Now())
	if p, ok := h2.Problem("store"); !ok || !strings.Contains(p.Reason, "set aside on") {
		t.Errorf("health at the next start: %+v", h2.Problems)
	}
	// A week later, that is history.
	var h3 vocab.Health
	b.fileProblems(&h3, time.Now().Add(damagedNotice+time.Hour))
	if len(h3.Problems) != 0 {
		t.Errorf("health a week later: %+v", h3.Problems)
	}
}

// A store damaged beyond salvage with no backup: the box still starts,
// with an empty store, and says what was lost.
func TestStoreLostEntirely(t *testing.T) {
	a, _, _ := damagedBox(t)
	dir := a.storeDir()
	os.Remove(filepath.Join(dir, store.BackupFile))
	os.WriteFile(filepath.Join(dir, store.FileName), []byte("zeros and garbage"), 0o600)
	if err := a.openStore(); err != nil {
		t.Fatalf("opening a store damaged beyond salvage: %v", err)
	}
	if a.svc.Len() != 0 {
		t.Errorf("%d visitors in a store made anew", a.svc.Len())
	}
	var h vocab.Health
	a.fileProblems(&h, time.Now())
	if p, ok := h.Problem("store"); !ok || !strings.Contains(p.Reason, "salvaged 0 visitors") {
		t.Errorf("health: %+v", h.Problems)
	}
}
