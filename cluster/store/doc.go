// Package store keeps the identity store on disk: one bbolt file holding
// every known visitor (a bounded set of exemplar descriptors, the distinct
// days of their recent visits and a few counters), the staff, and a log of
// recent decisions by visit id.
//
// It is crash-safe: every change is one bbolt transaction, durable when
// Update returns, so a power cut loses at most the visit being decided,
// never a visit whose decision was acknowledged, and never leaves a
// half-written record.
//
// It is bounded: identities, exemplars per identity and bytes are capped,
// identities unseen for the retention period are deleted, and when full the
// store evicts never-regular identities seen least recently first. A
// record's size depends on the caps, never on how long the visitor has been
// coming.
//
// It never mixes models: the model that computed the descriptors is
// recorded when the store is created, and opening it for another model
// fails with a message saying to re-enrol or start a new store. A store
// written by a newer schema is refused; older ones are migrated in one
// transaction when opened for writing.
//
// It keeps nothing it does not have to: with a key (Options.KeyFile), every
// record value about a person is sealed with AES-256-GCM, bound to its
// bucket and key, and the record keys that would tell something (names,
// visit ids, last-seen times) are keyed hashes; a plain store opened for
// writing with a key is encrypted in place, crash-safely. Compact rewrites
// the file with only the live records, so that deleted ones do not linger
// in bbolt's free pages. docs/privacy.md says what is and is not
// encrypted.
//
// It never crashes on a damaged file and never writes to one: Open checks
// the file before bbolt maps it (internal/boltfile), and a store opened to
// change runs Check first; a damaged or inconsistent store is refused with
// ErrDamaged, and a store damaged while open refuses every change after.
// Salvage copies every record of a damaged file that still reads (and, in
// an encrypted store, authenticates) into a new store; Recover replaces a
// damaged store with its salvage, filled in from the backup that Compact
// keeps beside it (Options.Backup), and keeps the damaged file aside.
// Forgetting anyone deletes the backup: it never brings back someone
// forgotten.
//
// The package knows nothing of matching: records are plain types, and the
// identity package decides what goes in them.
package store
