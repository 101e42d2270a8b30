package testenv

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Self is a command that runs this test binary again (crash tests kill
// such a child at random moments). Under `go test -exec EMULATOR` (the
// arm64 tests under qemu) the binary is not native: JOREN_TEST_EXEC names
// the emulator to run it with, as the Makefile sets it.
func Self(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Command(exe, args...)
}

// Command runs bin, a copy of this test binary or another binary built
// for the tests' target, under the emulator JOREN_TEST_EXEC names, if any.
func Command(bin string, args ...string) *exec.Cmd {
	if emu := strings.Fields(os.Getenv("JOREN_TEST_EXEC")); len(emu) > 0 {
		return exec.Command(emu[0], append(append(emu[1:], bin), args...)...)
	}
	return exec.Command(bin, args...)
}

// Native skips a test that needs what a user-mode emulator does not
// provide (why says what) when the test binary runs under one
// (JOREN_TEST_EXEC). It runs natively in every make test.
func Native(t testing.TB, why string) {
	t.Helper()
	if emu := strings.Fields(os.Getenv("JOREN_TEST_EXEC")); len(emu) > 0 {
		t.Skipf("%s: not under the emulator %s (this test runs natively in make test)", why, emu[0])
	}
}

// RealTime skips a test that holds the pipeline to wall-clock bounds (a
// visit within seconds of a silent camera, a flush within 400 ms) when the
// test binary runs under an emulator (JOREN_TEST_EXEC): qemu runs dlib 10 to
// 40 times slower than any board the product runs on, so such a test says
// nothing there. It runs natively in every make test.
func RealTime(t testing.TB) {
	t.Helper()
	if emu := strings.Fields(os.Getenv("JOREN_TEST_EXEC")); len(emu) > 0 {
		t.Skipf("wall-clock bounds: not meaningful under the emulator %s (this test runs natively in make test)", emu[0])
	}
}

// isolatedEnv names the test a child process started by Isolated runs.
const isolatedEnv = "JOREN_TEST_ISOLATED"

// Isolated runs the calling top-level test again in a child process
// (Self), for tests of inputs that could crash a process beyond recover: a
// memory fault, a native abort, a stack overflow. It returns true in the
// child, where the test does its work; in the parent it returns false once
// the child has passed, and fails the test with the child's output if the
// child failed, crashed or ran longer than limit (a hang). The child's log
// lines show in the parent's.
func Isolated(t *testing.T, limit time.Duration) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := Self(t, "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the isolated run of %s did not end within %v (a hang):\n%s", t.Name(), limit, out)
	}
	if err != nil {
		t.Fatalf("the isolated run of %s failed (%v):\n%s", t.Name(), err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if l := strings.TrimSpace(line); strings.Contains(l, "_test.go:") {
			t.Log(l)
		}
	}
	return false
}
