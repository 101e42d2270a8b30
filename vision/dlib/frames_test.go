package dlib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
)

func frameOf(t testing.TB, m gocv.Mat) Frame {
	t.Helper()
	pix, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	return Frame{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}
}

// TestFramesMatchGoFace: on the same picture, Frames finds the faces go-face
// finds and computes the same descriptors (up to JPEG decoder differences).
func TestFramesMatchGoFace(t *testing.T) {
	f, err := OpenFrames(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := open(t, Options{})
	for _, name := range []string{"pristin.jpg", "bona.jpg", "tzuyu.jpg"} {
		path := filepath.Join(testenv.Faces(t), name)
		want := facesOf(t, r, path)
		data, _ := os.ReadFile(path)
		img, err := gocv.IMDecode(data, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		fr := frameOf(t, img)
		dets, err := f.Detect(fr, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(dets) != len(want) {
			t.Fatalf("%s: %d faces, go-face %d", name, len(dets), len(want))
		}
		for _, w := range want {
			best := -1
			for i, d := range dets {
				if d.Box == w.Box {
					best = i
				}
			}
			if best < 0 {
				t.Errorf("%s: go-face's box %v not among %v", name, w.Box, dets)
				continue
			}
			got, err := f.Describe(fr, dets[best].Box)
			if err != nil {
				t.Fatal(err)
			}
			if d := f.Model().Distance(got.Descriptor, w.Descriptor); d > 0.02 {
				t.Errorf("%s: descriptor %.4f from go-face's", name, d)
			}
			if len(got.Landmarks) != len(w.Landmarks) {
				t.Errorf("%s: %d landmarks, go-face %d", name, len(got.Landmarks), len(w.Landmarks))
			}
		}
		img.Close()
	}
	if f.Model().ID() != r.Model().ID() {
		t.Errorf("model %s, go-face's %s", f.Model().ID(), r.Model().ID())
	}
}

func TestFramesErrors(t *testing.T) {
	f, err := OpenFrames(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Detect(Frame{Pix: make([]byte, 10), Rows: 10, Cols: 10, Step: 30}, false); err == nil || !strings.Contains(err.Error(), "not a BGR image") {
		t.Errorf("short buffer: %v", err)
	}
	fr := Frame{Pix: make([]byte, 100*100*3), Rows: 100, Cols: 100, Step: 300}
	if _, err := f.Detect(fr, true); err == nil || !strings.Contains(err.Error(), "CNN detector was not loaded") {
		t.Errorf("CNN without its model: %v", err)
	}
	if dets, err := f.Detect(fr, false); err != nil || len(dets) != 0 {
		t.Errorf("black frame: %v, %v", dets, err)
	}
	if _, err := OpenFrames(t.TempDir(), false); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("empty model dir: %v", err)
	}
}
