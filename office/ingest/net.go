package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The group's safety net.
//
// A shared subscription spreads the messages over the group, but a broker
// may not keep shared subscriptions across its own restart: Debian 12's
// mosquitto 2.0.11 restores a persistent session after a restart without
// its shared subscriptions, so the events the boxes publish before the
// collectors subscribe again (or while they are all away) reach nobody and
// are lost: the boxes, having had them acknowledged, removed them from
// their outboxes. A non-shared subscription of a persistent session is
// restored, and queues.
//
// So a group also keeps one non-shared persistent session, the net
// (client id joren-office-GROUP-net), subscribed to the visits and stats.
// Nobody stays connected to it: the broker queues every message for it.
// Every NetEvery (with jitter) one member connects as the net, publishes a
// marker to the net's own topic (queued behind everything the net holds),
// and stores what comes before its marker the usual way, not before
// netHold after it connected, so that the shared subscription has stored
// its copies first: the store ignores what it already has, and what it
// stores is what the group missed (counted as recovered). Then the member
// acknowledges and leaves; what came after the marker waits for the next
// turn. Members need no coordination: a member connecting as the net takes
// the session over, and what the first had not acknowledged comes to it.
// The cost is a second delivery of every message and an insert that finds
// its id stored.

// netHold is how long after connecting the net stores its first batch.
const netHold = 2 * time.Second

// netClientID is the client id of group's safety net.
func netClientID(group string) string { return "joren-office-" + group + "-net" }

// netMarker is the topic of the net's markers.
func netMarker(group string) string { return "joren-office/" + group + "/net-marker" }

// net drains the safety net at start and then every NetEvery, with
// jitter so that members seldom meet on it.
func (c *Collector) net(ctx context.Context) error {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if err := c.drain(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("could not drain the group's safety net; trying again later", "error", err)
		}
		wait = c.cfg.NetEvery/2 + mrand.N(c.cfg.NetEvery)
	}
}

// drain connects as the net and stores what it held before the marker.
func (c *Collector) drain(ctx context.Context) error {
	start := time.Now()
	var nonce [8]byte
	rand.Read(nonce[:])
	marker := hex.EncodeToString(nonce[:])
	in := make(chan message, 2*c.cfg.BatchSize)
	stop := make(chan struct{})
	seen := make(chan struct{})
	var seenOnce, lostOnce sync.Once
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handle := func(_ paho.Client, m paho.Message) {
		if m.Topic() == netMarker(c.cfg.Group) {
			m.Ack()
			if string(m.Payload()) == marker {
				seenOnce.Do(func() { close(seen) })
			}
			return // another member's marker, left by a takeover
		}
		select {
		case in <- message{topic: m.Topic(), payload: m.Payload(), at: c.cfg.Now(), ack: m.Ack}:
		case <-stop:
		}
	}
	o := c.options(netClientID(c.cfg.Group)).
		SetAutoReconnect(false).
		SetDefaultPublishHandler(handle).
		// Another member taking the net over ends this turn.
		SetConnectionLostHandler(func(paho.Client, error) { lostOnce.Do(cancel) })
	// The broker sends what the net holds as soon as it connects (its
	// subscriptions are kept): the writer must already be taking it, or
	// the router would block and with it the acknowledgements.
	wrote := make(chan error, 1)
	go func() { wrote <- c.write(dctx, in, seen, start.Add(netHold), true) }()
	defer func() {
		cancel()
		<-wrote
	}()
	client, err := c.dial(dctx, o, false)
	if err != nil || client == nil {
		return err
	}
	defer func() {
		close(stop)
		client.Disconnect(250)
	}()
	filters := map[string]byte{"joren/+/+/visit": 1, "joren/+/+/stats": 1, netMarker(c.cfg.Group): 1}
	if tok := client.SubscribeMultiple(filters, handle); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		return fmt.Errorf("subscribing the net: %v", tok.Error())
	}
	if tok := client.Publish(netMarker(c.cfg.Group), 1, false, marker); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		return fmt.Errorf("publishing the net's marker: %v", tok.Error())
	}
	// A marker lost by the broker must not keep the net forever.
	go func() {
		select {
		case <-seen:
		case <-dctx.Done():
		case <-time.After(10 * time.Minute):
			cancel()
		}
	}()
	select {
	case err := <-wrote:
		wrote <- err // for the deferred wait
		return err
	case <-dctx.Done():
		return nil
	}
}
