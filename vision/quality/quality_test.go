package quality

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"joren/vision"
	"joren/vision/frame"
)

// head is a rough 3-D face: eyes at x = ±1 (the 68-point eye contours as
// six points each), nose tip 1.0 in front of them (half the eye distance),
// nose base 0.6 in front; turned by yaw degrees and seen from the front,
// scaled to pixels.
func head(yaw float64, n int) []image.Point {
	th := yaw * math.Pi / 180
	proj := func(x, y, z float64) image.Point {
		return image.Pt(int(math.Round(200+60*(x*math.Cos(th)+z*math.Sin(th)))), int(math.Round(200+60*y)))
	}
	switch n {
	case 68:
		pts := make([]image.Point, 68)
		for i := 0; i < 6; i++ {
			dx := 0.3 * math.Cos(float64(i)*math.Pi/3)
			dy := 0.15 * math.Sin(float64(i)*math.Pi/3)
			pts[36+i] = proj(-1+dx, dy, 0)
			pts[42+i] = proj(1+dx, dy, 0)
		}
		pts[30] = proj(0, 0.9, 1.0)
		return pts
	case 5:
		return []image.Point{proj(1.3, 0, 0), proj(0.7, 0, 0), proj(-1.3, 0, 0), proj(-0.7, 0, 0), proj(0, 1.1, 0.6)}
	}
	return make([]image.Point, n)
}

// headFive is a 3-D face's five ArcFace landmarks (the geometry of the
// usual head-pose model: eye centres at x = ±1, the nose tip 0.8 in front
// of them, mouth corners at x = ±1 level with the eyes' depth) turned by
// yaw degrees and seen from the front, in pixels.
func headFive(yaw float64) [5]vision.Point {
	th := yaw * math.Pi / 180
	proj := func(x, y, z float64) vision.Point {
		return vision.Point{X: 200 + 60*(x*math.Cos(th)+z*math.Sin(th)), Y: 200 + 60*y}
	}
	return [5]vision.Point{proj(-1, 0, 0), proj(1, 0, 0), proj(0, 0.9, 0.8), proj(-1, 1.7, 0), proj(1, 1.7, 0)}
}

func TestFrontalnessFive(t *testing.T) {
	prev := 2.0
	for _, tc := range []struct {
		yaw      float64
		min, max float64
	}{
		{0, 1, 1},
		{10, 0.9, 0.93},
		{20, 0.8, 0.84},
		{30, 0.68, 0.73},
		{45, 0.45, 0.52},
		{55, 0, 0}, // the nose tip beyond a mouth corner: a profile
		{80, 0, 0},
	} {
		for _, sign := range []float64{1, -1} {
			f := FrontalnessFive(headFive(sign * tc.yaw))
			if f < tc.min || f > tc.max {
				t.Errorf("yaw %+.0f: frontalness %.3f, want %.2f-%.2f", sign*tc.yaw, f, tc.min, tc.max)
			}
			if f > prev+1e-9 {
				t.Errorf("frontalness rises with yaw %.0f", tc.yaw)
			}
		}
		prev = FrontalnessFive(headFive(tc.yaw))
	}
	// A tilted (rolled) head is as frontal as an upright one.
	up, rolled := headFive(20), headFive(20)
	for i, p := range rolled {
		a := 0.5
		rolled[i] = vision.Point{X: 200 + (p.X-200)*math.Cos(a) - (p.Y-200)*math.Sin(a), Y: 200 + (p.X-200)*math.Sin(a) + (p.Y-200)*math.Cos(a)}
	}
	if a, b := FrontalnessFive(up), FrontalnessFive(rolled); math.Abs(a-b) > 1e-9 {
		t.Errorf("rolled head %.3f, upright %.3f", b, a)
	}
	nan := headFive(0)
	nan[1].X = math.NaN()
	inf := headFive(0)
	inf[4].Y = math.Inf(-1)
	for name, five := range map[string][5]vision.Point{
		"NaN": nan, "infinite": inf, "all in one point": {}, "eyes in one point": {{X: 10, Y: 10}, {X: 10, Y: 10}, {X: 10, Y: 20}, {X: 5, Y: 30}, {X: 15, Y: 30}},
	} {
		if f := FrontalnessFive(five); f != 0 {
			t.Errorf("%s: frontalness %v", name, f)
		}
	}
}

