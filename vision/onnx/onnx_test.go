package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/internal/matleak"
	"joren/vision/models"
	"joren/vision/picture"
	"joren/vision/verification"
	"joren/vocab"
)

func openTest(t testing.TB) (*Embedder, models.ONNX) {
	t.Helper()
	dir := testenv.Models(t)
	s, err := models.FindONNX(dir, models.TestONNX.Settings.Name)
	if err != nil {
		t.Fatalf("%v (run `make models`, which registers the test network)", err)
	}
	net, err := Open(filepath.Join(dir, s.File()), s)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := dlib.OpenFrames(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEmbedder(frames, net, false)
	t.Cleanup(func() { e.Close() })
	return e, s
}

func jpegOf(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.Faces(t), name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := picture.Prepare(data, picture.Options{MaxSide: 2000})
	if err != nil {
		t.Fatal(err)
	}
	return p.JPEG
}

func TestModel(t *testing.T) {
	e, s := openTest(t)
	m := e.Model()
	if m.Dim != 512 || m.Metric != vocab.Cosine || m.Name != "onnx:"+s.Name || m.Digest != models.TestONNX.FileSHA256 || m.Threshold != s.Threshold {
		t.Errorf("model %+v", m)
	}
	d := Describe(s)
	if d.Name != m.Name || d.Threshold != m.Threshold || d.Metric != m.Metric {
		t.Errorf("Describe %+v differs from the loaded model %+v", d, m)
	}
}

func TestGroupPhoto(t *testing.T) {
	matleak.Check(t)
	e, _ := openTest(t)
	faces, err := e.Faces(jpegOf(t, "pristin.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Fatalf("%d faces in pristin.jpg, want 10", len(faces))
	}
	for i, f := range faces {
		var n float64
		for _, v := range f.Descriptor {
			n += float64(v) * float64(v)
		}
		if len(f.Descriptor) != 512 || math.Abs(n-1) > 1e-4 || len(f.Landmarks) != 68 {
			t.Errorf("face %d: %d values, norm² %v, %d landmarks", i, len(f.Descriptor), n, len(f.Landmarks))
		}
		for j := 0; j < i; j++ {
			if d := e.Model().Distance(f.Descriptor, faces[j].Descriptor); d < 0.3 {
				t.Errorf("faces %d and %d of one photo %.3f apart", i, j, d)
			}
		}
	}
}

// TestBeatsDlib is the bar on the shared photos: on the same
// pairs of single-person photos (same detector), the network's ROC AUC is
// at least 0.10 above dlib's.
func TestBeatsDlib(t *testing.T) {
	e, _ := openTest(t)
	r, err := dlib.Open(testenv.Models(t), dlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	var onnxS, dlibS []verification.Sample
	for _, f := range files {
		data := jpegOf(t, filepath.Base(f))
		a, err := e.Faces(data)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Faces(data)
		if err != nil {
			t.Fatal(err)
		}
		// Single-person photos where both find the face (same detector:
		// they find the same ones).
		if len(a) != 1 || len(b) != 1 {
			continue
		}
		person := strings.TrimRight(strings.TrimSuffix(filepath.Base(f), ".jpg"), "0123456789")
		onnxS = append(onnxS, verification.Sample{Person: person, Descriptor: a[0].Descriptor})
		dlibS = append(dlibS, verification.Sample{Person: person, Descriptor: b[0].Descriptor})
	}
	so, err := verification.Evaluate(onnxS, e.Model().Distance)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := verification.Evaluate(dlibS, r.Model().Distance)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d photos of %d people: ROC AUC onnx %.3f, dlib %.3f; rank-1 onnx %.3f, dlib %.3f", so.Samples, so.People, so.AUC, sd.AUC, so.Rank1, sd.Rank1)
	if so.Samples < 15 {
		t.Fatalf("only %d photos", so.Samples)
	}
	if so.AUC < sd.AUC+0.10 {
		t.Errorf("ROC AUC onnx %.3f, dlib %.3f: want onnx at least 0.10 higher", so.AUC, sd.AUC)
	}
}

func TestAlign(t *testing.T) {
	matleak.Required(t)
	matleak.Check(t)
	img := gocv.NewMatWithSize(400, 300, gocv.MatTypeCV8UC3)
	// Landmarks of a face twice the template's size, shifted.
	var five [5]vision.Point
	for i, p := range vision.ArcFaceTemplate {
		five[i] = vision.Point{X: 2*p.X + 20, Y: 2*p.Y + 50}
	}
	out := gocv.NewMat()
	if err := Align(img, five, 112, &out); err != nil {
		t.Fatal(err)
	}
	if out.Rows() != 112 || out.Cols() != 112 || out.Type() != gocv.MatTypeCV8UC3 {
		t.Errorf("aligned face %dx%d type %v", out.Cols(), out.Rows(), out.Type())
	}
	empty := gocv.NewMat()
	if err := Align(empty, five, 112, &out); err == nil || !strings.Contains(err.Error(), "empty picture") {
		t.Errorf("empty picture: %v", err)
	}
	for _, m := range []gocv.Mat{out, empty, img} {
		m.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	good := models.TestONNX.Settings
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("not a network"), 0o644)
	for _, tc := range []struct {
		name string
		path string
		s    models.ONNX
		want string
	}{
		{"missing file", filepath.Join(dir, "none.onnx"), good, "no such file"},
		{"not onnx", junk, good, "not an ONNX model"},
		{"bad settings", junk, models.ONNX{Name: "x", Size: 3}, "input size 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.path, tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
