// Package storetest is the one test suite every office.Store passes:
// counting, deduplication, zones and local days, boxes' status and
// stats, quarantine, retention, and rollups that stay exactly the sums of
// the visits while several writers store overlapping batches at once.
// office/sqlstore runs it against SQLite and against a real PostgreSQL.
package storetest
