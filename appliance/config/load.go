package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Where names the source: "joren.yaml:12", "env JOREN_CAMERA_FPS",
	// "--set camera.fps".
	Where string
	// Key is the dotted key, such as "camera.fps".
	Key string
	Msg string
	// Related keys take part in the problem; when Key was not set by the
	// user, the first of them that was names the place to look.
	Related []string
}

func (p Problem) String() string {
	switch {
	case p.Where != "" && p.Key != "":
		return fmt.Sprintf("%s: %s: %s", p.Where, p.Key, p.Msg)
	case p.Where != "":
		return fmt.Sprintf("%s: %s", p.Where, p.Msg)
	case p.Key != "":
		return fmt.Sprintf("%s: %s", p.Key, p.Msg)
	}
	return p.Msg
}

// Error lists every problem found; nothing is half-applied.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "configuration: " + lines[0]
	}
	return fmt.Sprintf("configuration: %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Override is one KEY=VALUE from the command line (--set).
type Override struct{ Key, Value string }

// Options say where overrides come from and how far Load checks.
type Options struct {
	// Environ is the process's environment: JOREN_<SECTION>_<KEY>
	// variables override the file.
	Environ []string
	// Sets are the command line's overrides (--set section.key=value);
	// they override the environment.
	Sets []Override
	// Machine checks the configuration against this machine too, as joren
	// run meets it: the files it names (keys, passwords, certificates,
	// the models, the camera's recording), the directories it writes, the
	// GPIO lines and the addresses it listens on. Off for a file meant for
	// another machine (joren config check --no-files).
	Machine bool
}

// Load reads the configuration file (path "" means defaults only),
// applies the environment's and the command line's overrides, and checks
// the result with the rules of the code that uses each key: it is both
// `joren config check` and the start of `joren run`, so that what the one
// passes the other does not refuse.
//
// It returns the configuration, its warnings (it runs, but someone should
// know: a listener open to the network, face pictures written to disk, a
// store that is not encrypted), and an *Error listing every problem. Each
// problem and warning names its key and, when the file set it, the line.
func Load(path string, o Options) (Config, []Problem, error) {
	cfg := Default()
	var problems []Problem
	where := map[string]string{} // key: where it was set
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, nil, fmt.Errorf("reading configuration: %w", err)
		}
		problems = append(problems, decodeFile(path, data, &cfg, where)...)
	}
	for _, kv := range o.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "JOREN_") {
			continue
		}
		key, ok := envKey(k)
		if !ok {
			continue // JOREN_MODELS and friends belong to other commands
		}
		if err := setKey(&cfg, key, v); err != nil {
			problems = append(problems, Problem{Where: "env " + k, Key: key, Msg: err.Error()})
		} else {
			where[key] = "env " + k
		}
	}
	for _, s := range o.Sets {
		if err := setKey(&cfg, s.Key, s.Value); err != nil {
			problems = append(problems, Problem{Where: "--set " + s.Key, Msg: err.Error()})
		} else {
			where[s.Key] = "--set " + s.Key
		}
	}
	var r report
	cfg.validate(&r)
	// The machine is asked about values that make sense only.
	if o.Machine && len(problems) == 0 && len(r.errs) == 0 {
		cfg.checkMachine(&r)
	}
	cfg.warn(&r)
	problems = byLine(path, append(problems, placed(r.errs, where)...))
	warnings := byLine(path, placed(r.warns, where))
	if len(problems) > 0 {
		return cfg, warnings, &Error{Problems: problems}
	}
	return cfg, warnings, nil
}

// placed fills in where each problem's key (or, for a key left at its
// default, the first related key) was set.
func placed(ps []Problem, where map[string]string) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		p.Where = where[p.Key]
		for _, k := range p.Related {
			if p.Where == "" {
				p.Where = where[k]
			}
		}
		out[i] = p
	}
	return out
}

// byLine orders problems as the file's lines, those of the environment
// and the command line (and keys left at their default) after them.
func byLine(path string, ps []Problem) []Problem {
	line := func(p Problem) int {
		rest, ok := strings.CutPrefix(p.Where, path+":")
		if n, err := strconv.Atoi(rest); ok && err == nil {
			return n
		}
		return math.MaxInt
	}
	sort.SliceStable(ps, func(i, j int) bool { return line(ps[i]) < line(ps[j]) })
	return ps
}

// decodeFile checks every key and value of the file against Config,
// reporting unknown keys (with a suggestion) and wrong types with their
// line, and decodes what is right into cfg. where gets the file and line
// of every key set. The file is one YAML document: a second one (after
// ---) would be ignored by a plain decoder, so it is an error here.
func decodeFile(path string, data []byte, cfg *Config, where map[string]string) []Problem {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file, or only comments: all defaults
		}
		return []Problem{syntaxProblem(path, err)}
	}
	var problems []Problem
	if len(root.Content) > 0 {
		walk(path, "", root.Content[0], reflect.ValueOf(cfg).Elem(), where, &problems)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		problems = append(problems, syntaxProblem(path, err))
	case !emptyDocument(&next):
		problems = append(problems, Problem{Where: fmt.Sprintf("%s:%d", path, next.Line),
			Msg: "a second YAML document (after ---): joren reads one document, so everything from here would be ignored; put every key in the first"})
	}
	return problems
}

