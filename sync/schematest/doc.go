// Package schematest validates messages against docs/events.schema.json,
// the published JSON Schema of everything a device sends or accepts.
package schematest
