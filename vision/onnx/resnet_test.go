package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/models"
	"joren/vocab"
)

// resNetDir is a model directory holding the converted ResNet: the test
// model directory if `make models` converted it, otherwise a copy (links to
// the dlib files) converted here.
func resNetDir(t testing.TB) string {
	t.Helper()
	src := testenv.Models(t)
	if data, err := os.ReadFile(filepath.Join(src, models.ResNetONNXFile)); err == nil {
		dat, err := os.ReadFile(filepath.Join(src, models.ResNetFile))
		if err != nil {
			t.Fatal(err)
		}
		if s, err := models.ResNetONNXSource(data); err == nil && s == sha256hex(dat) {
			return src
		}
	}
	dir := t.TempDir()
	for _, name := range models.Files {
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := models.ConvertResNet(dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openResNet(t testing.TB) (*ResNet, *dlib.Frames) {
	t.Helper()
	dir := resNetDir(t)
	frames, err := dlib.OpenFrames(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { frames.Close() })
	r, err := OpenResNet(dir, frames, ResNetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, frames
}

func frameOf(t testing.TB, m gocv.Mat) dlib.Frame {
	t.Helper()
	pix, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	return dlib.Frame{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}
}

// TestResNetAgreesWithDlib is the bar for running dlib's network through
// OpenCV: on every face HOG finds in the shared photos, the descriptor
// agrees with dlib's own to cosine 0.9999 and the landmarks are dlib's.
func TestResNetAgreesWithDlib(t *testing.T) {
	matleak.Check(t)
	r, frames := openResNet(t)
	if r.Model() != frames.Model() || r.Model().ID() != frames.Model().ID() {
		t.Errorf("model %+v, dlib's %+v: stores would split", r.Model(), frames.Model())
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	worst, worstDist := 1.0, 0.0
	n := 0
	for _, f := range files {
		img := gocv.IMRead(f, gocv.IMReadColor)
		if img.Empty() {
			t.Fatalf("%s: unreadable", f)
		}
		fr := frameOf(t, img)
		dets, err := frames.Detect(fr, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dets {
			want, err := frames.Describe(fr, d.Box)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Describe(fr, d.Box)
			if err != nil {
				t.Fatal(err)
			}
			c := Cosine(got.Descriptor, want.Descriptor)
			dist := vocab.Euclidean.Distance(got.Descriptor, want.Descriptor)
			if !(c >= minAgreement) {
				t.Errorf("%s, face at %v: cosine %.6f with dlib's descriptor, want >= %v", filepath.Base(f), d.Box, c, minAgreement)
			}
			if len(got.Landmarks) != len(want.Landmarks) || got.Box != want.Box {
				t.Errorf("%s: %d landmarks in %v, dlib %d in %v", filepath.Base(f), len(got.Landmarks), got.Box, len(want.Landmarks), want.Box)
			}
			for i := range got.Landmarks {
				if got.Landmarks[i] != want.Landmarks[i] {
					t.Errorf("%s: landmark %d at %v, dlib %v", filepath.Base(f), i, got.Landmarks[i], want.Landmarks[i])
					break
				}
			}
			worst, worstDist = min(worst, c), max(worstDist, dist)
			n++
		}
		img.Close()
	}
	t.Logf("%d faces: cosine with dlib's descriptor at least 1 - %.1e, Euclidean distance at most %.1e (same-person threshold %v)", n, 1-worst, worstDist, vocab.DlibResNetThreshold)
	if n < 25 {
		t.Errorf("only %d faces compared", n)
	}
}

func TestResNetFaces(t *testing.T) {
	matleak.Check(t)
	r, err := OpenResNetEmbedder(resNetDir(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var _ vision.Embedder = r
	faces, err := r.Faces(jpegOf(t, "pristin.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Fatalf("%d faces in pristin.jpg, want 10", len(faces))
	}
	for i, f := range faces {
		if len(f.Descriptor) != vocab.DlibResNetDim || len(f.Landmarks) != 68 {
			t.Errorf("face %d: %d values, %d landmarks", i, len(f.Descriptor), len(f.Landmarks))
		}
		for j := 0; j < i; j++ {
			if d := r.Model().Distance(f.Descriptor, faces[j].Descriptor); d < 0.25 {
				t.Errorf("faces %d and %d of one photo %.3f apart", i, j, d)
			}
		}
	}
	if _, err := r.Faces([]byte("not a jpeg")); err == nil || !strings.Contains(err.Error(), "decoding JPEG") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := r.DescribeChip(frame.New(10, 10), false); err == nil || !strings.Contains(err.Error(), "a face chip is a 150x150 BGR image") {
		t.Errorf("short chip: %v", err)
	}
}

func TestOpenResNetErrors(t *testing.T) {
	good := resNetDir(t)
	frames, err := dlib.OpenFrames(good, false)
	if err != nil {
		t.Fatal(err)
	}
	defer frames.Close()
	dat, err := os.ReadFile(filepath.Join(good, models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	params, err := models.ReadResNet(dat)
	if err != nil {
		t.Fatal(err)
	}
	// Other weights: the first filter's weights changed.
	other := models.ResNetParams{Mean: params.Mean}
	for _, l := range params.Layers {
		other.Layers = append(other.Layers, models.Layer{Name: l.Name, Kind: l.Kind, Values: append([]float32(nil), l.Values...)})
	}
	for i := range 100 {
		other.Layers[0].Values[i] *= -1
	}
	stale, err := models.ResNetONNX(other, strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := models.ResNetONNX(other, sha256hex(dat))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		file []byte // nil: no file
		want string
		is   error
	}{
		{"missing", nil, "no " + models.ResNetONNXFile, fs.ErrNotExist},
		{"not ONNX", []byte("not a network"), "not an ONNX model", nil},
		{"another ResNet's", stale, "converted from a ResNet file with sha256 0000", nil},
		{"other weights", forged, "agrees with dlib's to cosine", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != nil {
				if err := os.WriteFile(filepath.Join(dir, models.ResNetONNXFile), tc.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := OpenResNet(dir, frames, ResNetOptions{})
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			if tc.file == nil {
				if _, err := OpenResNetEmbedder(dir, false); !errors.Is(err, ErrNoResNet) {
					t.Errorf("OpenResNetEmbedder without the file: %v, want ErrNoResNet", err)
				}
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestSetThreads checks the thread setting reaches OpenCV and leaves the
// descriptors as they are.
func TestSetThreads(t *testing.T) {
	r, _ := openResNet(t)
	before := Threads()
	defer SetThreads(before)
	chip := TestChip()
	var descs [][]float32
	for _, n := range []int{1, 2} {
		SetThreads(n)
		if got := Threads(); got != n {
			t.Errorf("SetThreads(%d): OpenCV uses %d", n, got)
		}
		d, err := r.DescribeChip(chip, false)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, d)
	}
	if c := Cosine(descs[0], descs[1]); c < 1-1e-6 || math.IsNaN(c) {
		t.Errorf("1 and 2 threads give descriptors at cosine %v", c)
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
