//go:build cgo

package appliance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/cluster/store"
	"joren/sync/publish"
	"joren/vision/camera/cv"
	"joren/vocab"
)

// The real appliance on a data partition whose store and outbox are
// garbage: it opens, runs, and says on /healthz and /metrics what it set
// aside.
func TestDamagedFilesServed(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Listen = freePort(t)
	dir := filepath.Join(cfg.Device.DataDir, "store")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, store.FileName), []byte(strings.Repeat("damaged ", 2000)), 0o600)
	os.WriteFile(filepath.Join(cfg.Device.DataDir, publish.OutboxFile), nil, 0o600)
	a, err := Open(cfg, Options{Log: slog.New(slog.DiscardHandler), Version: "test", Notifier: &fakeNotifier{}, Camera: cv.Driver{}})
	if err != nil {
		t.Fatalf("opening on damaged files: %v", err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + cfg.HTTP.Listen
	get := func(path string) string {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if r, err := http.Get(base + path); err == nil {
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				return string(b)
			}
		}
		t.Fatalf("%s did not answer", path)
		return ""
	}
	var h vocab.Health
	if err := json.Unmarshal([]byte(get("/healthz")), &h); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"store", "outbox"} {
		if p, ok := h.Problem(key); !ok || !strings.Contains(p.Reason, "damaged") {
			t.Errorf("health lacks the damaged %s: %+v", key, h.Problems)
		}
	}
	metrics := get("/metrics")
	for _, want := range []string{`joren_file_recoveries_total{file="store"} 1`, `joren_file_recoveries_total{file="outbox"} 1`, `joren_damaged_files{file="store"} 1`, `joren_damaged_files{file="outbox"} 1`, "joren_store_backup_age_seconds -1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
