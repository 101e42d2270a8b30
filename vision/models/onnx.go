package models

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing/fstest"
	"time"
)

// ONNX describes a registered ONNX face recognition network: how it wants
// its input and the distance at which it calls two faces the same person.
type ONNX struct {
	// Name identifies the network; its file is <Name>.onnx in the model
	// directory and its descriptors record the model "onnx:<Name>".
	Name string `json:"name"`
	// Size is the side of the square, aligned input (112 for ArcFace).
	Size int `json:"size"`
	// Scale multiplies each pixel after Mean is subtracted.
	Scale float64 `json:"scale"`
	// Mean is subtracted from every channel.
	Mean float64 `json:"mean"`
	// SwapRB feeds RGB instead of OpenCV's BGR.
	SwapRB bool `json:"swap_rb"`
	// Threshold is the cosine distance under which two faces are the same
	// person: measure it on your own labelled photos (joren evaluate).
	Threshold float64 `json:"threshold"`
}

var onnxName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Check tells what is wrong with the settings, if anything.
func (o ONNX) Check() error {
	var errs []error
	if !onnxName.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("name %q (want lower-case letters, digits, '.', '_' or '-', at most 64)", o.Name))
	}
	if o.Size < 16 || o.Size > 1024 {
		errs = append(errs, fmt.Errorf("input size %d (want 16-1024, usually 112)", o.Size))
	}
	if o.Scale <= 0 {
		errs = append(errs, fmt.Errorf("scale %v (want > 0, e.g. 0.0078125 = 1/128)", o.Scale))
	}
	if o.Mean < 0 || o.Mean > 255 {
		errs = append(errs, fmt.Errorf("mean %v (want 0-255)", o.Mean))
	}
	if o.Threshold <= 0 || o.Threshold >= 2 {
		errs = append(errs, fmt.Errorf("threshold %v (a cosine distance: want between 0 and 2)", o.Threshold))
	}
	return errors.Join(errs...)
}

// File is the network's file name in the model directory.
func (o ONNX) File() string { return o.Name + ".onnx" }

// TestONNX pins the network used to test and measure the ONNX embedder: a
// MobileFaceNet (512-D) shipped in an npm package whose weights' licence is
// unclear. Tests and measurement only: never ship it.
var TestONNX = struct {
	Package, Version, TarballURL, TarballSHA256, File, FileSHA256, Licence string
	Settings                                                               ONNX
}{
	Package:       "faceplugin-face-recognition-js",
	Version:       "0.0.1",
	TarballURL:    "https://registry.npmjs.org/faceplugin-face-recognition-js/-/faceplugin-face-recognition-js-0.0.1.tgz",
	TarballSHA256: "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba",
	File:          "fr_feature.onnx",
	FileSHA256:    "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
	Licence:       "unclear (npm package MIT, weights' origin unknown): tests and measurement only, never ship",
	Settings: ONNX{
		Name: "mobilefacenet-test", Size: 112, Scale: 1.0 / 128, Mean: 127.5, SwapRB: true,
		// Between the best-balanced (0.654) and equal-error (0.670)
		// thresholds on the shared single-person photos
		// (docs/embedders.md; joren evaluate).
		Threshold: 0.66,
	},
}

// RegisterOptions describe an ONNX network to register.
type RegisterOptions struct {
	Dir string
	// Source is the .onnx file to copy into Dir.
	Source string
	// SHA256, if set, must be the source's sha256.
	SHA256   string
	Settings ONNX
	Origin   string
	Licence  string
	// Probe loads and runs the copied network (package onnx's Open) and
	// checks its descriptors on labelled photos (package embed's
	// CheckNetwork); a network OpenCV cannot run, or that fails the check,
	// is not registered.
	Probe func(path string, s ONNX) error
}

