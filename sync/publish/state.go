package publish

import (
	"errors"
	"sync"
	"time"

	"joren/vocab"
)

// brokerState is the connection as Health reports it, set by deliver's
// goroutine and read by anyone.
type brokerState struct {
	mu sync.Mutex
	h  vocab.BrokerHealth
}

func (b *brokerState) set(state, reason string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h.State != state {
		b.h.Since = now
	}
	b.h.State, b.h.Reason = state, reason
}

func (b *brokerState) get() vocab.BrokerHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.h
}

// Broker says whether the broker is connected and, if not, why: what the
// box's page, /healthz and the stats event show.
func (p *Publisher) Broker() vocab.BrokerHealth {
	if p.offline {
		return vocab.BrokerHealth{State: vocab.BrokerNone, Reason: "no broker is configured (events.broker): events wait in the outbox"}
	}
	h := p.state.get()
	if h.State == "" {
		h.State = vocab.BrokerConnecting
	}
	return h
}

// connectionFailed records why a connection attempt failed.
func (p *Publisher) connectionFailed(err error) {
	state := vocab.BrokerConnecting
	var r RefusedError
	if errors.As(err, &r) {
		state = vocab.BrokerRefused
	}
	p.state.set(state, err.Error(), time.Now())
}
