package vision

import (
	"math"
	"strings"
	"testing"

	"joren/vision/frame"
)

// gradient is a picture whose pixel (x, y) is (x mod 256, y mod 256, 77).
func gradient(w, h int) frame.Image {
	im := frame.New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := im.Pix[y*im.Step+3*x:]
			p[0], p[1], p[2] = uint8(x), uint8(y), 77
		}
	}
	return im
}

func TestArcFace(t *testing.T) {
	if ArcFace(112) != ArcFaceTemplate {
		t.Errorf("ArcFace(112) = %v", ArcFace(112))
	}
	a := ArcFace(224)
	for i, p := range ArcFaceTemplate {
		if math.Abs(a[i].X-2*p.X) > 1e-9 || math.Abs(a[i].Y-2*p.Y) > 1e-9 {
			t.Errorf("ArcFace(224)[%d] = %v", i, a[i])
		}
	}
}

// The chip maps the landmarks onto the template: with landmarks that are
// the template shifted by (dx, dy), the chip is the picture shifted back.
func TestAlignChipShift(t *testing.T) {
	im := gradient(200, 180)
	var five [5]Point
	for i, p := range ArcFaceTemplate {
		five[i] = Point{p.X + 30, p.Y + 20}
	}
	chip, err := AlignChip(im, five, ArcFaceTemplate, 112)
	if err != nil {
		t.Fatal(err)
	}
	if chip.Cols != 112 || chip.Rows != 112 || chip.Check() != nil {
		t.Fatalf("chip %dx%d", chip.Cols, chip.Rows)
	}
	for _, xy := range [][2]int{{0, 0}, {55, 60}, {111, 111}} {
		b, g, r := chip.At(xy[0], xy[1])
		if int(b) != xy[0]+30 || int(g) != xy[1]+20 || r != 77 {
			t.Errorf("chip pixel %v = %d,%d,%d, want %d,%d,77", xy, b, g, r, xy[0]+30, xy[1]+20)
		}
	}
	// Landmarks so far left that half the chip is outside: black there.
	for i, p := range ArcFaceTemplate {
		five[i] = Point{p.X - 56, p.Y}
	}
	chip, err = AlignChip(im, five, ArcFaceTemplate, 112)
	if err != nil {
		t.Fatal(err)
	}
	if b, g, r := chip.At(10, 50); b|g|r != 0 {
		t.Errorf("pixel outside the picture: %d,%d,%d", b, g, r)
	}
	if b, _, _ := chip.At(100, 50); b != 44 {
		t.Errorf("pixel inside: %d, want 44", b)
	}
}

// A rotated, scaled face comes out upright: the landmarks of the template
// turned by 90 degrees and doubled give the template's picture back.
func TestAlignChipRotation(t *testing.T) {
	src := gradient(112, 112)
	// Draw the 112x112 gradient turned by 90 degrees and doubled: picture
	// pixel (X, Y) shows source pixel (Y/2, (223-X)/2).
	big := frame.New(224, 224)
	for y := 0; y < 224; y++ {
		for x := 0; x < 224; x++ {
			copy(big.Pix[y*big.Step+3*x:], src.Pix[(223-x)/2*src.Step+3*(y/2):][:3])
		}
	}
	var five [5]Point
	for i, p := range ArcFaceTemplate {
		five[i] = Point{223 - 2*p.Y, 2 * p.X}
	}
	chip, err := AlignChip(big, five, ArcFaceTemplate, 112)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for y := 4; y < 108; y++ {
		for x := 4; x < 108; x++ {
			b, g, _ := chip.At(x, y)
			sb, sg, _ := src.At(x, y)
			worst = math.Max(worst, math.Max(math.Abs(float64(b)-float64(sb)), math.Abs(float64(g)-float64(sg))))
		}
	}
	if worst > 2 {
		t.Errorf("upright chip differs from the source by up to %.0f levels", worst)
	}
}

// Shrinking a face a lot averages its pixels instead of picking some: a
// checkerboard of single pixels becomes even gray, not a pattern.
func TestAlignChipShrinkAverages(t *testing.T) {
	im := frame.New(600, 600)
	for y := 0; y < 600; y++ {
		for x := 0; x < 600; x++ {
			if (x+y)%2 == 0 {
				p := im.Pix[y*im.Step+3*x:]
				p[0], p[1], p[2] = 255, 255, 255
			}
		}
	}
	var five [5]Point
	for i, p := range ArcFaceTemplate {
		five[i] = Point{5*p.X + 20, 5*p.Y + 20} // a 560-pixel face into 112
	}
	chip, err := AlignChip(im, five, ArcFaceTemplate, 112)
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi uint8 = 255, 0
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			v, _, _ := chip.At(x, y)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo < 100 || hi > 155 {
		t.Errorf("shrunk checkerboard ranges %d-%d, want even gray", lo, hi)
	}
}

func TestAlignChipErrors(t *testing.T) {
	im := gradient(50, 50)
	good := ArcFaceTemplate
	same := [5]Point{{3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}}
	nan := good
	nan[2].X = math.NaN()
	far := good
	for i := range far {
		far[i].X *= 1e6
	}
	for _, tc := range []struct {
		name string
		im   frame.Image
		five [5]Point
		size int
		want string
	}{
		{"no picture", frame.Image{}, good, 112, "not a BGR image"},
		{"chip size 0", im, good, 0, "chip size 0"},
		{"chip too large", im, good, 5000, "chip size 5000"},
		{"NaN landmark", im, nan, 112, "not a number"},
		{"landmarks in one point", im, same, 112, "scale of 0"},
		{"landmarks far apart", im, far, 112, "scale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AlignChip(tc.im, tc.five, ArcFaceTemplate, tc.size); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMirror(t *testing.T) {
	im := gradient(7, 3)
	sub := im.Sub(im.Bounds().Inset(1)) // a view with a wider step
	m := Mirror(sub)
	if m.Cols != 5 || m.Rows != 1 {
		t.Fatalf("mirror %dx%d", m.Cols, m.Rows)
	}
	for x := 0; x < 5; x++ {
		b, _, _ := m.At(x, 0)
		if int(b) != 5-x {
			t.Errorf("mirror pixel %d = %d, want %d", x, b, 5-x)
		}
	}
	back := Mirror(m)
	for x := 0; x < 5; x++ {
		b1, g1, r1 := back.At(x, 0)
		b2, g2, r2 := sub.At(x, 0)
		if b1 != b2 || g1 != g2 || r1 != r2 {
			t.Errorf("mirror of the mirror differs at %d", x)
		}
	}
}

// BenchmarkAlignChip is the cost of cutting a face's chip: ArcFace's
// 112 pixels and dlib's 150 from a 150-pixel face (a face at the door),
// and dlib's from a 600-pixel face (a photo), shrunk first.
func BenchmarkAlignChip(b *testing.B) {
	im := gradient(1000, 1000)
	for _, tc := range []struct {
		name string
		face float64 // eye distance in pixels
		tmpl [5]Point
		size int
	}{
		{"arcface-112/face-150px", 60, ArcFaceTemplate, 112},
		{"dlib-150/face-150px", 60, DlibChipTemplate, DlibChipSize},
		{"dlib-150/face-600px", 240, DlibChipTemplate, DlibChipSize},
	} {
		k := tc.face / (tc.tmpl[1].X - tc.tmpl[0].X)
		var five [5]Point
		for i, p := range tc.tmpl {
			five[i] = Point{100 + k*p.X, 100 + k*p.Y}
		}
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := AlignChip(im, five, tc.tmpl, tc.size); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/chip")
		})
	}
}
