//go:build matprofile

package picture

import (
	"bytes"
	"testing"

	"gocv.io/x/gocv"
)

// matProfileOn tells whether gocv counts live Mats (built with -tags
// matprofile).
const matProfileOn = true

// noMatLeak fails t if the number of live gocv Mats differs when t ends
// from what it is now. Tests that use it must not run in parallel.
func noMatLeak(t testing.TB) {
	t.Helper()
	before := gocv.MatProfile.Count()
	t.Cleanup(func() {
		if after := gocv.MatProfile.Count(); after != before {
			var b bytes.Buffer
			gocv.MatProfile.WriteTo(&b, 1)
			t.Errorf("%d gocv Mats leaked (%d live before, %d after); where they were made:\n%s", after-before, before, after, b.String())
		}
	})
}

// liveMats is the number of gocv Mats not closed yet.
func liveMats() int { return gocv.MatProfile.Count() }
