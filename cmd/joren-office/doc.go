// Command joren-office is head office's service for a chain of Joren
// boxes, in one pure-Go binary (it runs on any server or container):
//
//   - joren-office run: the collector (MQTT, persistent session, shared
//     subscriptions with --group), the store (SQLite or PostgreSQL), the
//     dashboard and /metrics with --listen, and the retention;
//   - joren-office report: the daily numbers per shop, box and local day
//     (--csv for a spreadsheet);
//   - joren-office sites: the shops' time zones;
//   - joren-office check: the rollups against the stored visits.
//
// Each subcommand is one file, thin over office/...; main.go alone turns
// errors and signals into exit statuses. docs/office.md is the manual.
package main
