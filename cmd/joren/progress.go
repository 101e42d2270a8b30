package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal tells whether w is an interactive terminal: progress bars are
// drawn only there, never into logs or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// downloadBar returns a body wrapper drawing a byte progress bar on w when w
// is a terminal, and nil otherwise.
func downloadBar(w io.Writer) func(name string, size int64, r io.Reader) io.Reader {
	if !isTerminal(w) {
		return nil
	}
	return func(name string, size int64, r io.Reader) io.Reader {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(),
		)
		rd := progressbar.NewReader(r, bar)
		return &rd
	}
}

// itemBar returns a progress bar over n items, drawn on w only when w is a
// terminal and n is large enough to wait for.
func itemBar(w io.Writer, n int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetVisibility(isTerminal(w) && n >= 20),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000),
	)
}
