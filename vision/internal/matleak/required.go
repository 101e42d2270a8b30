package matleak

import "testing"

// Required fails t when the tests were built without -tags matprofile, or
// when the profile does not see a new Mat: put it in one test of every
// package whose tests check for leaks, so that they never pass by counting
// nothing.
func Required(t testing.TB) {
	t.Helper()
	if !On {
		t.Fatal("gocv's Mat profile is off: run these tests with -tags matprofile (make test does) so Mat leaks are caught")
	}
	selfCheck(t)
}
