package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"joren/internal/testenv"
)

// TestMain lets the tests run this test binary as joren-office itself
// (JOREN_OFFICE_MAIN=1): the real command line, flags, signals and exit
// statuses, in processes the tests can kill.
func TestMain(m *testing.M) {
	if os.Getenv("JOREN_OFFICE_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// office is a joren-office process.
type officeProc struct {
	t    testing.TB
	args []string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func command(t testing.TB, args ...string) *exec.Cmd {
	cmd := testenv.Self(t, args...)
	cmd.Env = append(os.Environ(), "JOREN_OFFICE_MAIN=1")
	return cmd
}

// start starts joren-office args; the test's cleanup stops it (SIGTERM)
// and prints its output if the test failed.
func start(t testing.TB, args ...string) *officeProc {
	t.Helper()
	o := &officeProc{t: t, args: args, out: &syncBuffer{}}
	o.launch()
	t.Cleanup(func() {
		o.stop()
		if t.Failed() {
			t.Logf("joren-office %s:\n%s", strings.Join(args, " "), o.out.String())
		}
	})
	return o
}

func (o *officeProc) launch() {
	o.cmd = command(o.t, o.args...)
	o.cmd.Stdout, o.cmd.Stderr = o.out, o.out
	if err := o.cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	o.done = make(chan error, 1)
	go func() { o.done <- o.cmd.Wait() }()
}

// stop ends the process with SIGTERM and returns its exit error.
func (o *officeProc) stop() error {
	if o.cmd == nil {
		return nil
	}
	o.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-o.done:
	case <-time.After(30 * time.Second):
		o.cmd.Process.Kill()
		err = <-o.done
	}
	o.cmd = nil
	return err
}

// kill ends the process at once (SIGKILL), as a power cut would.
func (o *officeProc) kill() {
	o.cmd.Process.Kill()
	<-o.done
	o.cmd = nil
}

// joren runs a joren-office command to its end and returns its output.
func joren(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := command(t, args...).CombinedOutput()
	return string(out), err
}
