package appliance

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/appliance/config"
	"joren/appliance/installer"
	"joren/vocab"
)

// linkedConfig writes a configuration as on the image, /etc/joren.yaml a
// link to the data partition's file, and returns the link and the file.
func linkedConfig(t *testing.T, text string) (link, file string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "data", "joren.yaml")
	link = filepath.Join(dir, "etc", "joren.yaml")
	os.MkdirAll(filepath.Dir(file), 0o755)
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.WriteFile(file, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	return link, file
}

// The page's settings: a change with a problem is refused with the
// configuration's own error and leaves the file alone; a good one is
// written to the file behind the link (the link, the comments and the
// mode kept) and restarts joren.
func TestConfigure(t *testing.T) {
	const text = "# the shop\ndevice:\n  site: shibuya-1 # as head office knows it\nregular:\n  days: 3\n"
	link, file := linkedConfig(t, text)
	a := &Appliance{o: Options{ConfigFile: link}, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := a.restartable(context.Background())
	defer cancel()

	err := a.configure([]config.Override{{Key: "regular.window_days", Value: "2"}})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Problems[0].Key != "regular.window_days" {
		t.Fatalf("a window shorter than the days: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != text {
		t.Errorf("a refused change wrote the file:\n%s", b)
	}
	if err := a.configure([]config.Override{{Key: "device.site", Value: "shibuya-2"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "site: shibuya-2 # as head office knows it") || !strings.Contains(string(b), "# the shop") {
		t.Errorf("the configuration after the change:\n%s", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 as before", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("files left beside the configuration: %v", entries)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Error("joren was not restarted to apply the change")
	}
}

// What provisioning rejected is in the health, with its reason and time,
// found beside the file the configuration's link points to.
func TestRejectedConfig(t *testing.T) {
	link, file := linkedConfig(t, "device:\n  site: a\n")
	a := &Appliance{o: Options{ConfigFile: link}}
	var h vocab.Health
	a.rejectedConfig(&h)
	if len(h.Problems) != 0 {
		t.Fatalf("problems without a rejection: %+v", h.Problems)
	}
	why := "joren/joren.yaml on the card's CONFIG partition was not installed:\njoren/joren.yaml:4: store: unknown key \"retention_dayz\"\n"
	if err := os.WriteFile(file+RejectedSuffix, []byte(why), 0o644); err != nil {
		t.Fatal(err)
	}
	a.rejectedConfig(&h)
	p, ok := h.Problem("config")
	if !ok || !strings.Contains(p.Reason, `unknown key "retention_dayz"`) || !strings.Contains(p.Reason, "previous configuration") || p.Since.IsZero() || h.Status != vocab.StatusDegraded {
		t.Errorf("health %+v", h)
	}
}

// The page turns itself off; TurnPageOn (the button, head office) turns it
// on again on the same address, for another round. A press right after the
// page stopped answering is not lost, even while the page is still shutting
// down (CI once lost it that way under qemu).
func TestTurnPageOn(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	srv, err := installer.New(installer.Options{PasswordFile: pw, OffAfter: 1500 * time.Millisecond, Live: installer.NewLive(installer.LiveOptions{}),
		Status: pageStatus{}, Pseudonym: func(vocab.Decision) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	a := &Appliance{log: slog.New(slog.DiscardHandler), page: srv, pageOn: make(chan string, 1)}
	a.cfg.Installer.Listen = "127.0.0.1:0"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	a.cfg.Installer.Listen, a.pageLn = addr, ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.servePage(ctx) }()
	up := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if c != nil {
				c.Close()
			}
			if (err == nil) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page is not %s", map[bool]string{true: "on", false: "off"}[want])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	up(true)
	if err := a.TurnPageOn("a press while on"); err != nil || len(a.pageOn) != 0 {
		t.Fatalf("a press while the page is on was queued (%v): it would turn the page on again as soon as it is off", err)
	}
	up(false) // turned itself off
	if srv.On() {
		t.Fatal("the page refuses connections but says it is on")
	}
	if err := a.TurnPageOn("the test"); err != nil {
		t.Fatal(err)
	}
	up(true)
	up(false)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := (&Appliance{}).TurnPageOn("x"); !errors.Is(err, ErrNoPage) {
		t.Errorf("turning on a box without a page: %v", err)
	}
}
