package embed

import (
	"path/filepath"
	"testing"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/frame"
	"joren/vision/models"
	"joren/vision/onnx"
)

// BenchmarkDescribeFive is the cost of describing one face found by YuNet
// (tzuyu.jpg's, 150 pixels wide), from its five landmarks: the chip cut in
// Go and the network, with and without test-time mirroring (which runs
// the network twice).
func BenchmarkDescribeFive(b *testing.B) {
	det := detector(b)
	defer det.Close()
	faces, err := CheckFaces(det, []string{filepath.Join(testenv.Faces(b), "tzuyu.jpg")})
	if err != nil || len(faces) != 1 {
		b.Fatalf("%d faces, %v", len(faces), err)
	}
	im, five := faces[0].Crop, faces[0].Five
	frames, err := dlib.OpenFrames(testenv.Models(b), false)
	if err != nil {
		b.Fatal(err)
	}
	defer frames.Close()
	dir := testenv.Models(b)
	s, err := models.FindONNX(dir, models.TestONNX.Settings.Name)
	if err != nil {
		b.Fatal(err)
	}
	net, err := onnx.Open(filepath.Join(dir, s.File()), s)
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	run := func(name string, describe func(im frame.Image) error) {
		b.Run(name, func(b *testing.B) {
			cpu := testenv.CPUTime()
			for i := 0; i < b.N; i++ {
				if err := describe(im); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/face")
		})
	}
	for _, mirror := range []bool{false, true} {
		suffix := ""
		if mirror {
			suffix = "-mirrored"
		}
		run("dlib"+suffix, func(im frame.Image) error {
			chip, err := dlib.ChipFromFive(dlib.Frame(im), five)
			if err != nil {
				return err
			}
			_, err = frames.DescribeChip(chip, mirror)
			return err
		})
		run("onnx"+suffix, func(im frame.Image) error {
			chip, err := vision.AlignChip(im, five, vision.ArcFace(s.Size), s.Size)
			if err != nil {
				return err
			}
			_, err = net.DescribeChip(chip, mirror)
			return err
		})
	}
}
