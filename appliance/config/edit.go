package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Edit sets keys of a configuration file's text and returns the new text:
// the file's other keys, its comments and its order stay as they were; a
// key or section the file does not have is added at the end of its
// section or of the file. Values are written as YAML scalars, strings
// quoted when YAML would read them as something else. Edit checks only
// that the keys exist: validate the result with Load.
func Edit(data []byte, changes []Override) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading the configuration to change it: %w", err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the configuration is not a mapping of sections")
	}
	for _, c := range changes {
		section, key, ok := strings.Cut(c.Key, ".")
		if !ok || strings.Contains(key, ".") {
			return nil, fmt.Errorf("%q: want section.key", c.Key)
		}
		// The key must exist, and the value must be of its type.
		probe := Default()
		if err := setKey(&probe, c.Key, c.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Key, err)
		}
		sec := lookup(root, section)
		if sec == nil {
			sec = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: section}, sec)
		}
		if sec.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: the file's %s is not a section", c.Key, section)
		}
		val := scalar(c.Value, isString(c.Key))
		if old := lookup(sec, key); old != nil {
			// Keep the comment written beside the old value.
			val.LineComment, val.HeadComment, val.FootComment = old.LineComment, old.HeadComment, old.FootComment
			*old = *val
		} else {
			sec.Content = append(sec.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("writing the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// lookup returns the value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// isString tells whether a (known) key holds a string.
func isString(key string) bool {
	v := reflect.ValueOf(Default())
	for _, p := range strings.Split(key, ".") {
		v = v.Field(yamlFields(v.Type())[p])
	}
	return v.Kind() == reflect.String
}

// scalar is value as a YAML scalar: plain when YAML reads it back as the
// same value (a string as a string), quoted otherwise.
func scalar(value string, str bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	var back yaml.Node
	if err := yaml.Unmarshal([]byte(value), &back); err == nil && len(back.Content) == 1 &&
		back.Content[0].Kind == yaml.ScalarNode && back.Content[0].Value == value && back.Content[0].Style == 0 &&
		(!str || back.Content[0].Tag == "!!str") {
		n.Tag = back.Content[0].Tag
		return n
	}
	n.Tag, n.Style = "!!str", yaml.DoubleQuotedStyle
	return n
}
