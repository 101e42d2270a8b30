// Package mosquittotest runs a real mosquitto broker for tests, the way
// net/http/httptest runs a real HTTP server: Debian's /usr/sbin/mosquitto,
// on 127.0.0.1, on a free port, with its own configuration, persistence
// folder and log in the test's temporary folder. Tests can stop and start
// it again (its persistent sessions and queued messages survive), turn on
// TLS with a CA the test generates, and require passwords.
//
// A missing mosquitto fails the test with what to install, never skips it.
package mosquittotest