// RegisterONNX copies an ONNX network into the model directory and records
// it, with its input settings and checksum, in MANIFEST. What the file
// declares is checked first (one 3 x Size x Size input, one plausible
// descriptor output: CheckFaceNetwork), then Probe runs it.
func RegisterONNX(o RegisterOptions) error {
	if err := o.Settings.Check(); err != nil {
		return fmt.Errorf("ONNX model settings: %w", err)
	}
	if o.Probe == nil {
		return errors.New("models: RegisterONNX needs a probe")
	}
	data, err := os.ReadFile(o.Source)
	if err != nil {
		return fmt.Errorf("ONNX model: %w", err)
	}
	if err := CheckFaceNetwork(data, o.Settings); err != nil {
		return fmt.Errorf("ONNX model %s: %w", o.Source, err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	if o.SHA256 != "" && !strings.EqualFold(sum, o.SHA256) {
		return fmt.Errorf("ONNX model %s: sha256 %s, want %s", o.Source, sum, o.SHA256)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("creating model directory: %w", err)
	}
	man, err := ReadManifest(o.Dir)
	if err != nil {
		return err
	}
	if err := copyInto(o.Dir, o.Source, o.Settings.File()); err != nil {
		return err
	}
	dst := filepath.Join(o.Dir, o.Settings.File())
	if err := o.Probe(dst, o.Settings); err != nil {
		os.Remove(dst)
		return fmt.Errorf("ONNX model %s: %w", o.Source, err)
	}
	s := o.Settings
	origin := o.Origin
	if origin == "" {
		origin = "registered from " + o.Source
	}
	man.Set(Entry{Name: s.File(), SHA256: sum, Size: fileSize(dst), Origin: origin, Licence: o.Licence, ONNX: &s, Installed: time.Now().UTC()})
	return man.write(o.Dir)
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// RegisterTestONNX registers the pinned test network, from the npm tarball
// in the cache (downloaded once from the npm registry). A nil log discards.
func RegisterTestONNX(ctx context.Context, dir, cacheDir string, client *http.Client, log *slog.Logger, probe func(string, ONNX) error) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := TestONNX
	man, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	if e, ok := man.Lookup(t.Settings.File()); ok && e.SHA256 == t.FileSHA256 && e.ONNX != nil && *e.ONNX == t.Settings {
		if sum, _, err := fileSHA256(filepath.Join(dir, e.Name)); err == nil && sum == e.SHA256 {
			return nil
		}
	}
	tgz, err := cachedDownload(ctx, cacheDir, t.TarballURL, t.TarballSHA256, "the test ONNX model from the npm registry", client, log)
	if err != nil {
		return err
	}
	files := fstest.MapFS{}
	if err := readTarball(tgz, []string{t.File}, files); err != nil {
		return err
	}
	f, ok := files[t.File]
	if !ok {
		return fmt.Errorf("npm tarball %s has no model/%s", tgz, t.File)
	}
	tmp, err := os.CreateTemp(dir, "."+t.File+".*.part")
	if err != nil {
		return fmt.Errorf("unpacking the test ONNX model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Data); err != nil {
		tmp.Close()
		return fmt.Errorf("unpacking the test ONNX model: %w", err)
	}
	tmp.Close()
	return RegisterONNX(RegisterOptions{
		Dir: dir, Source: tmp.Name(), SHA256: t.FileSHA256, Settings: t.Settings, Probe: probe,
		Origin:  fmt.Sprintf("npm %s@%s model/%s", t.Package, t.Version, t.File),
		Licence: t.Licence,
	})
}

// FindONNX returns the registered network called name, or the only one if
// name is empty.
func FindONNX(dir, name string) (ONNX, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return ONNX{}, err
	}
	var found []ONNX
	for _, e := range man.Files {
		if e.ONNX != nil && (name == "" || e.ONNX.Name == name) {
			found = append(found, *e.ONNX)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && name == "":
		return ONNX{}, fmt.Errorf("no ONNX model registered in %s (joren models add-onnx, or joren models build --test-onnx for the test model)", dir)
	case len(found) == 0:
		return ONNX{}, fmt.Errorf("no ONNX model called %q registered in %s", name, dir)
	}
	var names []string
	for _, o := range found {
		names = append(names, o.Name)
	}
	return ONNX{}, fmt.Errorf("several ONNX models registered in %s (%s): choose one with --onnx-model", dir, strings.Join(names, ", "))
}
