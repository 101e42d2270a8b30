package appliance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"joren/vocab"
)

// forgetStore stands in for the identity store's Forget: ForgetLast's
// window and retry rules are the subject here, not the store.
type forgetStore struct {
	mu     sync.Mutex
	forgot []string
	fail   error
}

func (s *forgetStore) Forget(_ context.Context, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.forgot = append(s.forgot, v)
	return nil
}

func TestForgetLast(t *testing.T) {
	s := &forgetStore{}
	f := NewForgetLast(s, time.Minute)
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	ctx := context.Background()

	if err := f.Do(ctx); !errors.Is(err, ErrNobody) {
		t.Errorf("nobody seen: %v", err)
	}
	f.Observe(vocab.Decision{Visitor: "id-1"})
	f.Observe(vocab.Decision{Visitor: "id-2"})
	f.Observe(vocab.Decision{Staff: "Mina"}) // staff are never "the last visitor"
	if err := f.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Do(ctx); !errors.Is(err, ErrNobody) {
		t.Errorf("a second press forgot again: %v", err)
	}
	if len(s.forgot) != 1 || s.forgot[0] != "id-2" {
		t.Errorf("forgot %v, want [id-2]", s.forgot)
	}
	// Too long ago: the customer has left; nothing is deleted.
	f.Observe(vocab.Decision{Visitor: "id-3"})
	now = now.Add(2 * time.Minute)
	if err := f.Do(ctx); !errors.Is(err, ErrNobody) || !strings.Contains(err.Error(), "window 1m0s") {
		t.Errorf("stale visitor: %v", err)
	}
	// A failing store keeps the visitor for another press.
	f.Observe(vocab.Decision{Visitor: "id-4"})
	s.fail = errors.New("store is busy")
	if err := f.Do(ctx); err == nil || !strings.Contains(err.Error(), "store is busy") {
		t.Errorf("failing store: %v", err)
	}
	s.fail = nil
	if err := f.Do(ctx); err != nil || s.forgot[len(s.forgot)-1] != "id-4" {
		t.Errorf("retry after failure: %v %v", err, s.forgot)
	}
}
