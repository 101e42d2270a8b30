package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
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
	if emu := strings.Fields(os.Getenv("JOREN_TEST_EXEC")); len(emu) > 0 {
		return exec.Command(emu[0], append(append(emu[1:], exe), args...)...)
	}
	return exec.Command(exe, args...)
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
