package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Status is what Verify found for one file.
type Status struct {
	Entry
	// Problem is empty when the file is present and matches MANIFEST.
	Problem string
}

// Verify checks that every file go-face needs, and every other file
// MANIFEST lists, is in dir and matches its MANIFEST entry, and that load (which loads the models for real) accepts
// the directory. It returns one status per file and an error naming every
// problem.
func Verify(dir string, load func(dir string) error) ([]Status, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var (
		out  []Status
		errs []error
	)
	// dlib's files must be there; every other file MANIFEST lists (YuNet
	// and its licence notice, registered ONNX networks) must be intact.
	names := append([]string(nil), Files...)
	for _, e := range man.Files {
		if !slices.Contains(names, e.Name) {
			names = append(names, e.Name)
		}
	}
	for _, name := range names {
		st := Status{Entry: Entry{Name: name}}
		p := filepath.Join(dir, name)
		e, listed := man.Lookup(name)
		if listed {
			st.Entry = e
		}
		sum, size, err := fileSHA256(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			st.Problem = "missing"
		case err != nil:
			st.Problem = err.Error()
		case !listed:
			st.Problem = "not listed in " + ManifestFile
			st.SHA256, st.Size = sum, size
		case sum != e.SHA256:
			st.Problem = fmt.Sprintf("sha256 %s, %s says %s (file changed or corrupt)", sum, ManifestFile, e.SHA256)
		}
		if st.Problem != "" {
			errs = append(errs, fmt.Errorf("%s: %s", p, st.Problem))
		}
		out = append(out, st)
	}
	if len(errs) == 0 && load != nil {
		if err := load(dir); err != nil {
			errs = append(errs, fmt.Errorf("loading %s: %w", dir, err))
		}
	}
	return out, errors.Join(errs...)
}
