package deptest

import (
	"fmt"
	"slices"
	"strings"
)

// under tells whether path is dir or a package below it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// Rule forbids the packages it governs to depend, directly or through
// another package, tests included, on the packages it forbids.
type Rule struct {
	Why       string
	Governs   func(path string) bool
	Forbidden func(dep string) bool
}

// Rules are docs/architecture.md's rules for the module joren.
func Rules() []Rule {
	return []Rule{
		{
			"device/ knows nothing of the identity store or the camera",
			func(p string) bool { return under(p, "joren/device") },
			func(d string) bool { return under(d, "joren/cluster") || under(d, "joren/vision") },
		},
		{
			"sync/ works on the shared vocabulary, not on the identity store or the camera",
			func(p string) bool { return under(p, "joren/sync") },
			func(d string) bool { return under(d, "joren/cluster") || under(d, "joren/vision") },
		},
		{
			"cluster/ knows nothing of the camera",
			func(p string) bool { return under(p, "joren/cluster") },
			func(d string) bool { return under(d, "joren/vision") },
		},
		{
			"head office knows the boxes by their events only",
			func(p string) bool { return under(p, "joren/office") },
			func(d string) bool {
				return under(d, "joren/cluster") || under(d, "joren/vision") || under(d, "joren/device") || under(d, "joren/appliance")
			},
		},
		{
			"the shared vocabulary depends on nothing but the standard library",
			func(p string) bool { return under(p, "joren/vocab") },
			func(string) bool { return true },
		},
	}
}

// CgoAllowed are the packages outside vision/ that may depend on cgo
// packages: the binary, which links the camera side in and hands it to
// the appliance (vision/camera/cv's Driver).
func CgoAllowed() []string { return []string{"joren/cmd/joren"} }

// Check lists every broken rule of pkgs: the import rules, and cgo
// staying in leaves under vision/ (outside it, only the packages of
// allowed may need cgo; test files that need it say so with
// //go:build cgo).
func Check(pkgs []Package, rules []Rule, allowed []string) []error {
	var errs []error
	for _, r := range rules {
		governed := 0
		for _, p := range pkgs {
			if !r.Governs(p.Path) {
				continue
			}
			governed++
			for _, d := range p.Deps {
				if r.Forbidden(d) {
					errs = append(errs, fmt.Errorf("%s: %s depends on %s", r.Why, p.Path, d))
				}
			}
		}
		if governed == 0 {
			errs = append(errs, fmt.Errorf("%s: no package is governed by the rule", r.Why))
		}
	}
	needs := map[string]bool{}
	for _, p := range pkgs {
		needs[p.Path] = p.NeedsCgo
	}
	for _, p := range pkgs {
		if p.Cgo && !under(p.Path, "joren/vision") {
			errs = append(errs, fmt.Errorf("%s has cgo files outside vision/", p.Path))
		}
		if under(p.Path, "joren/vision") || slices.Contains(allowed, p.Path) {
			continue
		}
		if p.NeedsCgo {
			errs = append(errs, fmt.Errorf("%s cannot build or test without cgo; cgo belongs in a leaf under vision/", p.Path))
		}
		for _, d := range p.Imports {
			if needs[d] {
				errs = append(errs, fmt.Errorf("%s imports %s, which needs cgo", p.Path, d))
			}
		}
	}
	return errs
}
