// Package logtest collects what a component logs, for tests: a Buffer is
// safe for the goroutines that log into it, and lets a test wait for a
// line without polling (each write wakes the waiters). It works inside
// synctest bubbles as outside.
package logtest
