package onnx

import (
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
)

// TestDescribeChip: a chip cut in Go (vision.AlignChip) matches OpenCV's
// warpAffine (Align) up to AlignChip's averaging of the pixels it shrinks
// (this face is twice the chip's size), and describes the face as
// Describe does; a mirrored descriptor is normalised and close.
func TestDescribeChip(t *testing.T) {
	matleak.Check(t)
	e, s := openTest(t)
	img := gocv.IMRead(filepath.Join(testenv.Faces(t), "tzuyu.jpg"), gocv.IMReadColor)
	defer img.Close()
	pix, _ := img.DataPtrUint8()
	im := frame.Image{Pix: pix, Rows: img.Rows(), Cols: img.Cols(), Step: img.Step()}
	dets, err := e.frames.Detect(dlib.Frame(im), false)
	if err != nil || len(dets) != 1 {
		t.Fatalf("%d faces, %v", len(dets), err)
	}
	shape, err := e.frames.Landmarks(dlib.Frame(im), dets[0].Box)
	if err != nil {
		t.Fatal(err)
	}
	five, _ := vision.FivePoints(shape)
	chip, err := vision.AlignChip(im, five, vision.ArcFace(s.Size), s.Size)
	if err != nil {
		t.Fatal(err)
	}
	cv := gocv.NewMat()
	defer cv.Close()
	if err := Align(img, five, s.Size, &cv); err != nil {
		t.Fatal(err)
	}
	cvPix, _ := cv.DataPtrUint8()
	var diff float64
	for i := range chip.Pix {
		d := float64(chip.Pix[i]) - float64(cvPix[i])
		diff += max(d, -d)
	}
	if mean := diff / float64(len(chip.Pix)); mean > 3 {
		t.Errorf("Go's chip differs from OpenCV's by %.2f levels on average", mean)
	}
	want, err := e.net.Describe(img, five)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.net.DescribeChip(chip, false)
	if err != nil {
		t.Fatal(err)
	}
	dist := e.Model().Distance
	if d := dist(got, want); d > 0.02 {
		t.Errorf("descriptor of Go's chip %.4f from OpenCV's", d)
	}
	t.Logf("Go's chip: %.2f levels from OpenCV's on average, descriptor %.4f from its", diff/float64(len(chip.Pix)), dist(got, want))
	mirrored, err := e.net.DescribeChip(chip, true)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, v := range mirrored {
		n += float64(v) * float64(v)
	}
	if d := dist(mirrored, got); d < 1e-4 || d > 0.2 || n < 0.999 || n > 1.001 {
		t.Errorf("mirrored descriptor %.4f from the plain one, norm² %.4f", d, n)
	}
	// A chip of the wrong size, or none, is an error.
	for _, c := range []frame.Image{frame.New(150, 150), {}} {
		if _, err := e.net.DescribeChip(c, false); err == nil || !strings.Contains(err.Error(), "want a 112x112") {
			t.Errorf("chip %dx%d: %v", c.Cols, c.Rows, err)
		}
	}
}
