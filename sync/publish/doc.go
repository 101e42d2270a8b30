// Package publish delivers a device's visit events to head office over
// MQTT (github.com/eclipse/paho.mqtt.golang), with nothing lost.
//
// Publish turns an identity-store decision into an event (package event)
// and stores it in the outbox (package outbox) before returning; a
// separate loop delivers the outbox with QoS 1 and removes each event only
// when the broker has acknowledged it. Events made while the broker is
// unreachable, or before a reboot, are therefore delivered later, at least
// once; consumers deduplicate by event id.
//
// Topics, for site S and device D:
//
//	joren/S/D/visit    visit events (QoS 1)
//	joren/S/D/status   retained: "online" birth (version, model ids,
//	                   uptime), "offline" as the last will and at shutdown
//	joren/S/D/stats    periodic counts (QoS 1)
//	joren/S/D/command  head office's signed commands (only when enabled)
//	joren/S/D/reply    the answer to each command
//	joren/S/D/door     "ON" when a regular walks in (Home Assistant only)
//
// Home Assistant MQTT discovery, commands and TLS are configured in
// Config; docs/events.md documents every message.
package publish
