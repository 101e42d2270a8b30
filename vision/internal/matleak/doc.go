// Package matleak checks in tests that every gocv Mat a test made was
// closed. It counts Mats with gocv's profile, which exists only when the
// tests are built with -tags matprofile (as make test does); without the
// tag, Required fails the test so a leak check never passes by counting
// nothing.
package matleak
