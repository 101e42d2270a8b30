// Package version is the build's version, stamped at build time:
//
//	go build -ldflags "-X joren/internal/version.stamp=$(git describe --tags --always --dirty)"
//
// `make build`, scripts/cross-build (hence the Jetson .deb) and the image's
// Buildroot package all stamp it. A binary built without the stamp (go
// run, go test, a plain go build) says "devel", with the commit Go
// recorded when it knows one, so that it is never mistaken for a release.
package version
