package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Package is one package of the module, as its imports make it.
type Package struct {
	// Path is the import path, such as "joren/sync/event".
	Path string
	// Imports are the packages it imports directly (its tests' imports
	// not included).
	Imports []string
	// Deps are every package it depends on, its tests' dependencies
	// included, without the standard library.
	Deps []string
	// Cgo is set when the package has cgo files itself.
	Cgo bool
	// NeedsCgo is set when it, its tests or anything they depend on
	// has cgo files outside the standard library (whose cgo files have
	// pure-Go fallbacks), once files that need cgo by their build
	// constraint (//go:build cgo) are left out: it cannot build and test
	// with CGO_ENABLED=0.
	NeedsCgo bool
}

// listed is what `go list -json` prints of a package.
type listed struct {
	ImportPath string
	ForTest    string
	Standard   bool
	Module     *struct{ Main bool }
	CgoFiles   []string
	Imports    []string
	Deps       []string
}

// Graph lists the packages of the module in dir (a directory inside it)
// with what they depend on, tests included.
func Graph(dir string) ([]Package, error) {
	// With cgo on, go list sees every file; with it off, it drops cgo
	// files and files built only with cgo, which is what the pure-Go
	// build and tests compile.
	all, err := list(dir, true)
	if err != nil {
		return nil, err
	}
	pure, err := list(dir, false)
	if err != nil {
		return nil, err
	}
	cgo := map[string]bool{}
	for _, p := range all {
		for _, d := range p.cgoDeps {
			cgo[d] = true
		}
	}
	var pkgs []Package
	for _, p := range all {
		q := p.Package
		q.NeedsCgo = cgo[q.Path]
		for _, d := range pure[q.Path].Deps {
			q.NeedsCgo = q.NeedsCgo || cgo[d]
		}
		pkgs = append(pkgs, q)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Path < pkgs[j].Path })
	return pkgs, nil
}

// listing is a package as one go list run saw it, with the non-standard
// packages with cgo files that the run saw among its dependencies and
// itself.
type listing struct {
	Package
	cgoDeps []string
}

// list runs go list with cgo on or off.
func list(dir string, cgo bool) (map[string]listing, error) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-json=ImportPath,ForTest,Standard,Module,CgoFiles,Imports,Deps", "./...")
	cmd.Dir = dir
	env := "CGO_ENABLED=0"
	if cgo {
		env = "CGO_ENABLED=1"
	}
	cmd.Env = append(os.Environ(), env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s (%s): %w: %s", dir, env, err, strings.TrimSpace(stderr.String()))
	}
	withCgo := map[string]bool{}
	own := map[string]*Package{}
	deps := map[string]map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var l listed
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		path := base(l.ImportPath)
		if !l.Standard && len(l.CgoFiles) > 0 {
			withCgo[path] = true
		}
		if l.Module == nil || !l.Module.Main || strings.HasSuffix(l.ImportPath, ".test") {
			continue
		}
		// The package under test ("p [p.test]") and its external test
		// package ("p_test [p.test]") both count as p.
		owner := path
		if l.ForTest != "" {
			owner = l.ForTest
		}
		p := own[owner]
		if p == nil {
			p = &Package{Path: owner}
			own[owner] = p
			deps[owner] = map[string]bool{}
		}
		if l.ImportPath == owner {
			p.Imports = l.Imports
			p.Cgo = len(l.CgoFiles) > 0
		}
		for _, d := range append(l.Deps, l.Imports...) {
			d = base(d)
			if d != owner && !standard(d) {
				deps[owner][d] = true
			}
		}
	}
	res := map[string]listing{}
	for path, p := range own {
		l := listing{Package: *p}
		for d := range deps[path] {
			l.Deps = append(l.Deps, d)
			if withCgo[d] {
				l.cgoDeps = append(l.cgoDeps, d)
			}
		}
		if withCgo[path] {
			l.cgoDeps = append(l.cgoDeps, path)
		}
		sort.Strings(l.Deps)
		res[path] = l
	}
	return res, nil
}

// base drops a test variant's suffix: "p [q.test]" is p.
func base(path string) string {
	if i := strings.IndexByte(path, ' '); i >= 0 {
		return path[:i]
	}
	return path
}

// standard tells whether path is in the standard library (no dot in its
// first element), the test-variant main packages aside.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && !strings.HasPrefix(path, "joren")
}
