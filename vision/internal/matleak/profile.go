//go:build matprofile

package matleak

import (
	"bytes"
	"testing"

	"gocv.io/x/gocv"
)

// On tells whether gocv counts live Mats.
const On = true

// Check fails t if the number of live gocv Mats differs, when t ends, from
// what it is now. Tests that use it must not run in parallel.
func Check(t testing.TB) {
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

// Live is the number of gocv Mats not closed yet.
func Live() int { return gocv.MatProfile.Count() }

func selfCheck(t testing.TB) {
	t.Helper()
	before := Live()
	m := gocv.NewMat()
	if got := Live(); got != before+1 {
		m.Close()
		t.Fatalf("live Mats after NewMat = %d, want %d: the leak check counts nothing", got, before+1)
	}
	m.Close()
	if got := Live(); got != before {
		t.Fatalf("live Mats after Close = %d, want %d", got, before)
	}
}
