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
//
// A damaged file never crashes the process and is never written to: Open
// checks it before bbolt maps it (internal/boltfile) and refuses it with
// ErrDamaged, every record carries a checksum of itself and its key (a
// damaged record is set aside, never sent), and an outbox found damaged
// while open refuses every change. Salvage copies every event that still
// reads into a new file; Recover puts that in the damaged file's place and
// keeps the damaged file aside.
package outbox
