package boltfile

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDamaged is what every *DamageError is (errors.Is).
var ErrDamaged = errors.New("damaged")

// maxProblems bounds the problems a DamageError keeps: a file with one
// lost page can have thousands of consequences, and the first few say
// what happened.
const maxProblems = 8

// DamageError says a file is damaged and how.
type DamageError struct {
	Path string
	// Problems are the first problems found, each a sentence fragment
	// ("page 17: runs past the end of the file").
	Problems []string
	// More counts the problems found beyond Problems.
	More int
}

func (e *DamageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is damaged: %s", e.Path, strings.Join(e.Problems, "; "))
	if e.More > 0 {
		fmt.Fprintf(&b, " (and %d more problems)", e.More)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// Damaged makes a DamageError of problems (the first few are kept).
func Damaged(path string, problems ...string) *DamageError {
	e := &DamageError{Path: path}
	for _, p := range problems {
		e.add(p)
	}
	return e
}

func (e *DamageError) add(p string) {
	if len(e.Problems) < maxProblems {
		e.Problems = append(e.Problems, p)
	} else {
		e.More++
	}
}

// problems collects what a walk finds wrong.
type problems struct {
	list []string
	n    int
}

func (p *problems) addf(format string, a ...any) {
	p.n++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, a...))
	}
}

func (p *problems) err(path string) error {
	if p.n == 0 {
		return nil
	}
	return &DamageError{Path: path, Problems: p.list, More: p.n - len(p.list)}
}
