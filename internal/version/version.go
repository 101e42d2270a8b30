package version

import "runtime/debug"

// stamp is set by the linker (-X joren/internal/version.stamp=...); it is
// a variable, not a constant, for that reason only.
var stamp string

// String is the build's version: the stamp if there is one; else the
// module's version when it was installed from a tagged module
// (go install joren/cmd/joren@v1.2.0); else "devel", followed by the commit
// and "-dirty" when Go recorded them (a go build in a git work tree).
func String() string {
	if stamp != "" {
		return stamp
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return fromBuildInfo(bi)
}

// Stamped tells whether the build was given its version (as opposed to
// being a developer's build).
func Stamped() bool { return stamp != "" }

func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev[:min(12, len(rev))] + dirty
}
