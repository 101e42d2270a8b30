package dlib

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/frame"
	"joren/vision/models"
	"joren/vision/yunet"
)

// TestOpenParts: Frames with dlib's ResNet only (YuNet's path) names the
// same model and computes the very same descriptors as with every model
// loaded; the models left out fail with an error naming them, as does the
// ResNet once dropped.
func TestOpenParts(t *testing.T) {
	dir := testenv.Models(t)
	full, err := OpenFrames(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	lean, err := OpenParts(dir, Parts{ResNet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lean.Close()
	if full.Model() != lean.Model() {
		t.Errorf("model %+v with the ResNet only, %+v with every model", lean.Model(), full.Model())
	}
	det, err := yunet.Open(testenv.YuNet(t), yunet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	img := gocv.IMRead(filepath.Join(testenv.Faces(t), "tzuyu.jpg"), gocv.IMReadColor)
	defer img.Close()
	fr := frameOf(t, img)
	im := frame.Image(fr)
	faces, err := det.Detect(im, im.Bounds(), yunet.FitScale(im.Bounds(), 640))
	if err != nil || len(faces) != 1 {
		t.Fatalf("YuNet: %d faces, %v", len(faces), err)
	}
	chip, err := ChipFromFive(fr, faces[0].Five)
	if err != nil {
		t.Fatal(err)
	}
	for _, mirror := range []bool{false, true} {
		want, err := full.DescribeChip(chip, mirror)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lean.DescribeChip(chip, mirror)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("mirror %v: the descriptor with the ResNet only differs from the one with every model", mirror)
		}
	}

	box := faces[0].Box
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"HOG", func() error { _, err := lean.Detect(fr, false); return err }, "HOG detector was not loaded"},
		{"MMOD", func() error { _, err := lean.Detect(fr, true); return err }, "CNN detector was not loaded"},
		{"landmarks", func() error { _, err := lean.Landmarks(fr, box); return err }, "shape predictor was not loaded"},
		{"chip", func() error { _, _, err := lean.Chip(fr, box); return err }, "shape predictor was not loaded"},
		{"describe", func() error { _, err := lean.Describe(fr, box); return err }, "shape predictor was not loaded"},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s without its model: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	lean.DropResNet()
	if _, err := lean.DescribeChip(chip, false); err == nil || !strings.Contains(err.Error(), "ResNet was not loaded") {
		t.Errorf("describing after DropResNet: %v", err)
	}
	if lean.Model() != full.Model() {
		t.Errorf("model after DropResNet: %+v", lean.Model())
	}
	lean.DropResNet() // twice: nothing left to free
}

// TestOpenPartsFiles: OpenParts needs only the files of the models it
// loads, and the ResNet's (its digest names the descriptors).
func TestOpenPartsFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(testenv.Models(t), models.ResNetFile)
	if err := os.Symlink(src, filepath.Join(dir, models.ResNetFile)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Parts{{}, {ResNet: true}} {
		f, err := OpenParts(dir, p)
		if err != nil {
			t.Errorf("%+v from a directory with the ResNet only: %v", p, err)
			continue
		}
		f.Close()
	}
	for _, tc := range []struct {
		p    Parts
		want string
	}{
		{Parts{Shape: true}, models.ShapePredictorFile + " is missing"},
		{Parts{MMOD: true}, models.DetectorFile + " is missing"},
	} {
		if _, err := OpenParts(dir, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.p, err, tc.want)
		}
	}
	if _, err := OpenParts(t.TempDir(), Parts{}); err == nil || !strings.Contains(err.Error(), models.ResNetFile+" is missing") {
		t.Errorf("no ResNet file: %v", err)
	}
}
