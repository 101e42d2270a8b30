//go:build cgo

package appliance

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vision/camera/cv"
	"joren/vocab"
)

// TestHealthClock: health reports the identity service's trust in the
// clock beside the kernel's synchronisation, with a "clock" problem while
// it does not trust it. A live camera's box reads the wall clock from the
// start: a store whose history is ahead of the clock (it was dated by a
// clock that ran ahead, or the clock was set back) is reported at once,
// before anyone walks in.
func TestHealthClock(t *testing.T) {
	cfg := testConfig(t)
	cfg.Camera.Source = "gst:videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=5/1"
	o := Options{Log: slog.New(slog.DiscardHandler), Version: "test", Notifier: &fakeNotifier{}, Camera: cv.Driver{}, Built: time.Now().AddDate(-1, 0, 0)}
	a, err := Open(cfg, o) // makes the store
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	// The store's history says it is a month from now.
	ahead := time.Now().AddDate(0, 1, 0)
	st, err := store.Open(filepath.Join(cfg.Device.DataDir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := identity.New(st, identity.Options{})
	if err == nil {
		err = svc.TrustClock(ahead)
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, err = Open(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var h vocab.Health
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if h = a.Health(); !h.Clock.Trusted || time.Now().After(deadline) {
			break
		}
	}
	p, ok := h.Problem("clock")
	if h.Clock.Trusted || !ok || h.Status != vocab.StatusDegraded || !strings.Contains(p.Reason, "it was set back") || !strings.Contains(h.Clock.Reason, p.Reason) {
		t.Errorf("a clock a month behind the store: %+v", h)
	}
	// The clock catches up with the store (as a person's confirmation or
	// a steady day would make it): healthy again.
	a.svc.ReadClock(ahead.Add(time.Minute))
	if h := a.Health(); !h.Clock.Trusted {
		t.Errorf("a clock back with the store: %+v", h.Clock)
	} else if _, ok := h.Problem("clock"); ok {
		t.Errorf("a clock problem while trusted: %+v", h.Problems)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
