package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Embedding is one line of a descriptor file: one JSON object a line with
// at least "descriptor": [floats]. "person" (a label, for evaluation) and
// "model" are optional; other fields are ignored.
type Embedding struct {
	// Line is the 1-based line number in the file.
	Line       int       `json:"-"`
	Descriptor []float32 `json:"descriptor"`
	Person     string    `json:"person,omitempty"`
	Model      string    `json:"model,omitempty"`
}

// MaxLineBytes bounds one line of a descriptor file (a 512-D descriptor is
// under 10 kB; images' other fields may add some).
const MaxLineBytes = 1 << 20

// ReadEmbeddings reads a descriptor file. Every descriptor must have dim
// values (dim 0: the first line's length) and finite values; errors name
// the file and line. Blank lines are skipped.
func ReadEmbeddings(r io.Reader, name string, dim int) ([]Embedding, error) {
	lines := NewLines(r, name, MaxLineBytes)
	var out []Embedding
	for {
		b, err := lines.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(trimSpace(b)) == 0 {
			continue
		}
		var e struct {
			Descriptor *[]float64 `json:"descriptor"`
			Person     any        `json:"person"`
			Model      string     `json:"model"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, lines.At("not a JSON object with a descriptor: %v", err)
		}
		if e.Descriptor == nil {
			return nil, lines.At("no \"descriptor\" field")
		}
		d := *e.Descriptor
		if dim == 0 {
			dim = len(d)
		}
		if len(d) == 0 {
			return nil, lines.At("empty descriptor")
		}
		if len(d) != dim {
			return nil, lines.At("descriptor has %d values, want %d (every descriptor must come from one model)", len(d), dim)
		}
		v := make([]float32, len(d))
		for k, x := range d {
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxFloat32 {
				return nil, lines.At("descriptor value %d is not a finite number", k+1)
			}
			v[k] = float32(x)
		}
		p := ""
		if e.Person != nil {
			p = fmt.Sprint(e.Person)
		}
		out = append(out, Embedding{Line: lines.Line(), Descriptor: v, Person: p, Model: e.Model})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no descriptors", name)
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
