package dlib

import (
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/frame"
	"joren/vision/yunet"
)

// TestChips: the chip Chip cuts, described by DescribeChip, gives what
// Describe gives; a chip cut from YuNet's five points without any shape
// predictor (vision.DlibChipTemplate) lands near it; a mirrored
// descriptor stays close to the plain one; chips are described in batches.
func TestChips(t *testing.T) {
	f, err := OpenFrames(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	det, err := yunet.Open(testenv.YuNet(t), yunet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	dist := f.Model().Distance
	var plain [][]float32
	for _, name := range []string{"tzuyu.jpg", "jimin6.jpg", "bona2.jpg"} {
		img := gocv.IMRead(filepath.Join(testenv.Faces(t), name), gocv.IMReadColor)
		fr := frameOf(t, img)
		dets, err := f.Detect(fr, false)
		if err != nil || len(dets) != 1 {
			t.Fatalf("%s: %d faces, %v", name, len(dets), err)
		}
		want, err := f.Describe(fr, dets[0].Box)
		if err != nil {
			t.Fatal(err)
		}
		chip, shape, err := f.Chip(fr, dets[0].Box)
		if err != nil {
			t.Fatal(err)
		}
		if chip.Cols != ChipSize || chip.Rows != ChipSize || len(shape) != len(want.Landmarks) {
			t.Fatalf("%s: chip %dx%d, %d landmarks", name, chip.Cols, chip.Rows, len(shape))
		}
		got, err := f.DescribeChip(chip, false)
		if err != nil {
			t.Fatal(err)
		}
		if d := dist(got, want.Descriptor); d > 1e-4 {
			t.Errorf("%s: the chip's descriptor is %.5f from Describe's", name, d)
		}
		mirrored, err := f.DescribeChip(chip, true)
		if err != nil {
			t.Fatal(err)
		}
		if d := dist(mirrored, got); d < 1e-3 || d > 0.15 {
			t.Errorf("%s: mirrored descriptor %.4f from the plain one", name, d)
		}
		// YuNet's five points cut nearly the same chip.
		im := frame.Image(fr)
		faces, err := det.Detect(im, im.Bounds(), yunet.FitScale(im.Bounds(), 640))
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: YuNet found %d faces, %v", name, len(faces), err)
		}
		five, err := ChipFromFive(fr, faces[0].Five)
		if err != nil {
			t.Fatal(err)
		}
		d5, err := f.DescribeChip(five, false)
		if err != nil {
			t.Fatal(err)
		}
		// dlib's network is sensitive to alignment: a chip shifted by a
		// few pixels moves the descriptor by 0.1-0.3 (docs/embedders.md
		// measures which alignment separates people better).
		if d := dist(d5, got); d > 0.3 {
			t.Errorf("%s: descriptor of the five-point chip %.3f from dlib's own chip's", name, d)
		}
		t.Logf("%s: five-point chip %.3f from dlib's own chip, mirror %.3f from plain", name, dist(d5, got), dist(mirrored, got))
		plain = append(plain, got)
		img.Close()
	}
	// A batch gives each chip's own descriptor.
	chips := make([]frame.Image, 0, 3)
	for _, name := range []string{"tzuyu.jpg", "jimin6.jpg", "bona2.jpg"} {
		img := gocv.IMRead(filepath.Join(testenv.Faces(t), name), gocv.IMReadColor)
		fr := frameOf(t, img)
		dets, _ := f.Detect(fr, false)
		c, _, err := f.Chip(fr, dets[0].Box)
		if err != nil {
			t.Fatal(err)
		}
		chips = append(chips, c)
		img.Close()
	}
	batch, err := f.DescribeChips(chips...)
	if err != nil || len(batch) != 3 {
		t.Fatalf("%d descriptors, %v", len(batch), err)
	}
	for i := range batch {
		if d := dist(batch[i], plain[i]); d > 1e-4 {
			t.Errorf("chip %d in a batch: %.5f from alone", i, d)
		}
	}
}

func TestChipErrors(t *testing.T) {
	f, err := OpenFrames(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	good := frame.New(ChipSize, ChipSize)
	for _, tc := range []struct {
		name  string
		chips []frame.Image
		want  string
	}{
		{"wrong size", []frame.Image{frame.New(112, 112)}, "face chip 0 is 112x112, want a 150x150"},
		{"not an image", []frame.Image{good, {}}, "face chip 1 is 0x0"},
		{"too many", make([]frame.Image, 17), "at most 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.DescribeChips(tc.chips...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if d, err := f.DescribeChips(); err != nil || d != nil {
		t.Errorf("no chips: %v, %v", d, err)
	}
	if _, err := f.DescribeChip(frame.Image{}, true); err == nil {
		t.Error("mirroring no chip: no error")
	}
	if _, _, err := f.Chip(Frame{Pix: make([]byte, 3), Rows: 10, Cols: 10, Step: 30}, vision.Face{}.Box); err == nil || !strings.Contains(err.Error(), "not a BGR image") {
		t.Errorf("chip of a short buffer: %v", err)
	}
	if _, err := ChipFromFive(Frame(good), [5]vision.Point{}); err == nil {
		t.Error("chip from five points in one place: no error")
	}
}
