package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/dlib"
)

// BenchmarkDescribe is the time to describe one detected face (landmarks
// included) with each embedder, on the same face of the same picture.
func BenchmarkDescribe(b *testing.B) {
	e, _ := openTest(b)
	frames, err := dlib.OpenFrames(testenv.Models(b), false)
	if err != nil {
		b.Fatal(err)
	}
	defer frames.Close()
	data, _ := os.ReadFile(filepath.Join(testenv.Faces(b), "tzuyu.jpg"))
	img, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	pix, _ := img.DataPtrUint8()
	fr := dlib.Frame{Pix: pix, Rows: img.Rows(), Cols: img.Cols(), Step: img.Step()}
	dets, err := frames.Detect(fr, false)
	if err != nil || len(dets) != 1 {
		b.Fatalf("%d faces, %v", len(dets), err)
	}
	box := dets[0].Box
	b.Run("dlib", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := frames.Describe(fr, box); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
	})
	b.Run("onnx", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			shape, err := frames.Landmarks(fr, box)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.DescribeShape(img, shape); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
	})
}
