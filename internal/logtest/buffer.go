package logtest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Buffer collects log lines. The zero value is ready to use.
type Buffer struct {
	// OnLine, if set, sees each line as it is written, in the goroutine
	// that logs it (before the logging call returns). Set it before the
	// component starts logging.
	OnLine func(line string)

	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed at the next write; nil: nobody waits
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.OnLine != nil {
		b.OnLine(string(p))
	}
	if b.wrote != nil {
		close(b.wrote)
		b.wrote = nil
	}
	return b.b.Write(p)
}

// String returns everything logged so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Logger returns a text logger writing to b, debug messages included.
func (b *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Line returns the first line logged that contains s, or "".
func (b *Buffer) Line(s string) string {
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// WaitFor waits up to timeout for the log to satisfy cond, checking it
// at once and after each write; it reports whether it did.
func (b *Buffer) WaitFor(timeout time.Duration, cond func(log string) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		if cond(b.b.String()) {
			b.mu.Unlock()
			return true
		}
		if b.wrote == nil {
			b.wrote = make(chan struct{})
		}
		wrote := b.wrote
		b.mu.Unlock()
		select {
		case <-wrote:
		case <-deadline.C:
			return false
		}
	}
}
