package deptest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The module as it is keeps every rule.
func TestModuleKeepsTheRules(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Graph(filepath.Join(wd, "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: is this the module's directory?", len(pkgs))
	}
	for _, err := range Check(pkgs, Rules(), CgoAllowed()) {
		t.Error(err)
	}
}

// Each kind of breach is caught: a direct and an indirect forbidden
// dependency, a cgo file outside vision/, a package that needs cgo
// through what it imports.
func TestCheckFindsBreaches(t *testing.T) {
	pkgs := []Package{
		{Path: "joren/vocab"},
		{Path: "joren/vision/dlib", Cgo: true, NeedsCgo: true},
		{Path: "joren/cluster", Imports: []string{"joren/vocab"}, Deps: []string{"joren/vocab"}},
		{Path: "joren/device/indicator", Imports: []string{"joren/cluster"}, Deps: []string{"joren/cluster", "joren/vocab"}},
		{Path: "joren/sync/event", Imports: []string{"joren/appliance/x"}, Deps: []string{"joren/appliance/x", "joren/vision/dlib"}, NeedsCgo: true},
		{Path: "joren/appliance/x", Imports: []string{"joren/vision/dlib"}, Deps: []string{"joren/vision/dlib"}, NeedsCgo: true},
		{Path: "joren/store", Cgo: true, NeedsCgo: true},
	}
	var got []string
	for _, err := range Check(pkgs, Rules(), CgoAllowed()) {
		got = append(got, err.Error())
	}
	for _, want := range []string{
		"joren/device/indicator depends on joren/cluster",
		"joren/sync/event depends on joren/vision/dlib",
		"joren/sync/event cannot build or test without cgo",
		"joren/appliance/x imports joren/vision/dlib, which needs cgo",
		"joren/sync/event imports joren/appliance/x, which needs cgo",
		"joren/store has cgo files outside vision/",
	} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no error says %q; got:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "joren/cluster depends") }) {
		t.Errorf("cluster on vocab reported:\n%s", strings.Join(got, "\n"))
	}
}

// Graph reads a real module: a cgo package, a package importing it, a
// package whose cgo-only test file imports it (pure without cgo), and a
// pure one.
func TestGraphSeesCgo(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":           "module joren\n\ngo 1.26\n",
		"leaf/leaf.go":     "package leaf\n\n// int add(int a, int b) { return a + b; }\nimport \"C\"\n\nfunc Add(a, b int) int { return int(C.add(C.int(a), C.int(b))) }\n",
		"user/user.go":     "package user\n\nimport \"joren/leaf\"\n\nvar _ = leaf.Add\n",
		"tested/t.go":      "package tested\n",
		"tested/t_test.go": "//go:build cgo\n\npackage tested\n\nimport \"joren/leaf\"\n\nvar _ = leaf.Add\n",
		"pure/pure.go":     "package pure\n\nimport \"joren/tested\"\n\nvar _ = 1\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := Graph(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	for _, p := range pkgs {
		got[p.Path] = p
	}
	for path, want := range map[string][2]bool{ // {Cgo, NeedsCgo}
		"joren/leaf":   {true, true},
		"joren/user":   {false, true},
		"joren/tested": {false, false},
		"joren/pure":   {false, false},
	} {
		p, ok := got[path]
		if !ok {
			t.Errorf("%s not listed; got %v", path, pkgs)
			continue
		}
		if p.Cgo != want[0] || p.NeedsCgo != want[1] {
			t.Errorf("%s: Cgo %v, NeedsCgo %v; want %v, %v", path, p.Cgo, p.NeedsCgo, want[0], want[1])
		}
	}
	if !slices.Contains(got["joren/tested"].Deps, "joren/leaf") {
		t.Errorf("the cgo-only test's import is not among joren/tested's dependencies: %v", got["joren/tested"].Deps)
	}
}
