// Package docs is the product's documentation. Its only Go is the JSON
// Schema of the events (events.schema.json) embedded, so that head office
// validates what it receives against the very file the documentation
// publishes, not against a copy that could drift from it.
package docs

import _ "embed"

//go:embed events.schema.json
var eventsSchema []byte

// EventsSchema returns the JSON Schema of every message a box sends
// (docs/events.md): the visit event at its root, the others under $defs.
func EventsSchema() []byte { return append([]byte(nil), eventsSchema...) }
