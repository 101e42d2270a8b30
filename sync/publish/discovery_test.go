package publish

import (
	"encoding/json"
	"testing"
	"time"

	"joren/sync/mosquittotest"
)

func TestHomeAssistantDiscovery(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})

	// Off by default: nothing under homeassistant/.
	off := newHarness(t, b, nil)
	stop := off.run(nil)
	off.p.Publish(decision(42)) // a regular
	quiet := b.Subscribe(t, "ha-quiet", "homeassistant/#")
	door := b.Subscribe(t, "door-quiet", "joren/+/+/door")
	off.p.Publish(decision(43))
	if m, got := quiet.WaitFor(time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 }); got {
		t.Errorf("discovery off, yet %s was published", m[0].Topic)
	}
	if m := door.Messages(); len(m) > 0 {
		t.Errorf("discovery off, yet the door state was published: %s", m[0].Topic)
	}
	stop()

	on := newHarness(t, b, func(c *Config) { c.Discovery, c.RegularFor = true, 45*time.Second })
	ha := b.Subscribe(t, "home-assistant", "homeassistant/#")
	state := b.Subscribe(t, "home-assistant-state", "joren/+/+/door")
	stop = on.run(nil)
	defer stop()
	msgs, ok := ha.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(m) >= 6 })
	if !ok {
		t.Fatalf("%d discovery messages, want 6", len(msgs))
	}
	configs := map[string]map[string]any{}
	for _, m := range msgs {
		var c map[string]any
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		configs[m.Topic] = c
	}
	const node = "joren_shibuya-1_door_1"
	bin := configs["homeassistant/binary_sensor/"+node+"/regular/config"]
	if bin == nil {
		t.Fatalf("no binary sensor config among %v", keys(configs))
	}
	if bin["name"] != "Regular at the door" || bin["state_topic"] != "joren/shibuya-1/door.1/door" || bin["off_delay"] != 45.0 ||
		bin["unique_id"] != node+"_regular" || bin["availability_topic"] != "joren/shibuya-1/door.1/status" {
		t.Errorf("binary sensor config %v", bin)
	}
	visits := configs["homeassistant/sensor/"+node+"/visits_today/config"]
	if visits == nil || visits["state_topic"] != "joren/shibuya-1/door.1/stats" || visits["value_template"] != "{{ value_json.today.visits }}" {
		t.Errorf("visits sensor config %v", visits)
	}
	for topic, c := range configs {
		dev, _ := c["device"].(map[string]any)
		if ids, _ := dev["identifiers"].([]any); len(ids) != 1 || ids[0] != node {
			t.Errorf("%s: device %v", topic, c["device"])
		}
	}
	// Retained, for a Home Assistant that starts later.
	late := b.Subscribe(t, "home-assistant-late", "homeassistant/#")
	if m, ok := late.WaitFor(5*time.Second, func(m []mosquittotest.Message) bool { return len(m) >= 6 }); !ok || !m[0].Retained {
		t.Errorf("discovery configs not retained: %d messages", len(m))
	}

	// A regular walks in: the door state turns on. A new visitor does not.
	on.p.Publish(decision(1))
	if m, got := state.WaitFor(time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 }); got {
		t.Errorf("a new visitor turned the door sensor on: %s", m[0].Payload)
	}
	on.p.Publish(decision(44))
	m, ok := state.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(m) > 0 })
	if !ok || string(m[0].Payload) != "ON" {
		t.Errorf("door state after a regular: %v", m)
	}

	// The counters' source, the stats message, has the fields the
	// templates read.
	var stats map[string]any
	if st, err := json.Marshal(on.p.Stats()); err == nil {
		json.Unmarshal(st, &stats)
	}
	for _, f := range []string{"today", "total", "outbox"} {
		if _, ok := stats[f].(map[string]any); !ok {
			t.Errorf("stats has no %q object for the sensors: %v", f, stats)
		}
	}
}

func keys(m map[string]map[string]any) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}
