package appliance

import (
	"context"
	"errors"
	"fmt"
	"joren/vocab"
	"sync"
	"time"
)

// Forgetter deletes an identity and everything stored about it: the
// identity store.
type Forgetter interface {
	Forget(ctx context.Context, visitor string) error
}

// ForgetLast is the staff button's action: forget the customer who just
// came in, for the customer at the counter who asks not to be remembered. It watches decisions (Observe) and remembers the last
// customer's internal id for a short window; staff are never the "last
// visitor".
type ForgetLast struct {
	store  Forgetter
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	last   string
	seenAt time.Time
}

// NewForgetLast forgets through store a visitor seen at most window ago
// (default 2 minutes: the customer is still at the counter).
func NewForgetLast(store Forgetter, window time.Duration) *ForgetLast {
	if window <= 0 {
		window = 2 * time.Minute
	}
	return &ForgetLast{store: store, window: window, now: time.Now}
}

// Observe records decision d. It never blocks for long.
func (f *ForgetLast) Observe(d vocab.Decision) {
	if d.Staff != "" || d.Visitor == "" {
		return
	}
	f.mu.Lock()
	f.last, f.seenAt = d.Visitor, f.now()
	f.mu.Unlock()
}

// Drop forgets visitor as the last customer seen: they were forgotten
// another way (the page), and a press must not act on them.
func (f *ForgetLast) Drop(visitor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == visitor {
		f.last = ""
	}
}

// ErrNobody means there is no recent visitor to forget.
var ErrNobody = errors.New("no visitor in the last moments to forget")

// Do forgets the last visitor, once.
func (f *ForgetLast) Do(ctx context.Context) error {
	f.mu.Lock()
	v, at := f.last, f.seenAt
	if v == "" || f.now().Sub(at) > f.window {
		f.mu.Unlock()
		return fmt.Errorf("%w (window %s)", ErrNobody, f.window)
	}
	f.last = ""
	f.mu.Unlock()
	if err := f.store.Forget(ctx, v); err != nil {
		// Put it back: another press may succeed.
		f.mu.Lock()
		if f.last == "" {
			f.last, f.seenAt = v, at
		}
		f.mu.Unlock()
		return fmt.Errorf("forgetting the last visitor: %w", err)
	}
	return nil
}
