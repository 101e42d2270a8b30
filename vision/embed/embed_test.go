package embed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/quality"
	"joren/vision/verification"
	"joren/vision/yunet"
	"joren/vocab"
)

func TestMatProfile(t *testing.T) { matleak.Required(t) }

func detector(t testing.TB) *yunet.Detector {
	t.Helper()
	d, err := yunet.Open(testenv.YuNet(t), yunet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dlibEmbedder(t testing.TB, o Options) *Embedder {
	t.Helper()
	// Only what the embedder uses, as the box loads it.
	f, err := dlib.OpenParts(testenv.Models(t), dlib.Parts{ResNet: true, Shape: o.Shape})
	if err != nil {
		t.Fatal(err)
	}
	e := Dlib(detector(t), f, o)
	t.Cleanup(func() { e.Close() })
	return e
}

func onnxEmbedder(t testing.TB, o Options) *Embedder {
	t.Helper()
	dir := testenv.Models(t)
	s, err := models.FindONNX(dir, models.TestONNX.Settings.Name)
	if err != nil {
		t.Fatalf("%v (run `make models`)", err)
	}
	n, err := onnx.Open(filepath.Join(dir, s.File()), s)
	if err != nil {
		t.Fatal(err)
	}
	e := ONNX(detector(t), n, o)
	t.Cleanup(func() { e.Close() })
	return e
}

func jpeg(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Faces(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// score embeds every shared photo, keeps the person of each
// single-person photo (the largest face) when it faces the camera as the
// quality gate demands, and scores the embedder.
func score(t *testing.T, e *Embedder) verification.Score {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	var samples []verification.Sample
	for _, f := range files {
		name := filepath.Base(f)
		faces, err := e.Faces(jpeg(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "pristin.jpg" {
			if len(faces) != 10 {
				t.Errorf("pristin.jpg: %d faces, want 10", len(faces))
			}
			continue
		}
		k := vision.Largest(faces)
		if k < 0 {
			t.Errorf("%s: no face", name)
			continue
		}
		fc := faces[k]
		if fc.Five == nil || len(fc.Descriptor) != e.Model().Dim {
			t.Fatalf("%s: face %+v", name, fc)
		}
		if quality.FrontalnessFive(*fc.Five) < quality.DefaultMinFrontal {
			continue
		}
		samples = append(samples, verification.Sample{Person: strings.TrimRight(strings.TrimSuffix(name, ".jpg"), "0123456789"), Descriptor: fc.Descriptor})
	}
	s, err := verification.Evaluate(samples, e.Model().Distance)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d photos of %d people, ROC AUC %.3f, rank-1 %.3f", e.Model().Name, s.Samples, s.People, s.AUC, s.Rank1)
	return s
}

// TestDlib: dlib's ResNet on chips cut from YuNet's five points, mirrored,
// separates the people of the shared photos better than dlib's own path
// (HOG and the shape predictor's chip: ROC AUC 0.732 on the same 17
// photos; docs/embedders.md).
func TestDlib(t *testing.T) {
	matleak.Check(t)
	e := dlibEmbedder(t, Options{Mirror: true})
	if m := e.Model(); m.Name != vocab.DlibResNetName+FiveSuffix+MirrorSuffix || m.Dim != vocab.DlibResNetDim || m.Digest == "" {
		t.Errorf("model %+v", m)
	}
	if s := score(t, e); s.Samples != 17 || s.AUC < 0.78 {
		t.Errorf("%d photos, ROC AUC %.3f; want 17 and at least 0.78", s.Samples, s.AUC)
	}
}

// TestONNX: the test network aligned on YuNet's points scores at least
// the 0.964 of dlib's landmarks on these photos.
func TestONNX(t *testing.T) {
	matleak.Check(t)
	e := onnxEmbedder(t, Options{})
	if m := e.Model(); m.Name != "onnx:"+models.TestONNX.Settings.Name || m.Dim != 512 {
		t.Errorf("model %+v", m)
	}
	if s := score(t, e); s.Samples != 17 || s.AUC < 0.96 {
		t.Errorf("%d photos, ROC AUC %.3f; want 17 and at least 0.96", s.Samples, s.AUC)
	}
}

// TestShape: dlib's own chip, from the shape predictor on YuNet's box, is
// the comparison option; its model is dlib's plain one.
func TestShape(t *testing.T) {
	matleak.Check(t)
	e := dlibEmbedder(t, Options{Shape: true})
	if m := e.Model(); m.Name != vocab.DlibResNetName {
		t.Errorf("model %+v", m)
	}
	faces, err := e.Faces(jpeg(t, "tzuyu.jpg"))
	if err != nil || len(faces) != 1 || len(faces[0].Landmarks) != 68 || faces[0].Five == nil {
		t.Fatalf("%d faces, %v", len(faces), err)
	}
}

func TestBadPictures(t *testing.T) {
	matleak.Check(t)
	e := onnxEmbedder(t, Options{SearchSide: 320})
	good := jpeg(t, "tzuyu.jpg")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("shopping list")},
		{"truncated header", good[:200]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if faces, err := e.Faces(tc.data); err == nil {
				t.Errorf("%d faces, no error", len(faces))
			}
		})
	}
	// A picture too small to hold a face has none.
	faces, err := e.FacesIn(frame.New(8, 8))
	if err != nil || len(faces) != 0 {
		t.Errorf("8x8 picture: %d faces, %v", len(faces), err)
	}
}
