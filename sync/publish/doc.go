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
//	                   uptime, health), refreshed with stats and when the
//	                   health changes; "offline" as the last will and at
//	                   shutdown
//	joren/S/D/stats    counts and health (QoS 1): on connect, periodically,
//	                   on a change of health and at shutdown
//	joren/S/D/command  head office's signed commands (only when enabled)
//	joren/S/D/reply    the answer to each command
//	joren/S/D/door     "ON" when a regular walks in (Home Assistant only)
//
// The stats count decisions, not publishes: each event id once, in the
// outbox transaction that stores the event (counts.go), so re-publishing,
// resuming and restarts never inflate them.
//
// Home Assistant MQTT discovery, commands and TLS are configured in
// Config; docs/events.md documents every message.
package publish
