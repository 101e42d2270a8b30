package month

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"joren/cluster"
)

// Visit is one line of a visits file: one passage through the door, with
// 1..k descriptors of the same face. Times are RFC 3339 and the lines are
// in time order; ids are unique within a file.
//
//	{"visit": "v00001", "time": "2026-11-01T10:15:00Z", "descriptors": [[...], ...]}
//
// Optional fields: "model" (the model ID of the descriptors; a store refuses
// another model's), "together" (ids of visits seen at the same time, who
// are therefore other people) and "person" (the truth, in generated months,
// for scoring; the store never reads it).
type Visit struct {
	ID          string      `json:"visit"`
	Time        time.Time   `json:"time"`
	Descriptors [][]float32 `json:"descriptors"`
	Model       string      `json:"model,omitempty"`
	Together    []string    `json:"together,omitempty"`
	Person      string      `json:"person,omitempty"`
	// Source is where the visit was read, FILE:LINE, for errors about it
	// ("" for a generated visit).
	Source string `json:"-"`
}

// MaxDescriptors bounds the descriptors of one visit: the live pipeline
// keeps the best few of a track, never all its frames.
const MaxDescriptors = 32

// MaxLineBytes bounds one line of a visits file: 4 MiB. The longest
// legitimate visit, 32 descriptors of 512 values written with full float64
// precision (25 bytes each), takes 0.4 MiB.
const MaxLineBytes = 4 << 20

// Reader reads a visits file line by line, checking each line. Memory does
// not grow with a line's length (MaxLineBytes) and grows with the file
// only by the ids read (a few bytes a visit), kept to refuse a repeated id.
type Reader struct {
	lines *cluster.Lines
	name  string
	dim   int
	last  time.Time
	seen  map[string]int // id -> line
}

// NewReader reads visits from r (name is used in errors). Every descriptor
// must have dim values (dim 0: as many as the first one).
func NewReader(r io.Reader, name string, dim int) *Reader {
	return &Reader{lines: cluster.NewLines(r, name, MaxLineBytes), name: name, dim: dim, seen: map[string]int{}}
}

// Line is the line number of the last visit read.
func (r *Reader) Line() int { return r.lines.Line() }

// Dim is the descriptor length (known once a visit is read).
func (r *Reader) Dim() int { return r.dim }

// Next returns the next visit, or io.EOF after the last. Errors name the
// file and line (FILE:LINE) and say what is wrong.
//
// A repeated id is an error that names both lines: a store decides a
// visit once per id (that is how an interrupted replay resumes), so the
// second visit would be silently dropped, and which of two passages is the
// real one cannot be guessed. Two files concatenated, or an exporter that
// reuses ids, must be fixed at the source.
func (r *Reader) Next() (Visit, error) {
	for {
		b, err := r.lines.Next()
		if err != nil {
			return Visit{}, err // io.EOF, or FILE:LINE: what is wrong
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return r.parse(b)
	}
}

func (r *Reader) parse(b []byte) (Visit, error) {
	var raw struct {
		ID          *string     `json:"visit"`
		Time        *string     `json:"time"`
		Descriptors [][]float64 `json:"descriptors"`
		Model       string      `json:"model"`
		Together    []string    `json:"together"`
		Person      any         `json:"person"`
	}
	at := r.lines.At
	if err := json.Unmarshal(b, &raw); err != nil {
		return Visit{}, at("not a visit (want {\"visit\": ID, \"time\": RFC 3339, \"descriptors\": [[numbers], ...]}): %v", err)
	}
	if raw.ID == nil || *raw.ID == "" {
		return Visit{}, at("no \"visit\" id")
	}
	if first, ok := r.seen[*raw.ID]; ok {
		return Visit{}, at("visit %s again: line %d has the same id (ids must be unique in a file: a store decides each id once, and resumes a replay by them)", *raw.ID, first)
	}
	if raw.Time == nil {
		return Visit{}, at("visit %s has no \"time\"", *raw.ID)
	}
	t, err := time.Parse(time.RFC3339Nano, *raw.Time)
	if err != nil {
		return Visit{}, at("visit %s: time %q is not RFC 3339 (like 2026-11-01T10:15:00Z)", *raw.ID, *raw.Time)
	}
	if t.Before(r.last) {
		return Visit{}, at("visit %s at %s is earlier than the line before (%s): visits must be in time order", *raw.ID, t.Format(time.RFC3339), r.last.Format(time.RFC3339))
	}
	if len(raw.Descriptors) == 0 {
		return Visit{}, at("visit %s has no descriptors", *raw.ID)
	}
	if len(raw.Descriptors) > MaxDescriptors {
		return Visit{}, at("visit %s has %d descriptors, at most %d are allowed", *raw.ID, len(raw.Descriptors), MaxDescriptors)
	}
	v := Visit{ID: *raw.ID, Time: t, Model: raw.Model, Together: raw.Together, Source: fmt.Sprintf("%s:%d", r.name, r.lines.Line())}
	if raw.Person != nil {
		v.Person = fmt.Sprint(raw.Person)
	}
	for i, d := range raw.Descriptors {
		if r.dim == 0 {
			r.dim = len(d)
		}
		if len(d) == 0 || len(d) != r.dim {
			return Visit{}, at("visit %s: descriptor %d has %d values, want %d (every descriptor must come from one model)", v.ID, i+1, len(d), r.dim)
		}
		f := make([]float32, len(d))
		for k, x := range d {
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxFloat32 {
				return Visit{}, at("visit %s: descriptor %d value %d is not a finite number", v.ID, i+1, k+1)
			}
			f[k] = float32(x)
		}
		v.Descriptors = append(v.Descriptors, f)
	}
	r.seen[v.ID] = r.lines.Line()
	r.last = t
	return v, nil
}

// ReadAll reads every visit of r.
func ReadAll(r io.Reader, name string, dim int) ([]Visit, error) {
	rd := NewReader(r, name, dim)
	var out []Visit
	for {
		v, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no visits", name)
	}
	return out, nil
}

// Write writes visits, one JSON object a line.
func Write(w io.Writer, visits []Visit) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, v := range visits {
		v.Time = v.Time.UTC()
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return bw.Flush()
}
