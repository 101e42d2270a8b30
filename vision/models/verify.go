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

// Verify checks that every file go-face needs, the converted ResNet if
// there is one, and every other file MANIFEST lists, is in dir and matches
// its MANIFEST entry, and that load (which loads the models for real) accepts
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
	// The converted ResNet is optional (directories made before it existed
	// lack it), but checked when it is there or listed.
	if _, listed := man.Lookup(ResNetONNXFile); listed || exists(filepath.Join(dir, ResNetONNXFile)) {
		names = append(names, ResNetONNXFile)
	}
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
		case name == ResNetONNXFile:
			st.Problem = staleConversion(man, e)
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

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// staleConversion says why the converted ResNet no longer matches the
// ResNet file beside it, if it does not.
func staleConversion(man Manifest, e Entry) string {
	src, ok := man.Lookup(ResNetFile)
	if !ok {
		return "" // reported for the ResNet file itself
	}
	if e.SourceSHA256 != src.SHA256 {
		return fmt.Sprintf("converted from a ResNet file with sha256 %s, the installed one has %s (run joren models build or fetch again)", e.SourceSHA256, src.SHA256)
	}
	return ""
}
