package models

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"joren/internal/atomicfile"
)

// FaceAPI pins the npm package whose weights are dlib's ResNet: the tarball
// and the two files taken from it. The weights are MIT-licensed, 8-bit
// quantised copies of dlib's network.
var FaceAPI = struct {
	Package, Version, TarballURL, TarballSHA256, ManifestSHA256, WeightsSHA256 string
}{
	Package:        "@vladmandic/face-api",
	Version:        "1.7.15",
	TarballURL:     "https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz",
	TarballSHA256:  "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
	ManifestSHA256: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
	WeightsSHA256:  "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
}

// DebianShapePredictor68 is where Debian's libdlib-data installs dlib's
// 68-point landmark model.
const DebianShapePredictor68 = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

// Licence68Warning is printed whenever the 68-point model is installed.
const Licence68Warning = "shape_predictor_5_face_landmarks.dat is Debian's 68-point model (iBUG 300-W training data): " +
	"its licence excludes commercial use. Fine for tests and evaluation; do not ship it in a product image " +
	"(use `joren models fetch` for dlib's CC0 5-point model)."

// BuildOptions configure Build.
type BuildOptions struct {
	// Dir is the model directory; it is created if needed.
	Dir string
	// FaceAPI is a directory holding face-api's two model files, or the npm
	// tarball. Empty means the pinned tarball from the npm registry, through
	// CacheDir.
	FaceAPI string
	// CacheDir keeps the downloaded tarball so later builds are offline.
	CacheDir string
	// DetectorDir holds mmod_human_face_detector.dat and
	// face_detection_yunet_2023mar.onnx, and a SHA256SUMS that lists them.
	DetectorDir string
	// ShapePredictor68 is the 68-point model to install under the 5-point
	// name; empty means DebianShapePredictor68.
	ShapePredictor68 string
	// WriteResNet serialises dlib's ResNet (package dlib's WriteResNet).
	WriteResNet func(path string, layers []Layer) error
	Client      *http.Client
	// Log receives each step of the build (nil: discarded).
	Log *slog.Logger
}

