package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Lines reads a JSON-lines file one line at a time with a bound on a
// line's length, so that memory does not grow with the file: a line over
// the bound is read to its end without being kept, and is an error that
// says which line it is, how long, and what the bound is.
type Lines struct {
	r    *bufio.Reader
	name string
	max  int
	line int
	buf  []byte
}

// NewLines reads lines of at most max bytes from r; name is the file's
// name in errors.
func NewLines(r io.Reader, name string, max int) *Lines {
	return &Lines{r: bufio.NewReaderSize(r, 64<<10), name: name, max: max}
}

// Line is the number of the line last returned (1-based).
func (l *Lines) Line() int { return l.line }

// At formats an error about the line last returned: FILE:LINE: message.
func (l *Lines) At(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", l.name, l.line, fmt.Sprintf(format, a...))
}

// Next returns the next line without its line ending (\n or \r\n), or
// io.EOF after the last. The bytes are valid until the next call. A last
// line without a line ending is a line.
func (l *Lines) Next() ([]byte, error) {
	l.buf = l.buf[:0]
	n := 0 // the line's length, counted on past the bound
	for {
		chunk, err := l.r.ReadSlice('\n')
		n += len(chunk)
		if n <= l.max+2 { // room for \r\n
			l.buf = append(l.buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			l.line++
			return nil, l.At("reading: %v", err)
		}
		if n == 0 { // io.EOF and nothing read
			return nil, io.EOF
		}
		l.line++
		end := 0
		if bytes.HasSuffix(chunk, []byte("\n")) {
			end = 1
		}
		length := n - end
		var line []byte
		if n <= l.max+2 {
			line = bytes.TrimSuffix(l.buf[:length], []byte("\r"))
			length = len(line)
		}
		if length > l.max {
			return nil, l.At("the line is %d bytes long, over the limit of %d bytes (%s)", length, l.max, sizeName(l.max))
		}
		return line, nil
	}
}

func sizeName(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
