package onnx

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	b.Run("dlib-dnn", func(b *testing.B) {
		r, err := OpenResNet(resNetDir(b), frames, ResNetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := r.Describe(fr, box); err != nil {
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

// BenchmarkResNet is dlib's ResNet alone on one face chip (no landmarks, no
// chip cutting): dlib's own code against the converted network in
// OpenCV's DNN module, with OpenCV allowed one thread or two.
func BenchmarkResNet(b *testing.B) {
	dir := resNetDir(b)
	frames, err := dlib.OpenFrames(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	defer frames.Close()
	r, err := OpenResNet(dir, frames, ResNetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	chip := TestChip()
	var cpu time.Duration
	perFace := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
		b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/face")
	}
	b.Run("dlib", func(b *testing.B) {
		cpu = testenv.CPUTime()
		for i := 0; i < b.N; i++ {
			if _, err := frames.DescribeChip(chip, false); err != nil {
				b.Fatal(err)
			}
		}
		perFace(b)
	})
	before := Threads()
	defer SetThreads(before)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("dnn/threads=%d", n), func(b *testing.B) {
			SetThreads(n)
			r.DescribeChip(chip, false) // OpenCV sets its layers up on the first run
			b.ResetTimer()
			cpu = testenv.CPUTime()
			for i := 0; i < b.N; i++ {
				if _, err := r.DescribeChip(chip, false); err != nil {
					b.Fatal(err)
				}
			}
			perFace(b)
		})
	}
}

// BenchmarkYuNetOneThread is YuNet's forward pass alone (no decoding) on
// one OpenCV thread: the x86 anchor of docs/pipeline.md's board estimate,
// whose published per-board figures are the same pass on the same file.
func BenchmarkYuNetOneThread(b *testing.B) {
	net := gocv.ReadNetFromONNX(filepath.Join(testenv.Shared(b), "models", "face_detection_yunet_2023mar.onnx"))
	if net.Empty() {
		b.Fatal("YuNet did not load")
	}
	defer net.Close()
	before := Threads()
	defer SetThreads(before)
	SetThreads(1)
	for _, size := range []image.Point{{160, 128}, {320, 256}, {640, 480}} {
		b.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(b *testing.B) {
			img := gocv.NewMatWithSize(size.Y, size.X, gocv.MatTypeCV8UC3)
			defer img.Close()
			gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
			blob := gocv.BlobFromImage(img, 1, size, gocv.NewScalar(0, 0, 0, 0), false, false)
			defer blob.Close()
			forward := func() {
				net.SetInput(blob, "")
				out := net.Forward("")
				out.Close()
			}
			forward() // OpenCV sets its layers up on the first run
			b.ResetTimer()
			cpu := testenv.CPUTime()
			for i := 0; i < b.N; i++ {
				forward()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/frame")
		})
	}
}