func TestFrontalnessOf(t *testing.T) {
	five := headFive(30)
	if got, want := FrontalnessOf(vision.Face{Five: &five, Landmarks: head(0, 68)}), FrontalnessFive(five); got != want {
		t.Errorf("a face with five landmarks: %v, want theirs %v", got, want)
	}
	if got, want := FrontalnessOf(vision.Face{Landmarks: head(30, 68)}), Frontalness(head(30, 68)); got != want {
		t.Errorf("a face with a shape: %v, want %v", got, want)
	}
}

func TestFrontalness(t *testing.T) {
	for _, n := range []int{68, 5} {
		prev := 2.0
		for _, tc := range []struct {
			yaw      float64
			min, max float64
		}{
			{0, 0.97, 1},
			{10, 0.85, 0.95},
			{20, 0.72, 0.82},
			{30, 0.6, 0.7},
			{45, 0.3, 0.45},
			{60, 0, 0.15},
			{75, 0, 0},
		} {
			for _, sign := range []float64{1, -1} {
				f := Frontalness(head(sign*tc.yaw, n))
				if f < tc.min || f > tc.max {
					t.Errorf("%d points, yaw %+.0f: frontalness %.3f, want %.2f-%.2f", n, sign*tc.yaw, f, tc.min, tc.max)
				}
				if f > prev+1e-9 {
					t.Errorf("%d points: frontalness rises with yaw %.0f", n, tc.yaw)
				}
			}
			prev = Frontalness(head(tc.yaw, n))
		}
	}
	for _, pts := range [][]image.Point{nil, make([]image.Point, 17), make([]image.Point, 68)} {
		if f := Frontalness(pts); f != 0 {
			t.Errorf("%d degenerate points: %v", len(pts), f)
		}
	}
}

// texture is a w×h picture of random blobs with the detail of a face: the
// same picture, drawn at any size, has about the same sharpness.
func texture(w, h int, seed uint64) frame.Image {
	rng := rand.New(rand.NewPCG(seed, 3))
	const n = 24
	var base [n][n]uint8
	for y := range base {
		for x := range base[y] {
			base[y][x] = uint8(40 + rng.IntN(180))
		}
	}
	im := frame.New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := base[y*n/h][x*n/w]
			i := y*im.Step + 3*x
			im.Pix[i], im.Pix[i+1], im.Pix[i+2] = v, v, v
		}
	}
	return im
}

// boxBlur averages every pixel over a (2r+1)² square: defocus.
func boxBlur(im frame.Image, r int) frame.Image {
	out := frame.New(im.Cols, im.Rows)
	for y := 0; y < im.Rows; y++ {
		for x := 0; x < im.Cols; x++ {
			for c := 0; c < 3; c++ {
				s, k := 0, 0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < im.Cols && yy < im.Rows {
							s += int(im.Pix[yy*im.Step+3*xx+c])
							k++
						}
					}
				}
				out.Pix[y*out.Step+3*x+c] = uint8(s / k)
			}
		}
	}
	return out
}

func TestSharpness(t *testing.T) {
	sharp := texture(192, 192, 1)
	box := sharp.Bounds()
	s0 := Sharpness(sharp, box)
	prev := s0
	for _, r := range []int{1, 2, 4} {
		s := Sharpness(boxBlur(sharp, r), box)
		if s >= prev {
			t.Errorf("blur radius %d: sharpness %.1f not below %.1f", r, s, prev)
		}
		prev = s
	}
	if prev > s0/5 {
		t.Errorf("heavy blur keeps %.0f of %.0f", prev, s0)
	}
	// The same face at another size scores about the same.
	big := texture(384, 384, 1)
	if s := Sharpness(big, big.Bounds()); math.Abs(s-s0) > 0.2*s0 {
		t.Errorf("twice the size: %.1f, want about %.1f", s, s0)
	}
	// A box partly outside is clipped; one outside gives 0.
	if s := Sharpness(sharp, image.Rect(150, 150, 300, 300)); s <= 0 {
		t.Errorf("clipped box: %v", s)
	}
	if s := Sharpness(sharp, image.Rect(500, 500, 600, 600)); s != 0 {
		t.Errorf("box outside: %v", s)
	}
	flat := frame.New(100, 100)
	if s := Sharpness(flat, flat.Bounds()); s != 0 {
		t.Errorf("flat picture: %v", s)
	}
}

