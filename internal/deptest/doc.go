// Package deptest reads the module's import graph with `go list` and says
// which packages need cgo, so that the rules of docs/architecture.md are
// tests, not good intentions: device/ and sync/ know nothing of the
// identity store or the camera, cluster/ knows nothing of the camera, and
// cgo (go-face, gocv) stays in leaves under vision/. The Makefile takes
// its list of pure-Go packages from here (command purelist) instead of
// keeping one by hand.
package deptest
