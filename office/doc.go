// Package office is head office's side of Joren: the vocabulary shared by
// the collector (office/ingest), the stores (office/sqlstore), the
// dashboard (office/dashboard) and the joren-office binary.
//
// The boxes publish pseudonymous visit events, a retained status and
// periodic stats over MQTT (docs/events.md). Head office keeps each visit
// once (events are delivered at least once: the event id deduplicates),
// places it on the shop's local calendar (a local day and hour), and
// keeps daily rollups per shop, box and local day that are always exactly
// the sums of the stored visits, so that a year of a 1,000-shop chain is
// read from a few hundred thousand rows instead of millions of events.
//
// What is counted (the same rules as the box's own stats, event.Counts):
//
//   - visits: visit events, each event id once;
//   - new_visitors: visits whose kind is "new", the first visit the box
//     has ever seen of that person (not the first of the month: the box's
//     identity store outlives pseudonym periods);
//   - returning: visits whose kind is "returning" (visits = new_visitors +
//     returning);
//   - regular_visits: visits whose "regular" flag is set: the visitor was a
//     regular after this visit, the visit that made them one included;
//   - became_regular: visits whose "became_regular" flag is set;
//   - return rate: returning / visits.
//
// Pseudonyms change every period (a month by default) and differ per box,
// so nothing here follows a person across months or shops: docs/office.md
// says what can and cannot be computed.
package office
