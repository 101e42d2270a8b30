package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"joren/internal/atomicfile"
)

// Entry records one file of a model directory.
type Entry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Origin says where the file came from and how it was made.
	Origin string `json:"origin"`
	// Licence is the file's licence as far as it is known.
	Licence string `json:"licence"`
	// Note warns about the file, such as a licence that excludes commercial
	// use.
	Note string `json:"note,omitempty"`
	// ONNX holds a registered ONNX network's input settings.
	ONNX *ONNX `json:"onnx,omitempty"`
	// SourceSHA256 is, for a file converted from another (ResNetONNXFile),
	// the sha256 of the file it was converted from.
	SourceSHA256 string `json:"source_sha256,omitempty"`
	// Installed is when the file was put in place.
	Installed time.Time `json:"installed"`
}

// Manifest is the MANIFEST file of a model directory.
type Manifest struct {
	Files []Entry `json:"files"`
}

// ReadManifest reads dir's MANIFEST. A directory without one gives an empty
// manifest and no error.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("reading model manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("parsing model manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// Lookup returns the entry for name.
func (m Manifest) Lookup(name string) (Entry, bool) {
	for _, e := range m.Files {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Set adds or replaces the entry of e.Name.
func (m *Manifest) Set(e Entry) {
	for i := range m.Files {
		if m.Files[i].Name == e.Name {
			m.Files[i] = e
			return
		}
	}
	m.Files = append(m.Files, e)
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Name < m.Files[j].Name })
}

// write replaces dir's MANIFEST atomically.
func (m Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return atomicfile.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
}

// fileSHA256 returns the hex sha256 and size of a file.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
