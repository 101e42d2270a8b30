// Package outbox is the durable queue between the device's decisions and
// the MQTT broker: a bbolt file on the SD card that survives a lost
// network, a stopped broker, a killed process and a power cut.
//
// paho's own stores are not enough: its memory store loses everything when
// the process exits, and its file store is replayed only when the same
// client id reconnects with a persistent session. Here an event is on disk
// (fsynced) before Put returns, and leaves only when the broker has
// acknowledged it (Ack). Delivery is therefore at least once: an event
// acknowledged by the broker just before a crash is sent again after it,
// with the same id, and consumers deduplicate by that id.
//
// The outbox is bounded. A shop can be offline for weeks; rather than
// fill the SD card, a full outbox drops its oldest records and counts them
// (Dropped), so head office can see the gap in the stats.
package outbox
