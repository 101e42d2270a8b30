package schematest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"joren/internal/testenv"
)

// Kinds are the message types the schema defines: "visit" is its root,
// the others are under $defs.
func Kinds() []string { return []string{"visit", "status", "stats", "command", "reply", "probe"} }

// Validator holds the compiled schema of every kind.
type Validator struct {
	t       testing.TB
	schemas map[string]*jsonschema.Schema
}

// New compiles docs/events.schema.json, failing the test if it cannot.
func New(t testing.TB) *Validator {
	t.Helper()
	path := filepath.Join(testenv.Root(t), "docs", "events.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("schematest: the events schema: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schematest: %s: %v", path, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("schematest: %s: %v", path, err)
	}
	v := &Validator{t: t, schemas: map[string]*jsonschema.Schema{}}
	for _, k := range Kinds() {
		loc := id + "#/$defs/" + k
		if k == "visit" {
			loc = id
		}
		s, err := c.Compile(loc)
		if err != nil {
			t.Fatalf("schematest: %s: compiling %s: %v", path, loc, err)
		}
		v.schemas[k] = s
	}
	return v
}

// Validate checks payload, a JSON message, against the schema of kind.
func (v *Validator) Validate(kind string, payload []byte) error {
	v.t.Helper()
	s, ok := v.schemas[kind]
	if !ok {
		v.t.Fatalf("schematest: no schema for %q (have %v)", kind, Kinds())
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}
