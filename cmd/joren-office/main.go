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
	exitFailure = 1 // the work failed
	exitUsage   = 2 // the command line is wrong
	exitCheck   = 3 // check found rollups that differ from their visits
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr and returns the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "joren-office: %v\n", err)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var c checkError
	if errors.As(err, &c) {
		return exitCheck
	}
	return exitFailure
}

// usageError marks a wrong command line (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// checkError says check found differences (exit status 3).
type checkError struct{ n int }

func (c checkError) Error() string { return fmt.Sprintf("%d rollup(s) differ from their visits", c.n) }
