// Package ingest is head office's collector: an MQTT client (paho) that
// subscribes to every box's visit, stats and status topics with QoS 1 and
// a persistent session, turns the messages into batches, writes each
// batch to an office.Store in one transaction, and acknowledges the
// messages only once the batch is committed (paho's manual
// acknowledgement). A collector that stops at any moment therefore loses
// nothing: the broker delivers what was not acknowledged again, and the
// store counts each event id once.
//
// Every message is validated against the events' JSON Schema
// (docs/events.schema.json, embedded) and checked against its topic; what
// fails is quarantined (kept, counted, shown on the dashboard) and
// acknowledged, so one bad box cannot stop the collector. A batch the
// database refuses is written again message by message, and only the
// message it refuses is quarantined.
//
// With a Group, several collectors share the visit and stats topics
// through an MQTT shared subscription ($share/GROUP/...): the broker gives
// each message to one of them. The retained status topic is subscribed by
// each (brokers send retained messages to no shared subscriber); status
// updates are idempotent, the latest received wins.
package ingest
