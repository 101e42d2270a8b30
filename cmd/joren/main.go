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
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed, or some inputs did
	exitUsage   = 2 // the command line is wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the work cleanly; a second one kills.
	context.AfterFunc(ctx, stop)
	err := newRootCommand().ExecuteContext(ctx)
	os.Exit(exitCode(err, os.Stderr))
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
