package vision

import (
	"image"
	"math"
	"testing"
)

func TestFitSimilarityRecoversTransform(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		scale, angle, tx, ty float64
	}{
		{"identity", 1, 0, 0, 0},
		{"shrink and turn", 0.37, 0.4, 12, -7},
		{"grow and turn back", 2.5, -1.2, -100, 55},
		{"upside down", 1, math.Pi, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.scale*math.Cos(tc.angle), tc.scale*math.Sin(tc.angle)
			var src, dst []Point
			for _, p := range ArcFaceTemplate {
				src = append(src, p)
				dst = append(dst, Point{a*p.X - b*p.Y + tc.tx, b*p.X + a*p.Y + tc.ty})
			}
			s, err := FitSimilarity(src, dst)
			if err != nil {
				t.Fatal(err)
			}
			for i := range src {
				got := s.Apply(src[i])
				if math.Hypot(got.X-dst[i].X, got.Y-dst[i].Y) > 1e-9 {
					t.Errorf("point %d maps to %v, want %v", i, got, dst[i])
				}
			}
		})
	}
}

func TestFitSimilarityLeastSquares(t *testing.T) {
	// With noisy points the fit minimises the squared error: any small
	// change of its parameters makes the error larger.
	src := ArcFaceTemplate[:]
	dst := []Point{{10, 20}, {50, 19}, {31, 41}, {14, 63}, {47, 64}}
	s, err := FitSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	cost := func(s Similarity) float64 {
		var c float64
		for i := range src {
			p := s.Apply(src[i])
			c += (p.X-dst[i].X)*(p.X-dst[i].X) + (p.Y-dst[i].Y)*(p.Y-dst[i].Y)
		}
		return c
	}
	best := cost(s)
	for _, d := range []float64{1e-3, -1e-3} {
		for k := 0; k < 4; k++ {
			p := s
			switch k {
			case 0: // a
				p[0][0] += d
				p[1][1] += d
			case 1: // b
				p[1][0] += d
				p[0][1] -= d
			case 2:
				p[0][2] += d
			case 3:
				p[1][2] += d
			}
			if c := cost(p); c < best {
				t.Errorf("perturbing parameter %d by %v lowers the error from %v to %v", k, d, best, c)
			}
		}
	}
	if _, err := FitSimilarity(src[:1], dst[:1]); err == nil {
		t.Error("one point accepted")
	}
	if _, err := FitSimilarity([]Point{{1, 1}, {1, 1}}, dst[:2]); err == nil {
		t.Error("coincident points accepted")
	}
}

func TestFivePoints(t *testing.T) {
	shape := make([]image.Point, 68)
	for i := range shape {
		shape[i] = image.Pt(i, 2*i)
	}
	got, err := FivePoints(shape)
	if err != nil {
		t.Fatal(err)
	}
	want := [5]Point{{39, 78}, {45, 90}, {30, 60}, {54, 108}, {59, 118}}
	if got != want {
		t.Errorf("five points %v, want %v", got, want)
	}
	if _, err := FivePoints(shape[:5]); err == nil {
		t.Error("a 5-point shape accepted")
	}
}
