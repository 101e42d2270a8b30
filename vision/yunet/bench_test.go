package yunet

import (
	"fmt"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/frame"
)

// BenchmarkDetect is the cost of one search at the sizes the live
// pipeline uses (docs/pipeline.md): a whole 640x480 frame (the default
// --detect-width), a 320x240 one, and the region around a tracked face
// (1.2 face widths of margin on each side, as the pipeline takes it)
// shrunk to 160x128. The frames hold one face (tzuyu.jpg's), about a
// quarter of the frame's height.
func BenchmarkDetect(b *testing.B) {
	d := open(b)
	src := photo(b, "tzuyu.jpg")
	for _, sz := range []image.Point{{640, 480}, {320, 240}, {160, 128}} {
		im := scene(b, src, sz)
		name := fmt.Sprintf("frame/%dx%d", sz.X, sz.Y)
		if sz.X == 160 {
			im = scene(b, src.Sub(image.Rect(155, 80, 400, 276)), sz)
			name = "tracked/160x128"
		}
		b.Run(name, func(b *testing.B) {
			faces := 0
			cpu := testenv.CPUTime()
			for i := 0; i < b.N; i++ {
				f, err := d.Detect(im, im.Bounds(), 1)
				if err != nil {
					b.Fatal(err)
				}
				faces += len(f)
			}
			if faces < b.N {
				b.Fatalf("%d faces in %d searches", faces, b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/search")
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/search")
			b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
		})
	}
}

// scene pastes the picture's upper part (4:3 at most), scaled to the
// frame's height, in the middle of a gray frame of the given size.
func scene(b *testing.B, src frame.Image, sz image.Point) frame.Image {
	b.Helper()
	src = src.Clone()
	m, err := gocv.NewMatFromBytes(src.Rows, src.Cols, gocv.MatTypeCV8UC3, src.Pix)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	top := m.Region(image.Rect(0, 0, src.Cols, min(src.Rows, src.Cols*3/4)))
	defer top.Close()
	h := sz.Y
	w := min(sz.X, h*top.Cols()/top.Rows())
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(top, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	out := frame.New(sz.X, sz.Y)
	for i := range out.Pix {
		out.Pix[i] = 128
	}
	px, _ := small.DataPtrUint8()
	x0 := (sz.X - w) / 2
	for y := 0; y < h; y++ {
		copy(out.Pix[y*out.Step+3*x0:], px[y*small.Step():y*small.Step()+3*w])
	}
	return out
}
