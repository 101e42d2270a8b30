package month_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/month"
	"joren/vocab"
)

// visitLine is one line of a visits file with a 3-value descriptor.
func visitLine(id string, minute int) string {
	return fmt.Sprintf(`{"visit":%q,"time":"2026-11-01T10:%02d:00Z","descriptors":[[1,2,3]]}`, id, minute)
}

// TestReaderRepeatedID: a second visit with an id already read is an
// error naming both lines, wherever it comes, after the visits before it.
func TestReaderRepeatedID(t *testing.T) {
	in := strings.Join([]string{visitLine("a", 0), visitLine("b", 1), "", visitLine("c", 2), visitLine("b", 3), visitLine("d", 4)}, "\n")
	rd := month.NewReader(strings.NewReader(in), "month.jsonl", 0)
	var ids []string
	var err error
	for {
		var v month.Visit
		if v, err = rd.Next(); err != nil {
			break
		}
		ids = append(ids, v.ID)
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("read %v before the error, want a,b,c", ids)
	}
	if err == nil || !strings.Contains(err.Error(), "month.jsonl:5: visit b again: line 2 has the same id") {
		t.Errorf("error %v, want one naming lines 5 and 2", err)
	}
	// The same line twice (two copies of a file joined) is no different.
	twice := visitLine("a", 0) + "\n" + visitLine("a", 0) + "\n"
	if _, err := month.ReadAll(strings.NewReader(twice), "f", 0); err == nil || !strings.Contains(err.Error(), "f:2: visit a again: line 1") {
		t.Errorf("a line repeated: %v", err)
	}
}

// TestReaderLongLines: a line over the bound says which line, how long it
// is and what the bound is, and is read past without being kept; the
// longest legitimate visit is well within it.
func TestReaderLongLines(t *testing.T) {
	// 32 descriptors of 512 values, each written with full float64
	// precision: the longest visit a 512-D network gives.
	var b strings.Builder
	b.WriteString(`{"visit":"v1","time":"2026-11-01T10:15:00Z","model":"arcface-r100@0123456789abcdef","together":["v0"],"descriptors":[`)
	for d := range month.MaxDescriptors {
		if d > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for k := range 512 {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.17g", -0.012345678901234567-float64(k)*1e-9)
		}
		b.WriteByte(']')
	}
	b.WriteString("]}")
	longest := b.String()
	if len(longest) > month.MaxLineBytes/8 {
		t.Errorf("the longest legitimate visit takes %d bytes, more than an eighth of the bound %d", len(longest), month.MaxLineBytes)
	}
	vs, err := month.ReadAll(strings.NewReader(longest+"\n"), "f", 0)
	if err != nil || len(vs) != 1 || len(vs[0].Descriptors) != month.MaxDescriptors {
		t.Fatalf("longest visit: %d visits, %v", len(vs), err)
	}
	over := `{"visit":"v3","time":"2026-11-01T10:17:00Z","descriptors":[[` + strings.Repeat("1,", month.MaxLineBytes) + `1]]}`
	in := visitLine("v1", 0) + "\n" + visitLine("v2", 1) + "\r\n" + over + "\n" + visitLine("v4", 18) + "\n"
	rd := month.NewReader(strings.NewReader(in), "big.jsonl", 3)
	for range 2 {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = rd.Next()
	want := fmt.Sprintf("big.jsonl:3: the line is %d bytes long, over the limit of %d bytes (4 MiB)", len(over), month.MaxLineBytes)
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

// TestStreamErrorsSayWhere: errors about a visit read from a file, from
// reading it or from deciding it, start with FILE:LINE.
func TestStreamErrorsSayWhere(t *testing.T) {
	model := vocab.Model{Name: "test", Dim: 3, Metric: vocab.Euclidean, Threshold: 0.5}
	svc, st := newService(t, model)
	defer st.Close()
	read := func(in string) func() (month.Visit, error) {
		return month.NewReader(strings.NewReader(in), "visits.jsonl", 3).Next
	}
	// Another model's visit on line 2: refused after line 1 is decided.
	other := strings.Replace(visitLine("b", 1), `"descriptors"`, `"model":"arcface@1","descriptors"`, 1)
	var decided int
	_, err := month.Stream(context.Background(), svc, read(visitLine("a", 0)+"\n"+other+"\n"), func(vocab.Decision) error { decided++; return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "visits.jsonl:2: visit b: descriptors of model arcface@1") || decided != 1 {
		t.Errorf("other model: %d decided, %v", decided, err)
	}
	// A store that fails while deciding: the error names the line of the
	// visit being decided, the first one not emitted.
	var lines []string
	for i := range 40 {
		lines = append(lines, visitLine(fmt.Sprintf("v%02d", i), 10+i))
	}
	svc2, st2 := newService(t, model)
	decided = 0
	_, err = month.Stream(context.Background(), svc2, read(strings.Join(lines, "\n")), func(d vocab.Decision) error {
		decided++
		if decided == 5 {
			st2.Close() // the card is pulled
		}
		return nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("visits.jsonl:%d: ", decided+1)) {
		t.Errorf("after %d decisions: %v, want an error about line %d", decided, err, decided+1)
	}
	// Generated visits have no file: their errors are as they were.
	if _, _, err := month.Replay(context.Background(), svc, []month.Visit{{ID: "g", Model: "arcface@1", Descriptors: [][]float32{{1, 2, 3}}}}); err == nil || strings.HasPrefix(err.Error(), ":") {
		t.Errorf("generated: %v", err)
	}
}

// FuzzReader: no visits file makes the reader panic or return a visit that
// breaks its promises (ids unique, times in order, descriptors of one
// length, finite, at most MaxDescriptors), and every error says FILE:LINE.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		visitLine("a", 0) + "\n" + visitLine("b", 1) + "\n",
		visitLine("a", 0) + "\n" + visitLine("a", 1) + "\n",
		visitLine("a", 1) + "\n" + visitLine("b", 0) + "\n",
		`{"visit":"a","time":"2026-11-01T10:15:00+09:00","descriptors":[[1,2],[3,4]],"together":["x"],"person":{"n":1},"model":"m"}`,
		`{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1e39]]}`,
		`{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1,2],[3]]}`,
		`{"visit":"","time":"","descriptors":null}`,
		"\r\n\r\n{\"visit\":\"a\"}\r\n",
		"[1,2,3]\n", "null\n", "{}\n", "{\"visit\":7}\n", "\xff\xfe\n",
		`{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1]]}{"visit":"b"}`,
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/visits/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rd := month.NewReader(bytes.NewReader(b), "fuzz.jsonl", 0)
		seen := map[string]bool{}
		var last month.Visit
		for {
			v, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), fmt.Sprintf("fuzz.jsonl:%d: ", rd.Line())) {
					t.Fatalf("error without FILE:LINE: %v", err)
				}
				return
			}
			switch {
			case v.ID == "" || seen[v.ID]:
				t.Fatalf("visit id %q (seen: %v)", v.ID, seen[v.ID])
			case v.Time.Before(last.Time):
				t.Fatalf("visit %s at %v before %v", v.ID, v.Time, last.Time)
			case len(v.Descriptors) == 0 || len(v.Descriptors) > month.MaxDescriptors:
				t.Fatalf("visit %s has %d descriptors", v.ID, len(v.Descriptors))
			case v.Source != fmt.Sprintf("fuzz.jsonl:%d", rd.Line()):
				t.Fatalf("visit %s from %q, read at line %d", v.ID, v.Source, rd.Line())
			}
			for _, d := range v.Descriptors {
				if len(d) != rd.Dim() || len(d) == 0 {
					t.Fatalf("descriptor of %d values, want %d", len(d), rd.Dim())
				}
			}
			seen[v.ID] = true
			last = v
		}
	})
}

