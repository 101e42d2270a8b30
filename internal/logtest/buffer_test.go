package logtest

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// WaitFor returns as soon as another goroutine logs what it waits for,
// and gives up at its deadline otherwise; OnLine sees each line.
func TestWaitFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []string
		b := &Buffer{OnLine: func(l string) { seen = append(seen, l) }}
		log := b.Logger()
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Second)
			log.Debug("warming up")
			time.Sleep(time.Second)
			log.Info("ready", "addr", "127.0.0.1:80")
		})
		start := time.Now()
		if !b.WaitFor(time.Minute, func(l string) bool { return strings.Contains(l, "msg=ready") }) {
			t.Fatal("WaitFor gave up")
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("WaitFor returned after %v, want 2s (when the line was logged)", took)
		}
		if l := b.Line("msg=ready"); !strings.HasSuffix(l, "addr=127.0.0.1:80") {
			t.Errorf("Line: %q", l)
		}
		if b.Line("nothing like it") != "" {
			t.Error("Line found a line that was not logged")
		}
		wg.Wait()
		if len(seen) != 2 || !strings.Contains(seen[0], "level=DEBUG") {
			t.Errorf("OnLine saw %q", seen)
		}
		start = time.Now()
		if b.WaitFor(5*time.Second, func(l string) bool { return strings.Contains(l, "never") }) {
			t.Error("WaitFor found a line that was not logged")
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("WaitFor gave up after %v, want 5s", took)
		}
	})
}
