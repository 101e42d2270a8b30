package publish

import (
	"encoding/json"
	"strings"
)

// discoveryConfig is one retained Home Assistant discovery message.
type discoveryConfig struct {
	topic   string
	payload []byte
}

// discovery returns the Home Assistant MQTT discovery configs: a binary
// sensor "regular at the door" (on for RegularFor after a regular is
// seen), counters read from the stats message, and a diagnostic "problem"
// sensor with the box's health. Every entity follows the device's status
// topic for availability.
func (p *Publisher) discovery() []discoveryConfig {
	node := "joren_" + haID(p.maker.Site()) + "_" + haID(p.maker.Device())
	device := map[string]any{
		"identifiers":    []string{node},
		"name":           "Joren " + p.maker.Device(),
		"manufacturer":   "Joren",
		"model":          "door camera",
		"suggested_area": p.maker.Site(),
	}
	if p.cfg.Version != "" {
		device["sw_version"] = p.cfg.Version
	}
	common := func(component, object, name string) map[string]any {
		return map[string]any{
			"name":      name,
			"unique_id": node + "_" + object,
			// The entity id Home Assistant gives the entity when it first
			// sees it (object_id did that until 2025.10, and is ignored from
			// 2026.4): the same id object_id gave.
			"default_entity_id":     component + "." + haEntityID(node+"_"+object),
			"device":                device,
			"origin":                map[string]any{"name": "joren"},
			"availability_topic":    p.topics.Status,
			"availability_template": "{{ value_json.state }}",
			"payload_available":     "online",
			"payload_not_available": "offline",
		}
	}
	var out []discoveryConfig
	add := func(component, object string, cfg map[string]any) {
		b, _ := json.Marshal(cfg)
		out = append(out, discoveryConfig{topic: p.cfg.DiscoveryPrefix + "/" + component + "/" + node + "/" + object + "/config", payload: b})
	}

	regular := common("binary_sensor", "regular", "Regular at the door")
	regular["state_topic"] = p.topics.Door
	regular["payload_on"] = "ON"
	regular["off_delay"] = int(p.cfg.RegularFor.Seconds())
	regular["device_class"] = "occupancy"
	regular["icon"] = "mdi:account-star"
	add("binary_sensor", "regular", regular)

	for _, s := range []struct{ object, name, field, icon string }{
		{"visits_today", "Visits today", "today.visits", "mdi:account-multiple"},
		{"regulars_today", "Regular visits today", "today.regulars", "mdi:account-star"},
		{"new_today", "New visitors today", "today.new", "mdi:account-plus"},
		{"visits_total", "Visits", "total.visits", "mdi:counter"},
	} {
		c := common("sensor", s.object, s.name)
		c["state_topic"] = p.topics.Stats
		c["value_template"] = "{{ value_json." + s.field + " }}"
		// Daily counters fall to zero at midnight: total_increasing
		// treats that as a new cycle, not as negative visits.
		c["state_class"] = "total_increasing"
		c["unit_of_measurement"] = "visits"
		c["icon"] = s.icon
		add("sensor", s.object, c)
	}
	pending := common("sensor", "pending", "Events waiting for delivery")
	pending["state_topic"] = p.topics.Stats
	pending["value_template"] = "{{ value_json.outbox.pending }}"
	pending["state_class"] = "measurement"
	pending["entity_category"] = "diagnostic"
	pending["icon"] = "mdi:tray-full"
	add("sensor", "pending", pending)

	// Problem: on while the box's health is degraded; the health (camera,
	// frames/s, clock, disk, problems...) is its attributes.
	problem := common("binary_sensor", "problem", "Problem")
	problem["state_topic"] = p.topics.Stats
	problem["value_template"] = "{{ 'ON' if value_json.health.status == 'degraded' else 'OFF' }}"
	problem["json_attributes_topic"] = p.topics.Stats
	problem["json_attributes_template"] = "{{ value_json.health | tojson }}"
	problem["device_class"] = "problem"
	problem["entity_category"] = "diagnostic"
	add("binary_sensor", "problem", problem)
	return out
}

// haEntityID makes s the object part of a Home Assistant entity id as
// Home Assistant's slugify makes one: lower-case letters, digits and
// single underscores, none at either end ("joren_shibuya-1_door_1_regular"
// becomes "joren_shibuya_1_door_1_regular").
func haEntityID(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			under = false
			continue
		}
		under = true
	}
	if b.Len() == 0 {
		return "joren"
	}
	return b.String()
}

// haID makes a name usable in Home Assistant ids and discovery topics
// (letters, digits, '_' and '-').
func haID(s string) string {
	return strings.ReplaceAll(s, ".", "_")
}
