package publish

import (
	"encoding/json"
	"regexp"
	"strings"
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
	msgs, ok := ha.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(m) >= 7 })
	if !ok {
		t.Fatalf("%d discovery messages, want 7", len(msgs))
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
		// Home Assistant ignores object_id from 2026.4: the entity id is
		// default_entity_id, DOMAIN.OBJECT in its own syntax, and the same
		// one object_id gave (slugified), so existing entities keep theirs.
		if _, ok := c["object_id"]; ok {
			t.Errorf("%s still has object_id", topic)
		}
		component := strings.Split(topic, "/")[1]
		object := strings.Split(topic, "/")[3]
		want := component + ".joren_shibuya_1_door_1_" + object
		if id, _ := c["default_entity_id"].(string); id != want || !haEntityIDSyntax.MatchString(id) {
			t.Errorf("%s: default_entity_id %q, want %q", topic, c["default_entity_id"], want)
		}
		if c["unique_id"] != node+"_"+object {
			t.Errorf("%s: unique_id %v changed: Home Assistant would make a second entity", topic, c["unique_id"])
		}
	}
	problem := configs["homeassistant/binary_sensor/"+node+"/problem/config"]
	if problem == nil || problem["device_class"] != "problem" || problem["entity_category"] != "diagnostic" || problem["state_topic"] != "joren/shibuya-1/door.1/stats" ||
		problem["json_attributes_topic"] != "joren/shibuya-1/door.1/stats" {
		t.Errorf("problem sensor config %v", problem)
	}
	// Retained, for a Home Assistant that starts later.
	late := b.Subscribe(t, "home-assistant-late", "homeassistant/#")
	if m, ok := late.WaitFor(5*time.Second, func(m []mosquittotest.Message) bool { return len(m) >= 7 }); !ok || !m[0].Retained {
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
	for _, f := range []string{"today", "total", "outbox", "health"} {
		if _, ok := stats[f].(map[string]any); !ok {
			t.Errorf("stats has no %q object for the sensors: %v", f, stats)
		}
	}
	if h, _ := stats["health"].(map[string]any); h["status"] != "ok" {
		t.Errorf("the problem sensor's field: health %v", stats["health"])
	}
}

// haEntityIDSyntax is Home Assistant's entity id (DOMAIN.OBJECT, each of
// lower-case letters, digits and single inner underscores).
var haEntityIDSyntax = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*\.[a-z0-9]+(_[a-z0-9]+)*$`)

func TestHAEntityID(t *testing.T) {
	for in, want := range map[string]string{
		"joren_shibuya-1_door.1_regular": "joren_shibuya_1_door_1_regular",
		"joren_Shop__A_-door-_x":         "joren_shop_a_door_x",
		"_x_":                            "x",
		"---":                            "joren",
	} {
		if got := haEntityID(in); got != want {
			t.Errorf("haEntityID(%q) = %q, want %q", in, got, want)
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
