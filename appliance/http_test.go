//go:build cgo

package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"joren/appliance/config"
	"joren/appliance/control"
	"joren/internal/testenv"
	"joren/vision/camera/cv"
	"joren/vocab"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.Device = config.Device{ID: "t", Site: "s", Timezone: "UTC", DataDir: filepath.Join(t.TempDir(), "data"), Models: testenv.Models(t)}
	cfg.Camera = config.Camera{Source: testenv.Faces(t), FPS: 2}
	cfg.Store.KeyFile = ""
	cfg.Indicator = config.Indicator{Kind: "none"}
	cfg.Control.Socket = filepath.Join(t.TempDir(), "control.sock")
	return cfg
}

// While it runs, the appliance answers /healthz and /metrics on
// localhost.
func TestHealthAndMetrics(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Listen = freePort(t)
	// A live source that never ends: a folder of photos can be read
	// whole before the server answers its first request (CI did).
	cfg.Camera = config.Camera{Source: "gst:videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=10/1", FPS: 5}
	a, err := Open(cfg, Options{Log: slog.New(slog.DiscardHandler), Version: "test", Notifier: &fakeNotifier{}, Camera: cv.Driver{}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + cfg.HTTP.Listen
	// Poll both until they answer (the pipeline must have counted a
	// frame), Run ends, or a minute has passed.
	var health, metrics string
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for health == "" || metrics == "" {
		if r, err := http.Get(base + "/healthz"); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			// Wait for the camera to be counted as working: until the
			// first frame has been counted it is "starting".
			var h vocab.Health
			if r.StatusCode == http.StatusOK && json.Unmarshal(b, &h) == nil && h.Camera.State == vocab.CameraOK {
				health = string(b)
			}
		}
		if r, err := http.Get(base + "/metrics"); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if strings.Contains(string(b), "joren_frames_total ") && !strings.Contains(string(b), "joren_frames_total 0\n") {
				metrics = string(b)
			}
		}
		select {
		case <-tick.C:
		case err := <-done:
			t.Fatalf("Run ended (%v) before /healthz and /metrics both answered", err)
		case <-deadline:
			t.Fatalf("/healthz and /metrics did not both answer within a minute: %q, %q", health, metrics)
		}
	}
	// The commands reach the running service on its control socket.
	cl, err := control.Dial(context.Background(), cfg.Control.Socket)
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	if info, err := cl.Info(context.Background()); err != nil || info.Version != "test" || info.Store != cfg.StoreDir() {
		t.Errorf("control socket info: %+v %v", info, err)
	}
	if s, err := cl.Stats(context.Background()); err != nil || s.Dir != cfg.StoreDir() {
		t.Errorf("control socket stats: %+v %v", s, err)
	}
	cl.Close()
	if st, err := os.Stat(cfg.Control.Socket); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("control socket while running: %v %v", st, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.Close()
	if _, err := os.Stat(cfg.Control.Socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("control socket left after Close: %v", err)
	}
	var h vocab.Health
	if err := json.Unmarshal([]byte(health), &h); err != nil || h.Status != vocab.StatusOK || len(h.Problems) != 0 {
		t.Errorf("healthz: %q (%v)", health, err)
	}
	if h.Version != "test" || h.Camera.State != vocab.CameraOK || h.Camera.LastFrameAgeS > 30 || h.Broker.State != vocab.BrokerNone || h.Outbox.Max != cfg.Events.OutboxMax || h.Disk == nil || h.Disk.TotalBytes == 0 {
		t.Errorf("healthz: %+v", h)
	}
	for _, name := range []string{`joren_build_info{device="`, `version="test"}`, "joren_frames_dropped_total", "joren_outbox_pending", "joren_store_identities", "joren_store_bytes", "joren_last_frame_age_seconds", "joren_fps"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("metrics lack %s:\n%s", name, metrics)
		}
	}
}

// A control socket that cannot be made does not keep the door dark: the
// appliance opens, and its health says what is wrong.
func TestControlSocketProblem(t *testing.T) {
	cfg := testConfig(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	cfg.Control.Socket = filepath.Join(file, "control.sock")
	a, err := Open(cfg, Options{Notifier: &fakeNotifier{}, Camera: cv.Driver{}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.Health()
	if h.Status == vocab.StatusOK || !slices.ContainsFunc(h.Problems, func(p vocab.Problem) bool {
		return p.Key == "control.socket" && strings.Contains(p.Reason, "need the service stopped")
	}) {
		t.Errorf("health: %+v", h)
	}
}

// A wrong setting is reported by Open, naming the key to fix.
func TestOpenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pw := filepath.Join(t.TempDir(), "installer.password")
	os.WriteFile(pw, []byte("a long enough password\n"), 0o600)
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"models", func(c *config.Config) { c.Device.Models = t.TempDir() }, "device.models:"},
		{"camera", func(c *config.Config) { c.Camera.Source = filepath.Join(t.TempDir(), "none.avi") }, "camera.source:"},
		{"pin", func(c *config.Config) { c.Indicator = config.Indicator{Kind: "gpio", LED: "GPIO99"} }, "indicator.led:"},
		{"clock", func(c *config.Config) { c.Camera.Clock = filepath.Join(t.TempDir(), "none.json") }, "camera.clock:"},
		{"password", func(c *config.Config) { c.Events.Broker, c.Events.PasswordFile = "mqtt://127.0.0.1:1", "/nonexistent" }, "events.password_file:"},
		{"command key", func(c *config.Config) {
			c.Events.Broker, c.Events.Commands, c.Events.CommandKeyFile = "mqtt://127.0.0.1:1", true, filepath.Join(t.TempDir(), "none")
		}, "events.command_key_file:"},
		{"device secret", func(c *config.Config) {
			os.MkdirAll(filepath.Join(c.Device.DataDir, "device-secret"), 0o700) // a directory where the secret should be
		}, "device.data_dir:"},
		{"key directory", func(c *config.Config) { c.Store.KeyFile = filepath.Join(t.TempDir(), "gone", "store.key") }, "store.key_file:"},
		{"bad key", func(c *config.Config) {
			c.Store.KeyFile = filepath.Join(t.TempDir(), "store.key")
			os.WriteFile(c.Store.KeyFile, []byte("not a key\n"), 0o600)
		}, "store.key_file:"},
		{"mode", func(c *config.Config) { c.Store.Mode = "everyone" }, "store.mode:"},
		{"installer password", func(c *config.Config) {
			c.Installer = config.Installer{Enabled: true, Listen: "127.0.0.1:0", PasswordFile: filepath.Join(t.TempDir(), "none")}
		}, "installer.password_file:"},
		{"installer address in use", func(c *config.Config) {
			c.Installer = config.Installer{Enabled: true, Listen: busy.Addr().String(), PasswordFile: pw}
		}, "installer.listen:"},
		{"http address", func(c *config.Config) { c.HTTP.Listen = "localhost" }, "http.listen:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.edit(&cfg)
			a, err := Open(cfg, Options{Notifier: &fakeNotifier{}, Camera: cv.Driver{}})
			if err == nil {
				a.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}