// brokenVisits are the broken visits files of testdata/visits and the
// error each must give (read with descriptors of 3 values): all name the
// file and the line. They are FuzzReader's seeds too.
var brokenVisits = map[string]string{
	"33-descriptors.jsonl":               ":1: visit v1 has 33 descriptors, at most 32",
	"binary-garbage.jsonl":               ":1: not a visit",
	"concatenated-twice.jsonl":           ":3: visit v1 again: line 1 has the same id",
	"crlf-and-blank-lines.jsonl":         "", // read: 2 visits
	"deeply-nested-person.jsonl":         ":1: not a visit",
	"descriptor-nan-string.jsonl":        ":1: not a visit",
	"descriptor-overflows-float32.jsonl": ":1: visit v1: descriptor 1 value 1 is not a finite number",
	"empty-descriptor.jsonl":             ":1: visit v1: descriptor 1 has 0 values, want 3",
	"id-not-a-string.jsonl":              ":1: not a visit",
	"json-array.jsonl":                   ":1: not a visit",
	"no-final-newline.jsonl":             "", // read: 2 visits
	"no-id.jsonl":                        `:1: no "visit" id`,
	"null.jsonl":                         `:1: no "visit" id`,
	"other-model.jsonl":                  "", // read; the store refuses it (TestStreamErrorsSayWhere)
	"out-of-order.jsonl":                 ":2: visit v2 at 2026-11-01T10:01:00Z is earlier than the line before",
	"ragged-descriptors.jsonl":           ":1: visit v1: descriptor 2 has 2 values, want 3",
	"repeated-id.jsonl":                  ":3: visit v1 again: line 1 has the same id",
	"time-without-zone.jsonl":            `:1: visit v1: time "2026-11-01 10:00:00" is not RFC 3339`,
	"truncated-last-line.jsonl":          ":2: not a visit",
	"two-objects-on-a-line.jsonl":        ":1: not a visit",
	"utf16-with-bom.jsonl":               ":1: not a visit",
}

func TestBrokenVisitFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/visits/*")
	if len(files) != len(brokenVisits) {
		t.Errorf("%d files in testdata/visits, %d expected", len(files), len(brokenVisits))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, ok := brokenVisits[filepath.Base(p)]
			if !ok {
				t.Fatal("no expectation for this file")
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			vs, err := month.ReadAll(bytes.NewReader(b), p, 3)
			switch {
			case want == "" && err != nil:
				t.Errorf("%v, want it read", err)
			case want == "" && len(vs) == 0:
				t.Error("no visits")
			case want != "" && (err == nil || !strings.Contains(err.Error(), p+want)):
				t.Errorf("error %v, want %q", err, p+want)
			}
		})
	}
}
