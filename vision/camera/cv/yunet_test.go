package cv

import (
	"testing"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/internal/matleak"
	"joren/vision/yunet"
)

// TestYuNetFaces: Open gives YuNet by default and dlib's detector when
// asked; YuNet's face of a photo is found with five landmarks inside its
// box, at full size and shrunk, and described on them as dlib's ResNet on
// the five-point chip, mirrored: a model of its own, with dlib's digest.
func TestYuNetFaces(t *testing.T) {
	dir := testenv.ModelsWithYuNet(t)
	matleak.Check(t)
	hog, err := Open(dir, camera.FaceOptions{Detector: camera.HOG})
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	if _, ok := hog.(*Faces); !ok {
		t.Errorf("Open with hog gave a %T", hog)
	}
	f, err := Open(dir, camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	yf, ok := f.(*YuNetFaces)
	if !ok {
		t.Fatalf("Open by default gave a %T, want YuNet's", f)
	}
	if m, d := yf.Model(), hog.Model(); m.Name != d.Name+"+five+mirror" || m.Digest != d.Digest {
		t.Errorf("model %+v, want dlib's %+v with +five+mirror", m, d)
	}
	im := photo(t, "tzuyu.jpg")
	scale := yunet.FitScale(im.Bounds(), 640)
	full, err := yf.DetectFive(im, scale)
	if err != nil || len(full) != 1 {
		t.Fatalf("%v, %v: want the one face", full, err)
	}
	for k, p := range full[0].Points {
		if b := full[0].Box; p.X < float64(b.Min.X) || p.X > float64(b.Max.X) || p.Y < float64(b.Min.Y) || p.Y > float64(b.Max.Y) {
			t.Errorf("landmark %d at %v, outside the face %v", k, p, full[0].Box)
		}
	}
	hogBoxes, err := hog.Detect(im, scale)
	if err != nil || len(hogBoxes) != 1 || iou(full[0].Box, hogBoxes[0]) < 0.4 {
		t.Errorf("YuNet's face %v, HOG's %v (%v)", full[0].Box, hogBoxes, err)
	}
	a, err := yf.DescribeFive(im, full[0].Box, full[0].Points)
	if err != nil || len(a.Descriptor) != 128 {
		t.Fatalf("%d values, %v", len(a.Descriptor), err)
	}
	// Describe finds the same face's points itself.
	b, err := yf.Describe(im, full[0].Box)
	if err != nil {
		t.Fatal(err)
	}
	if d := yf.Model().Distance(a.Descriptor, b.Descriptor); d > 1e-3 {
		t.Errorf("Describe's descriptor is %.3f from DescribeFive's", d)
	}
	// The same person's photos are nearer than another person's.
	desc := func(name string) []float32 {
		im := photo(t, name)
		d, err := yf.Describe(im, im.Bounds())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return d.Descriptor
	}
	bona, bona2 := desc("bona.jpg"), desc("bona2.jpg")
	same, other := yf.Model().Distance(bona, bona2), yf.Model().Distance(bona, a.Descriptor)
	if same >= other {
		t.Errorf("bona.jpg is %.3f from bona2.jpg, %.3f from tzuyu.jpg", same, other)
	}
}
