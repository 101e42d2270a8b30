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
// seen) and counters read from the stats message. Every entity follows
// the device's status topic for availability.
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
	common := func(object, name string) map[string]any {
		return map[string]any{
			"name":                  name,
			"unique_id":             node + "_" + object,
			"object_id":             node + "_" + object,
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

	regular := common("regular", "Regular at the door")
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
		c := common(s.object, s.name)
		c["state_topic"] = p.topics.Stats
		c["value_template"] = "{{ value_json." + s.field + " }}"
		// Daily counters fall to zero at midnight: total_increasing
		// treats that as a new cycle, not as negative visits.
		c["state_class"] = "total_increasing"
		c["unit_of_measurement"] = "visits"
		c["icon"] = s.icon
		add("sensor", s.object, c)
	}
	pending := common("pending", "Events waiting for delivery")
	pending["state_topic"] = p.topics.Stats
	pending["value_template"] = "{{ value_json.outbox.pending }}"
	pending["state_class"] = "measurement"
	pending["entity_category"] = "diagnostic"
	pending["icon"] = "mdi:tray-full"
	add("sensor", "pending", pending)
	return out
}

// haID makes a name usable in Home Assistant ids and discovery topics
// (letters, digits, '_' and '-').
func haID(s string) string {
	return strings.ReplaceAll(s, ".", "_")
}
