// Package testenv finds what the tests run against: the model directory
// built by `make models` and the read-only shared data beside the checkout.
// Tests fail, not skip, when either is missing: CI provisions both, and a
// test that silently does nothing is worse than one that says what to run.
package testenv
