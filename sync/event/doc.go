// Package event defines what a Joren device tells head office, and how it
// keeps the customer pseudonymous while doing so.
//
// A visit Event carries counts and flags about one passage through the
// door: never a descriptor, an image, or the identity store's internal ids.
// The visitor appears only as a Pseudonym: an HMAC-SHA256 of the internal
// visitor id keyed with a secret that never leaves the device, and salted
// with a period (a calendar month by default). Head office can therefore
// count one visitor's visits within a period, but cannot link the same
// person across two periods or two devices (each device has its own
// secret), and cannot recover the internal id. The device can: it holds
// the secret and the store, which is how head office's forget command
// finds a visitor. So an event is pseudonymised personal data, not
// anonymous data.
//
// Event ids are ULIDs: unique, and sortable by the visit's time. They are
// derived from the visit id under the device secret, so publishing the same
// decision twice (a retry, a replay) yields the same id and head office can
// deduplicate deliveries by id alone.
//
// A visit carries its local day and the shop's offset from UTC, so head
// office needs no map of shops to time zones; the status and stats
// messages carry the box's Health (camera, broker, outbox, clock, disk,
// temperature, problems).
//
// Every message type (Visit, Status, Stats, Command, Reply) has a Schema
// version (SchemaVersion, CommandSchema); consumers accept the earlier
// version too (ParseVisit does). docs/events.md documents them and
// docs/events.schema.json is their JSON Schema, which the tests validate
// produced messages against.
package event
