package appliance

import (
	"strings"
	"testing"

	"joren/appliance/config"
)

// The camera side comes from the caller: without it Open says so before
// touching anything.
func TestOpenWithoutCamera(t *testing.T) {
	cfg := config.Default()
	cfg.Device.DataDir = t.TempDir() + "/data"
	a, err := Open(cfg, Options{})
	if err == nil {
		a.Close()
		t.Fatal("opened without a camera driver")
	}
	if !strings.Contains(err.Error(), "Options.Camera") {
		t.Errorf("error %q does not name Options.Camera", err)
	}
}
