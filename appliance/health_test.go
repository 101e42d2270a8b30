package appliance

import (
	"testing"
)

// The kernel's clock state reads without error on Linux, and a
// synchronised clock has no reason attached.
func TestClockHealth(t *testing.T) {
	c := clockHealth()
	if c.Synchronised && c.Reason != "" {
		t.Errorf("synchronised with a reason: %+v", c)
	}
	if !c.Synchronised && c.Reason == "" {
		t.Errorf("not synchronised without a reason: %+v", c)
	}
}

func TestDiskHealth(t *testing.T) {
	d, err := diskHealth(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d.TotalBytes == 0 || d.FreeBytes > d.TotalBytes {
		t.Errorf("%+v", d)
	}
	if _, err := diskHealth("/nonexistent/dir"); err == nil {
		t.Error("no error for a missing directory")
	}
}