// Build provisions a model directory without dlib.net: it converts
// face-api's weights into dlib's ResNet file (and that into ResNetONNXFile
// for OpenCV), copies the checked MMOD and YuNet detectors (YuNet with its
// licence notice) and installs the 68-point landmark model under go-face's
// 5-point name. Files already built from the same inputs are kept. It returns
// warnings the user must see.
func Build(ctx context.Context, o BuildOptions) (warnings []string, err error) {
	if o.WriteResNet == nil {
		return nil, errors.New("models: Build needs a ResNet writer")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ShapePredictor68 == "" {
		o.ShapePredictor68 = DebianShapePredictor68
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating model directory: %w", err)
	}
	man, err := ReadManifest(o.Dir)
	if err != nil {
		return nil, err
	}
	// Cheap checks first: a missing input must not cost a download and a
	// conversion.
	if o.DetectorDir == "" {
		return nil, errors.New("models: no detector directory given (--detector-dir, holding " + DetectorFile + ", " + YuNetFile + " and SHA256SUMS)")
	}
	if _, err := os.Stat(o.ShapePredictor68); err != nil {
		return nil, fmt.Errorf("68-point landmark model: %w (install Debian's libdlib-data)", err)
	}

	// (a) The ResNet, converted from face-api.
	resOrigin := fmt.Sprintf("converted by joren from npm %s@%s (%s, sha256 %s; %s sha256 %s)",
		FaceAPI.Package, FaceAPI.Version, FaceAPIWeights, FaceAPI.WeightsSHA256, FaceAPIManifest, FaceAPI.ManifestSHA256)
	if !upToDate(o.Dir, man, ResNetFile, resOrigin) {
		fsys, err := LoadFaceAPI(ctx, o.FaceAPI, o.CacheDir, o.Client, o.Log)
		if err != nil {
			return nil, err
		}
		layers, err := FaceAPIResNet(fsys)
		if err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(o.Dir, "."+ResNetFile+".*.part")
		if err != nil {
			return nil, fmt.Errorf("creating ResNet file: %w", err)
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if err := o.WriteResNet(tmp.Name(), layers); err != nil {
			return nil, err
		}
		if err := installFile(o.Dir, tmp.Name(), ResNetFile); err != nil {
			return nil, err
		}
		if err := record(o.Dir, &man, ResNetFile, resOrigin, "MIT (face-api weights); network by Davis King (dlib), CC0", ""); err != nil {
			return nil, err
		}
		o.Log.Info("model file built", "file", ResNetFile)
	}
	// The same network for OpenCV's DNN module, cheaper to run than
	// dlib's own code on the same CPU (docs/pipeline.md).
	if err := convertResNet(o.Dir, &man, time.Now(), o.Log); err != nil {
		return nil, err
	}

	// (b) The MMOD detector, checked against its directory's SHA256SUMS and
	// the official checksum.
	src := filepath.Join(o.DetectorDir, DetectorFile)
	detOrigin := "copied from " + src + " (official dlib-models file, sha256 " + OfficialDetectorSHA256 + ")"
	if !upToDate(o.Dir, man, DetectorFile, detOrigin) {
		if err := checkSums(o.DetectorDir, DetectorFile, OfficialDetectorSHA256); err != nil {
			return nil, err
		}
		if err := copyInto(o.Dir, src, DetectorFile); err != nil {
			return nil, err
		}
		if err := record(o.Dir, &man, DetectorFile, detOrigin, "CC0-1.0 (dlib-models, Davis King)", ""); err != nil {
			return nil, err
		}
		o.Log.Info("model file installed", "file", DetectorFile)
	}

	// (c) YuNet, the face detector with five landmarks, checked like the
	// MMOD detector, and its licence notice.
	if err := installYuNet(o, &man); err != nil {
		return nil, err
	}

	// (d) The 68-point landmark model under the 5-point name: dlib aligns a
	// face chip from either.
	spOrigin := "copied from " + o.ShapePredictor68 + " (dlib's 68-point model, Debian libdlib-data)"
	if !upToDate(o.Dir, man, ShapePredictorFile, spOrigin) {
		if err := copyInto(o.Dir, o.ShapePredictor68, ShapePredictorFile); err != nil {
			return nil, err
		}
		if err := record(o.Dir, &man, ShapePredictorFile, spOrigin, "non-commercial (iBUG 300-W)", Licence68Warning); err != nil {
			return nil, err
		}
		o.Log.Info("model file installed", "file", ShapePredictorFile)
	}
	if e, ok := man.Lookup(ShapePredictorFile); ok && e.Note != "" {
		warnings = append(warnings, e.Note)
	}
	return warnings, nil
}

// upToDate tells whether name is installed from origin and still intact.
func upToDate(dir string, man Manifest, name, origin string) bool {
	e, ok := man.Lookup(name)
	if !ok || e.Origin != origin {
		return false
	}
	sum, _, err := fileSHA256(filepath.Join(dir, name))
	return err == nil && sum == e.SHA256
}

func record(dir string, man *Manifest, name, origin, licence, note string) error {
	sum, size, err := fileSHA256(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	man.Set(Entry{Name: name, SHA256: sum, Size: size, Origin: origin, Licence: licence, Note: note, Installed: time.Now().UTC()})
	return man.write(dir)
}

func installFile(dir, tmp, name string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	return atomicfile.Copy(filepath.Join(dir, name), f, 0o644)
}

func copyInto(dir, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying model file: %w", err)
	}
	defer f.Close()
	return atomicfile.Copy(filepath.Join(dir, name), f, 0o644)
}

// checkSums checks dir/name against the line for name in dir/SHA256SUMS and
// against want.
func checkSums(dir, name, want string) error {
	sumsPath := filepath.Join(dir, "SHA256SUMS")
	sums, err := os.ReadFile(sumsPath)
	if err != nil {
		return fmt.Errorf("checking %s: %w", filepath.Join(dir, name), err)
	}
	listed := ""
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == name {
			listed = strings.ToLower(f[0])
		}
	}
	if listed == "" {
		return fmt.Errorf("%s does not list %s", sumsPath, name)
	}
	got, _, err := fileSHA256(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("checking model file: %w", err)
	}
	if got != listed {
		return fmt.Errorf("%s: sha256 %s, but %s lists %s (corrupt copy)", filepath.Join(dir, name), got, sumsPath, listed)
	}
	if got != want {
		return fmt.Errorf("%s: sha256 %s is not the official file's %s", filepath.Join(dir, name), got, want)
	}
	return nil
}

// LoadFaceAPI returns face-api's two ResNet files, checked against their
// pinned checksums, from src (a directory or the npm tarball) or, if src is
// empty, from the pinned tarball in cacheDir, downloaded from the npm
// registry first if needed (cacheDir "" is the user cache directory). A nil
// log discards.
func LoadFaceAPI(ctx context.Context, src, cacheDir string, client *http.Client, log *slog.Logger) (fs.FS, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if src == "" {
		p, err := cachedDownload(ctx, cacheDir, FaceAPI.TarballURL, FaceAPI.TarballSHA256, "face-api weights from the npm registry", client, log)
		if err != nil {
			return nil, err
		}
		src = p
	}
	files := fstest.MapFS{}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("face-api model files: %w", err)
	}
	if st.IsDir() {
		for _, name := range []string{FaceAPIManifest, FaceAPIWeights} {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				return nil, fmt.Errorf("face-api model files: %w", err)
			}
			files[name] = &fstest.MapFile{Data: b}
		}
	} else if err := readTarball(src, []string{FaceAPIManifest, FaceAPIWeights}, files); err != nil {
		return nil, err
	}
	for name, want := range map[string]string{FaceAPIManifest: FaceAPI.ManifestSHA256, FaceAPIWeights: FaceAPI.WeightsSHA256} {
		f, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("face-api model files in %s: %s is missing", src, name)
		}
		sum := sha256.Sum256(f.Data)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, fmt.Errorf("face-api model file %s in %s: sha256 %s, want %s (not %s@%s)", name, src, got, want, FaceAPI.Package, FaceAPI.Version)
		}
	}
	return files, nil
}

