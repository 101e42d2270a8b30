package dlib

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/picture"
)

func report(b *testing.B, per float64, unit string) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/per, unit)
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}

// BenchmarkModelLoad is the time to load the three model files.
func BenchmarkModelLoad(b *testing.B) {
	dir := testenv.Models(b)
	for i := 0; i < b.N; i++ {
		r, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
	report(b, 1, "ms/load")
}

// BenchmarkDescriptor is the cost of one face on a tight crop (200 px
// around the face): landmarks and the ResNet descriptor, with detection on
// a picture so small it costs little.
func BenchmarkDescriptor(b *testing.B) {
	r := open(b, Options{})
	data, _ := os.ReadFile(filepath.Join(testenv.Faces(b), "tzuyu.jpg"))
	p, _ := picture.Prepare(data, picture.Options{})
	faces, err := r.Faces(p.JPEG)
	if err != nil || len(faces) != 1 {
		b.Fatalf("tzuyu.jpg: %d faces, %v", len(faces), err)
	}
	img, _ := gocv.IMDecode(p.JPEG, gocv.IMReadColor)
	defer img.Close()
	box := faces[0].Box.Inset(-faces[0].Box.Dx() / 4).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	crop := img.Region(box)
	defer crop.Close()
	c, err := picture.FromMat(crop, picture.Options{MaxSide: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		faces, err := r.Faces(c.JPEG)
		if err != nil || len(faces) != 1 {
			b.Fatalf("crop: %d faces, %v", len(faces), err)
		}
	}
	report(b, 1, "ms/face")
}

// BenchmarkGroupPhoto is detection, landmarks and descriptors of the ten
// faces of pristin.jpg, per face.
func BenchmarkGroupPhoto(b *testing.B) {
	r := open(b, Options{})
	data, _ := os.ReadFile(filepath.Join(testenv.Faces(b), "pristin.jpg"))
	for i := 0; i < b.N; i++ {
		faces, err := r.Faces(data)
		if err != nil || len(faces) != 10 {
			b.Fatalf("%d faces, %v", len(faces), err)
		}
	}
	report(b, 10, "ms/face")
}

// noFaceJPEG is a w×h picture with texture but no face: detection runs
// over all of it and nothing else does.
func noFaceJPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8((x*7+y*3)%200) + uint8(rng.IntN(40))
			img.Set(x, y, color.RGBA{v, v / 2, 255 - v, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

// BenchmarkHOGDetection is the HOG detector's time per megapixel.
func BenchmarkHOGDetection(b *testing.B) {
	r := open(b, Options{})
	data := noFaceJPEG(1000, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if faces, err := r.Faces(data); err != nil || len(faces) != 0 {
			b.Fatalf("%d faces, %v", len(faces), err)
		}
	}
	report(b, 1.0, "ms/MP")
}

// BenchmarkCNNDetection is the MMOD detector's time per megapixel.
func BenchmarkCNNDetection(b *testing.B) {
	r := open(b, Options{Detector: CNN})
	data := noFaceJPEG(640, 480)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Faces(data); err != nil {
			b.Fatal(err)
		}
	}
	report(b, 640*480/1e6, "ms/MP")
}