func TestGate(t *testing.T) {
	g := Gate{}.WithDefaults()
	sharp := texture(200, 200, 2)
	face := image.Rect(20, 20, 180, 180)
	frontal := head(0, 68)
	for _, tc := range []struct {
		name string
		im   frame.Image
		box  image.Rectangle
		pts  []image.Point
		want Reason
	}{
		{"good", sharp, face, frontal, OK},
		{"small", sharp, image.Rect(20, 20, 80, 80), frontal, Small},
		{"blurred", boxBlur(sharp, 9), face, frontal, Blurred},
		{"turned", sharp, face, head(55, 68), Turned},
		{"no landmarks", sharp, face, nil, Turned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := g.Assess(tc.im, tc.box, tc.pts)
			if a.Reject != tc.want {
				t.Fatalf("%v, want %q", a, tc.want)
			}
			if a.Worth() != (tc.want == OK) || a.Score < 0 || a.Score > 1 {
				t.Errorf("%v", a)
			}
			if a.String() == "" {
				t.Error("no description")
			}
		})
	}
	// Five landmarks (YuNet's) are judged the same way, without a shape
	// predictor.
	if a := g.AssessFive(sharp, face, headFive(0)); !a.Worth() || a.Frontal != 1 {
		t.Errorf("frontal five points: %v", a)
	}
	if a := g.AssessFive(sharp, face, headFive(60)); a.Reject != Turned {
		t.Errorf("turned five points: %v", a)
	}
	if a := g.AssessFive(boxBlur(sharp, 9), face, headFive(0)); a.Reject != Blurred {
		t.Errorf("blurred, five points: %v", a)
	}
	if a := g.AssessFive(sharp, image.Rect(20, 20, 60, 60), headFive(0)); a.Reject != Small || a.Frontal != 0 {
		t.Errorf("small, five points: %v", a)
	}
	// Bigger, sharper, more frontal: higher score.
	a := g.Assess(sharp, face, frontal)
	if b := g.Assess(sharp, face, head(20, 68)); b.Score >= a.Score {
		t.Errorf("turned %.3f >= frontal %.3f", b.Score, a.Score)
	}
	if b := g.Assess(sharp, image.Rect(20, 20, 120, 120), frontal); b.Score >= a.Score {
		t.Errorf("smaller %.3f >= larger %.3f", b.Score, a.Score)
	}
	var r Rejections
	for _, why := range []Reason{Small, Small, Blurred, Turned, Cut, OK} {
		r.Add(why)
	}
	if r != (Rejections{Small: 2, Blurred: 1, Turned: 1, Cut: 1}) || r.Total() != 5 {
		t.Errorf("%+v", r)
	}
	r.Merge(Rejections{Small: 1, Cut: 2})
	if r != (Rejections{Small: 3, Blurred: 1, Turned: 1, Cut: 3}) {
		t.Errorf("merged: %+v", r)
	}
}

// TestCuts: a box that reaches the frame's edge, on any side, is a face
// cut by it; one inside the frame, even by a pixel, is not.
func TestCuts(t *testing.T) {
	fr := image.Rect(0, 0, 640, 480)
	for _, c := range []struct {
		name string
		box  image.Rectangle
		want bool
	}{
		{"inside", image.Rect(200, 100, 330, 260), false},
		{"a pixel from each edge", image.Rect(1, 1, 639, 479), false},
		{"entering on the left", image.Rect(0, 93, 75, 251), true},
		{"leaving on the right", image.Rect(525, 61, 640, 277), true},
		{"forehead cut at the top", image.Rect(200, 0, 330, 140), true},
		{"chin cut at the bottom", image.Rect(200, 380, 330, 480), true},
	} {
		if got := Cuts(c.box, fr); got != c.want {
			t.Errorf("%s %v: cut %v, want %v", c.name, c.box, got, c.want)
		}
	}
	// A frame need not start at the origin.
	if !Cuts(image.Rect(10, 20, 50, 60), image.Rect(10, 0, 100, 100)) {
		t.Error("a box at the left edge of a frame offset by 10 is not cut")
	}
}

func BenchmarkAssess(b *testing.B) {
	im := texture(400, 400, 4)
	box := image.Rect(100, 100, 260, 260)
	pts := head(5, 68)
	g := Gate{}
	for i := 0; i < b.N; i++ {
		g.Assess(im, box, pts)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/face")
}
