package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLines(t *testing.T) {
	const max = 10
	for _, tc := range []struct {
		name, in string
		want     []string // lines, then "ERR: text" for an error
	}{
		{"empty", "", nil},
		{"one line, no ending", "abc", []string{"abc"}},
		{"line endings", "a\nb\r\n\nc\r\n", []string{"a", "b", "", "c"}},
		{"at the bound", "0123456789\n0123456789", []string{"0123456789", "0123456789"}},
		{"at the bound with CRLF", "0123456789\r\n", []string{"0123456789"}},
		{"one over the bound", "ok\n0123456789A\nnext\n", []string{"ok", "ERR: f:2: the line is 11 bytes long, over the limit of 10 bytes"}},
		{"far over the bound, no ending", "ok\n" + strings.Repeat("x", 1<<20), []string{"ok", "ERR: f:2: the line is 1048576 bytes long"}},
		{"a lone CR is kept", "a\rb\n", []string{"a\rb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLines(strings.NewReader(tc.in), "f", max)
			var got []string
			for {
				b, err := l.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					got = append(got, "ERR: "+err.Error())
					break
				}
				got = append(got, string(b))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("line %d: %q, want %q", i+1, got[i], tc.want[i])
				}
			}
		})
	}
	// A read error names the line it broke.
	l := NewLines(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(errors.New("card pulled"))), "f", max)
	l.Next()
	if _, err := l.Next(); err == nil || err.Error() != "f:2: reading: card pulled" {
		t.Errorf("read error: %v", err)
	}
}

// TestReadEmbeddingsLongLine: a line over MaxLineBytes is named with its
// length and the bound, not "token too long".
func TestReadEmbeddingsLongLine(t *testing.T) {
	over := `{"descriptor":[` + strings.Repeat("0.5,", MaxLineBytes/4) + `1]}`
	_, err := ReadEmbeddings(strings.NewReader("{\"descriptor\":[1]}\n"+over+"\n"), "d.jsonl", 0)
	want := fmt.Sprintf("d.jsonl:2: the line is %d bytes long, over the limit of %d bytes (1 MiB)", len(over), MaxLineBytes)
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

// FuzzLines: the lines read, joined with their endings, are the input;
// none is longer than the bound, and an over-long one is an error.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), 3)
	f.Add([]byte("0123456789\r\n"), 10)
	f.Add(bytes.Repeat([]byte("x"), 70000), 65536)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		l := NewLines(bytes.NewReader(in), "f", max)
		var n int
		for {
			b, err := l.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), fmt.Sprintf("f:%d: the line is ", l.Line())) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if len(b) > max {
				t.Fatalf("line of %d bytes returned, bound %d", len(b), max)
			}
			n += len(b)
		}
		if n > len(in) {
			t.Fatalf("read %d bytes of lines from %d", n, len(in))
		}
	})
}

// FuzzReadEmbeddings: no descriptor file makes the reader panic, every
// error says where (FILE:LINE, or FILE for a file without descriptors),
// and what it accepts keeps its promises: one length, finite values.
func FuzzReadEmbeddings(f *testing.F) {
	for _, s := range []string{
		"{\"descriptor\":[1,2],\"person\":\"a\"}\n\n{\"descriptor\":[3,4],\"model\":\"m\"}\n",
		"{\"descriptor\":[1,2]}\n{\"descriptor\":[3]}\n",
		"{\"descriptor\":null}\n", "{\"descriptor\":[1e39]}\n", "{\"descriptor\":[]}\n",
		"{\"person\":{\"a\":[1,{\"b\":null}]},\"descriptor\":[0]}\r\n",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n", "\xef\xbb\xbf{\"descriptor\":[1]}\n",
		"{\"descriptor\":[1]}{\"descriptor\":[2]}\n", "{\"descriptor\":\"1,2\"}\n",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/descriptors/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		es, err := ReadEmbeddings(bytes.NewReader(in), "d.jsonl", 0)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "d.jsonl:") && err.Error() != "d.jsonl: no descriptors" {
				t.Fatalf("error without its place: %v", err)
			}
			return
		}
		for i, e := range es {
			if len(e.Descriptor) == 0 || len(e.Descriptor) != len(es[0].Descriptor) || (i > 0 && e.Line <= es[i-1].Line) {
				t.Fatalf("embedding %d: %d values, line %d", i, len(e.Descriptor), e.Line)
			}
			for _, v := range e.Descriptor {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("embedding %d holds %v", i, v)
				}
			}
		}
	})
}

// brokenDescriptors are the descriptor files of testdata/descriptors and
// the error each must give: all name the file, and the line when there is
// one. They are FuzzReadEmbeddings' seeds too.
var brokenDescriptors = map[string]string{
	"binary-garbage.jsonl":       ":1: not a JSON object with a descriptor",
	"crlf.jsonl":                 "", // read: 2 descriptors
	"deeply-nested-person.jsonl": ":1: not a JSON object with a descriptor",
	"empty-descriptor.jsonl":     ":1: empty descriptor",
	"no-descriptor.jsonl":        `:1: no "descriptor" field`,
	"no-lines.jsonl":             ": no descriptors",
	"null-descriptor.jsonl":      `:1: no "descriptor" field`,
	"overflows-float32.jsonl":    ":1: descriptor value 1 is not a finite number",
	"person-objects.jsonl":       "", // read: 2 descriptors
	"ragged.jsonl":               ":2: descriptor has 2 values, want 3",
	"strings.jsonl":              ":1: not a JSON object with a descriptor",
	"truncated.jsonl":            ":2: not a JSON object with a descriptor",
}

func TestBrokenDescriptorFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/descriptors/*")
	if len(files) != len(brokenDescriptors) {
		t.Errorf("%d files in testdata/descriptors, %d expected", len(files), len(brokenDescriptors))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, ok := brokenDescriptors[filepath.Base(p)]
			if !ok {
				t.Fatal("no expectation for this file")
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			es, err := ReadEmbeddings(bytes.NewReader(b), p, 0)
			switch {
			case want == "" && (err != nil || len(es) != 2):
				t.Errorf("%d descriptors, %v; want 2", len(es), err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), p+want)):
				t.Errorf("error %v, want %q", err, p+want)
			}
		})
	}
}
