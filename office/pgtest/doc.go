// Package pgtest runs a real PostgreSQL for tests, as sync/mosquittotest
// runs a real mosquitto: Debian's server (package postgresql), a
// throwaway cluster made by initdb in a temporary folder, listening on a
// unix socket only (no TCP port to collide with), stopped and deleted by
// the test's cleanup. As root, initdb and the server run as the user
// postgres (initdb refuses root).
//
// A missing PostgreSQL fails the test with what to install, never skips
// it.
package pgtest
