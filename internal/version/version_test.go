package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"tagged module", debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{"work tree without VCS", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"work tree", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3bf5d55a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "false"}}}, "devel-3bf5d55a1b2c"},
		{"changed work tree", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3bf5d55"}, {Key: "vcs.modified", Value: "true"}}}, "devel-3bf5d55-dirty"},
	} {
		if got := fromBuildInfo(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A test binary is not stamped: it must not pass for a release.
func TestUnstamped(t *testing.T) {
	if Stamped() || String() == "" {
		t.Errorf("stamped %v, version %q", Stamped(), String())
	}
}
