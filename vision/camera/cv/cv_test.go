package cv

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/models"
	"joren/vocab"
)

func TestMatProfileOn(t *testing.T) { matleak.Required(t) }

// photo reads a shared photo into a frame in Go memory, as the capture
// delivers frames.
func photo(t *testing.T, name string) frame.Image {
	t.Helper()
	m := gocv.IMRead(filepath.Join(testenv.Faces(t), name), gocv.IMReadColor)
	defer m.Close()
	if m.Empty() {
		t.Fatalf("cannot read %s", name)
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	return frame.Image{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}.Clone()
}

// TestFaces: the face of a photo is found where it is whether the photo
// is searched at full size or shrunk (boxes come back in the photo's
// pixels), in a part of the photo that is not contiguous in memory too,
// and is described by dlib's ResNet or by the ONNX network.
func TestFaces(t *testing.T) {
	matleak.Check(t)
	dir := testenv.Models(t)
	f, err := OpenFaces(dir, camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im := photo(t, "tzuyu.jpg")
	full, err := f.Detect(im, 1)
	if err != nil || len(full) != 1 {
		t.Fatalf("%v, %v: want the one face", full, err)
	}
	half, err := f.Detect(im, 0.5)
	if err != nil || len(half) != 1 || iou(full[0], half[0]) < 0.6 {
		t.Errorf("shrunk by half: %v (%v), at full size %v", half, err, full)
	}
	// The right part of the photo, face included: its rows are strides of
	// the whole photo apart.
	r := image.Rect(full[0].Min.X-full[0].Dx()/2, 0, im.Cols, im.Rows).Intersect(im.Bounds())
	part, err := f.Detect(im.Sub(r), 0.6)
	if err != nil || len(part) != 1 || iou(part[0].Add(r.Min), full[0]) < 0.6 {
		t.Errorf("in %v shrunk: %v (%v)", r, part, err)
	}

	face, err := f.Describe(im, full[0])
	if m := f.Model(); err != nil || m.Name != vocab.DlibResNetName || len(face.Descriptor) != m.Dim || len(face.Landmarks) == 0 {
		t.Errorf("dlib: model %s, %d values, %d landmarks, %v", m.ID(), len(face.Descriptor), len(face.Landmarks), err)
	}
	pts, err := f.Landmarks(im, full[0])
	if err != nil || len(pts) != len(face.Landmarks) {
		t.Errorf("landmarks %v, %v", pts, err)
	}

	s, err := models.FindONNX(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := OpenFaces(dir, camera.FaceOptions{ONNX: &s})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	crop := frame.CropAround(im, full[0], 0.5)
	nf, err := n.Describe(im.Sub(r), full[0].Sub(r.Min))
	cf, err2 := n.Describe(crop.Image, crop.Box)
	if m := n.Model(); err != nil || err2 != nil || m.ID() == f.Model().ID() || len(nf.Descriptor) != m.Dim {
		t.Fatalf("onnx: model %s, %d values: %v, %v", m.ID(), len(nf.Descriptor), err, err2)
	}
	// The same face, wherever it is cut from, is the same person.
	if d := n.Model().Distance(nf.Descriptor, cf.Descriptor); d > n.Model().Threshold/2 {
		t.Errorf("the face described in two crops is %.3f apart (threshold %.3f)", d, n.Model().Threshold)
	}
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	area := func(r image.Rectangle) float64 { return float64(r.Dx() * r.Dy()) }
	return area(in) / (area(a) + area(b) - area(in))
}

func TestOpenErrors(t *testing.T) {
	if _, err := OpenFaces(t.TempDir(), camera.FaceOptions{}); err == nil {
		t.Error("faces opened from an empty folder")
	}
	missing := models.ONNX{Name: "none"}
	if _, err := OpenFaces(testenv.Models(t), camera.FaceOptions{ONNX: &missing}); err == nil || !strings.Contains(err.Error(), "none.onnx") {
		t.Errorf("a network that is not there: %v", err)
	}
	var d Driver
	if _, err := d.OpenSource(filepath.Join(t.TempDir(), "door.avi"), camera.SourceOptions{}); err == nil || !strings.Contains(err.Error(), "door.avi") {
		t.Errorf("a recording that is not there: %v", err)
	}
	if _, err := d.OpenSource("ftp://camera/door", camera.SourceOptions{}); err == nil {
		t.Error("an unknown scheme opened")
	}
	// A camera may be plugged in later.
	if src, err := d.OpenSource("/dev/video9", camera.SourceOptions{}); err != nil || !src.Live() || !strings.Contains(src.String(), "/dev/video9") {
		t.Errorf("a camera not plugged in yet: %v", err)
	}
}

// TestSource: a picture folder played through the driver's source counts
// its frames.
func TestSource(t *testing.T) {
	matleak.Check(t)
	dir := t.TempDir()
	for _, name := range []string{"bona.jpg", "nana.jpg", "rena.jpg"} {
		b, err := os.ReadFile(filepath.Join(testenv.Faces(t), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := Driver{}.OpenSource(dir, camera.SourceOptions{FPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	if src.Live() || !strings.Contains(src.String(), "folder") {
		t.Errorf("a folder: live %v, %s", src.Live(), src)
	}
	out := make(chan *frame.Frame)
	done := make(chan error, 1)
	go func() { done <- src.Run(context.Background(), out) }()
	n := 0
	for f := range out {
		n++
		f.Release()
	}
	if err := <-done; err != nil || n != 3 || src.Stats().Frames != 3 {
		t.Errorf("%d frames, %+v, %v", n, src.Stats(), err)
	}
}
