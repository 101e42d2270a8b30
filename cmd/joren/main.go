// Only this file handles signals and exit codes; every subcommand returns
// an error.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"joren/vision/picture"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed, or some inputs did
	exitUsage   = 2 // the command line is wrong
)

func main() { os.Exit(runMain()) }

// runMain runs the command line and returns the exit status (the tests'
// TestMain runs it when the test binary stands in for joren).
func runMain() int {
	limitOpenCV()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the work cleanly; a second one kills.
	context.AfterFunc(ctx, stop)
	err := newRootCommand().ExecuteContext(ctx)
	return exitCode(err, os.Stderr)
}

// limitOpenCV starts joren again with OpenCV's image size limits in its
// environment, if they are not there: OpenCV reads them once, as its
// library loads, before any Go code runs, and they are its own refusal of
// a picture too large should one ever get past vision/picture's header
// check (docs/reliability.md). Same process, same arguments; nothing has
// happened yet. If the new start fails, joren goes on without them.
func limitOpenCV() {
	add := picture.OpenCVEnv(os.LookupEnv)
	if len(add) == 0 {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	syscall.Exec(exe, os.Args, append(os.Environ(), add...))
}

// exitCode reports err on stderr (unless it was reported input by input)
// and returns the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "joren: %v\n", err)
		return exitUsage
	}
	var p partialError
	if !errors.As(err, &p) { // a partial failure was reported input by input
		fmt.Fprintf(stderr, "joren: %v\n", err)
	}
	return exitFailure
}

// usageError marks a wrong command line (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// partialError says some inputs failed and each failure was already
// reported; the command exits 1 without repeating them.
type partialError struct{ failed, total int }

func (p partialError) Error() string {
	return fmt.Sprintf("%d of %d inputs failed", p.failed, p.total)
}