// readTarball takes the files named in want (base names) out of the
// package/model/ folder of an npm tarball.
func readTarball(p string, want []string, into fstest.MapFS) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("npm tarball: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("npm tarball %s: %w", p, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("npm tarball %s: %w", p, err)
		}
		name := path.Base(h.Name)
		if path.Dir(h.Name) != "package/model" || !slices.Contains(want, name) {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return fmt.Errorf("npm tarball %s: %s: %w", p, h.Name, err)
		}
		into[name] = &fstest.MapFile{Data: b}
	}
}

// cachedDownload returns the file at url from the cache directory dir ("":
// the user cache directory's joren/), downloading it first if it is not
// there with the pinned sha256. what names the download in errors.
func cachedDownload(ctx context.Context, dir, url, sha, what string, client *http.Client, log *slog.Logger) (string, error) {
	if dir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for %s (set XDG_CACHE_HOME): %w", what, err)
		}
		dir = filepath.Join(d, "joren")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating cache directory: %w", err)
	}
	p := filepath.Join(dir, path.Base(url))
	if sum, _, err := fileSHA256(p); err == nil && sum == sha {
		return p, nil
	}
	log.Info("downloading "+what, "url", url)
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w (offline? give the file instead)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", url, err)
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != sha {
		return "", &ChecksumError{URL: url, Got: got, Want: sha}
	}
	if err := atomicfile.WriteFile(p, body, 0o644); err != nil {
		return "", err
	}
	return p, nil
}
