package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// A test binary is a developer's build: it says so, in both forms.
func TestVersionUnstamped(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, stderr, code := run(t, args...)
		if code != exitOK || !strings.HasPrefix(out, "joren devel") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d: %q %q", args, code, out, stderr)
		}
	}
	if _, stderr, code := run(t, "version", "extra"); code != exitUsage || !strings.Contains(stderr, "needs no arguments") {
		t.Errorf("version extra: exit %d: %s", code, stderr)
	}
}

// make build stamps git describe into joren: the flags the Makefile
// really gives (make -n) build a binary whose --version says it, not
// "devel".
func TestVersionStampedByMake(t *testing.T) {
	if testing.Short() {
		t.Skip("links a joren binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	describe, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Skipf("not a git work tree (%v): make build needs VERSION=... there", err)
	}
	want := strings.TrimSpace(string(describe))
	plan, err := exec.Command("make", "-n", "-C", root, "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, plan)
	}
	m := regexp.MustCompile(`build -ldflags '([^']*)' -o bin/joren \./cmd/joren`).FindStringSubmatch(string(plan))
	if m == nil {
		t.Fatalf("make -n build does not build bin/joren with -ldflags:\n%s", plan)
	}
	if !strings.Contains(m[1], "joren/internal/version.stamp="+want) {
		t.Errorf("make build stamps %q, want git describe %q", m[1], want)
	}
	// Build with those flags, and the build tags of this test binary so
	// that the cached packages are reused.
	bin := filepath.Join(t.TempDir(), "joren")
	args := []string{"build", "-ldflags", m[1], "-o", bin}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" && s.Value != "" {
				args = append(args, "-tags", s.Value)
			}
		}
	}
	build := exec.Command("go", append(args, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	for _, flag := range []string{"--version", "version"} {
		out, err := exec.Command(bin, flag).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "joren "+want+" (go1.") {
			t.Errorf("joren %s: %v: %q, want joren %s", flag, err, out, want)
		}
	}
}
