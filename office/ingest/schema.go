package ingest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"joren/docs"
)

// validator holds the events' schema compiled for each message kind the
// collector reads.
type validator struct {
	schemas map[string]*jsonschema.Schema
}

// newValidator compiles docs/events.schema.json (embedded in the binary:
// the schema the documentation publishes is the one enforced).
func newValidator() (*validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.EventsSchema()))
	if err != nil {
		return nil, fmt.Errorf("the events schema: %w", err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("the events schema: %w", err)
	}
	v := &validator{schemas: map[string]*jsonschema.Schema{}}
	for _, kind := range []string{"visit", "status", "stats"} {
		loc := id + "#/$defs/" + kind
		if kind == "visit" {
			loc = id
		}
		s, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("the events schema: compiling %s: %w", kind, err)
		}
		v.schemas[kind] = s
	}
	return v, nil
}

// validate checks payload against kind's schema; the error is one line.
func (v *validator) validate(kind string, payload []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := v.schemas[kind].Validate(inst); err != nil {
		return fmt.Errorf("not a valid %s message: %s", kind, oneLine(err.Error()))
	}
	return nil
}

// oneLine folds a multi-line validation error into one line of at most
// 400 characters, for the quarantine's reason column and the log.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:397] + "..."
	}
	return s
}