// emptyDocument tells whether a document holds nothing (a trailing ---).
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == ""
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): `)

// syntaxProblem turns yaml's "yaml: line 3: ..." into "FILE:3: ...".
func syntaxProblem(path string, err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return Problem{Where: path + ":" + m[1], Msg: "not YAML: " + msg[len(m[0]):]}
	}
	return Problem{Where: path, Msg: "not YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func walk(path, prefix string, n *yaml.Node, v reflect.Value, where map[string]string, problems *[]Problem) {
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", path, n.Line) }
	if v.Kind() == reflect.Struct {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return // a section whose keys are all commented out: defaults
		}
		if n.Kind != yaml.MappingNode {
			*problems = append(*problems, Problem{Where: at(n), Key: strings.TrimSuffix(prefix, "."), Msg: "want a section of keys"})
			return
		}
		fields := yamlFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := prefix + k.Value
			idx, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := closest(k.Value, keys(fields)); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				*problems = append(*problems, Problem{Where: at(k), Key: strings.TrimSuffix(prefix, "."), Msg: msg})
				continue
			}
			if seen[k.Value] {
				*problems = append(*problems, Problem{Where: at(k), Key: key, Msg: "set twice"})
				continue
			}
			seen[k.Value] = true
			walk(path, key+".", val, v.Field(idx), where, problems)
		}
		return
	}
	key := strings.TrimSuffix(prefix, ".")
	if n.Kind != yaml.ScalarNode {
		*problems = append(*problems, Problem{Where: at(n), Key: key, Msg: "want a single value"})
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		*problems = append(*problems, Problem{Where: at(n), Key: key, Msg: typeMsg(v, n.Value)})
		return
	}
	where[key] = at(n)
}

// setKey sets a dotted key from a string, as the file would.
func setKey(cfg *Config, key, value string) error {
	v := reflect.ValueOf(cfg).Elem()
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if v.Kind() != reflect.Struct {
			return fmt.Errorf("unknown key %q", key)
		}
		fields := yamlFields(v.Type())
		idx, ok := fields[p]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", strings.Join(parts[:i+1], "."))
			if s := closest(p, keys(fields)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", strings.Join(append(parts[:i:i], s), "."))
			}
			return errors.New(msg)
		}
		v = v.Field(idx)
	}
	if v.Kind() == reflect.Struct {
		return fmt.Errorf("%q is a section, not a key", key)
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(value), &n); err != nil || len(n.Content) == 0 {
		if value == "" && v.Kind() == reflect.String {
			v.SetString("")
			return nil
		}
		return fmt.Errorf("%s", typeMsg(v, value))
	}
	if err := n.Content[0].Decode(v.Addr().Interface()); err != nil {
		return fmt.Errorf("%s", typeMsg(v, value))
	}
	return nil
}

// envKey maps JOREN_CAMERA_SOURCE to camera.source, if such a key exists.
func envKey(name string) (string, bool) {
	rest := strings.ToLower(strings.TrimPrefix(name, "JOREN_"))
	t := reflect.TypeOf(Config{})
	for section, idx := range yamlFields(t) {
		if !strings.HasPrefix(rest, section+"_") {
			continue
		}
		key := strings.TrimPrefix(rest, section+"_")
		if _, ok := yamlFields(t.Field(idx).Type)[key]; ok {
			return section + "." + key, true
		}
	}
	return "", false
}

func typeMsg(v reflect.Value, got string) string {
	switch v.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("%q is not true or false", got)
	case reflect.Int, reflect.Int64:
		return fmt.Sprintf("%q is not a whole number", got)
	case reflect.Float64:
		return fmt.Sprintf("%q is not a number", got)
	}
	return fmt.Sprintf("%q is not a valid value", got)
}

func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out[name] = i
	}
	return out
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bd := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bd {
			best, bd = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Annotated writes the configuration as YAML with every key's
// documentation as a comment above it: `joren config defaults`.
func Annotated(cfg Config) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Joren configuration (/etc/joren/joren.yaml). Every key is shown with its\n")
	b.WriteString("# default; delete what you do not change. Environment: JOREN_<SECTION>_<KEY>;\n")
	b.WriteString("# command line: joren run --set section.key=value.\n")
	v := reflect.ValueOf(cfg)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		fmt.Fprintf(&b, "\n# %s\n%s:\n", sf.Tag.Get("doc"), name)
		st := sf.Type
		for j := 0; j < st.NumField(); j++ {
			f := st.Field(j)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			for _, l := range wrap(f.Tag.Get("doc"), 76) {
				fmt.Fprintf(&b, "  # %s\n", l)
			}
			val, err := yaml.Marshal(v.Field(i).Field(j).Interface())
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "  %s: %s\n", key, strings.TrimSpace(string(val)))
		}
	}
	return b.Bytes(), nil
}

func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			out = append(out, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
