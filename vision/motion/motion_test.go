package motion

import (
	"image"
	"math/rand/v2"
	"testing"

	"joren/vision/frame"
)

// scene draws a doorway-like background (wall gradient, a darker door
// frame, some texture), sensor noise of the given standard deviation, an
// added light level, and optional solid squares (people).
type scene struct {
	w, h  int
	rng   *rand.Rand
	noise float64
	light int
}

func (s *scene) frame(squares ...image.Rectangle) frame.Image {
	im := frame.New(s.w, s.h)
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			v := 90 + x*60/s.w + y*40/s.h
			if x > s.w/4 && x < s.w/4+20 || x > 3*s.w/4-20 && x < 3*s.w/4 {
				v -= 50 // door frame
			}
			if (x/37+y/23)%5 == 0 {
				v += 15 // texture
			}
			for _, r := range squares {
				if image.Pt(x, y).In(r) {
					v = 200 - (x-r.Min.X)%40 // a bright, textured face-sized thing
				}
			}
			v += s.light
			n := int(s.rng.NormFloat64() * s.noise)
			i := y*im.Step + 3*x
			for c := 0; c < 3; c++ {
				im.Pix[i+c] = clamp(v + n + c*5)
			}
		}
	}
	return im
}

func clamp(v int) uint8 { return uint8(min(255, max(0, v))) }

func TestEmptyDoorwayNeverMoves(t *testing.T) {
	for _, size := range []image.Point{{640, 480}, {1280, 720}, {333, 250}} {
		s := &scene{w: size.X, h: size.Y, rng: rand.New(rand.NewPCG(1, 2)), noise: 4}
		g := New(Config{})
		for i := 0; i < 60; i++ {
			if r := g.Update(s.frame()); r.Moving {
				t.Fatalf("%v frame %d: noise seen as motion: %+v", size, i, r)
			}
		}
	}
}

func TestPersonMoves(t *testing.T) {
	s := &scene{w: 640, h: 480, rng: rand.New(rand.NewPCG(3, 4)), noise: 3}
	g := New(Config{})
	g.Update(s.frame())
	for _, tc := range []struct {
		name    string
		squares []image.Rectangle
	}{
		{"one", []image.Rectangle{image.Rect(100, 80, 220, 240)}},
		{"moved right", []image.Rectangle{image.Rect(140, 90, 260, 250)}},
		{"two", []image.Rectangle{image.Rect(60, 100, 180, 250), image.Rect(420, 120, 540, 280)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := g.Update(s.frame(tc.squares...))
			if !r.Moving || r.Global {
				t.Fatalf("%+v", r)
			}
			for _, sq := range tc.squares {
				// The box covers the square, give or take a block (32 px).
				if !sq.Inset(32).In(r.Box) {
					t.Errorf("box %v misses %v", r.Box, sq)
				}
			}
			var all image.Rectangle
			for _, sq := range tc.squares {
				all = all.Union(sq)
			}
			if !r.Box.In(all.Inset(-96)) {
				t.Errorf("box %v much larger than %v", r.Box, all)
			}
		})
	}
}

func TestLightChangeIsGlobal(t *testing.T) {
	s := &scene{w: 640, h: 480, rng: rand.New(rand.NewPCG(5, 6)), noise: 2}
	g := New(Config{})
	g.Update(s.frame())
	g.Update(s.frame())
	s.light = 45
	if r := g.Update(s.frame()); !r.Global || !r.Moving {
		t.Fatalf("lights on: %+v", r)
	}
	// The background was relearnt at once: the next frame is calm.
	if r := g.Update(s.frame()); r.Moving {
		t.Fatalf("after the light change: %+v", r)
	}
}

func TestStillPersonFades(t *testing.T) {
	s := &scene{w: 320, h: 240, rng: rand.New(rand.NewPCG(7, 8)), noise: 2}
	g := New(Config{})
	g.Update(s.frame())
	sq := image.Rect(100, 60, 180, 160)
	moving := 0
	for i := 0; i < 400; i++ {
		if g.Update(s.frame(sq)).Moving {
			moving++
		}
	}
	if moving < 20 || moving > 380 {
		t.Errorf("a person standing still moved in %d of 400 frames; want seconds of motion, then calm", moving)
	}
	if g.Update(s.frame(sq)).Moving {
		t.Error("still moving after 400 frames")
	}
}

func TestSizeChangeReprimes(t *testing.T) {
	g := New(Config{})
	a := &scene{w: 320, h: 240, rng: rand.New(rand.NewPCG(9, 9)), noise: 1}
	b := &scene{w: 640, h: 360, rng: rand.New(rand.NewPCG(9, 9)), noise: 1}
	g.Update(a.frame())
	if r := g.Update(b.frame(image.Rect(0, 0, 300, 300))); r.Moving {
		t.Errorf("first frame of a new size: %+v", r)
	}
	if r := g.Update(b.frame(image.Rect(0, 0, 300, 300))); r.Moving {
		t.Errorf("same frame again: %+v", r)
	}
	if r := g.Update(frame.Image{}); r.Moving {
		t.Error("empty image moved")
	}
	g.Reset()
	if r := g.Update(a.frame(image.Rect(10, 10, 100, 100))); r.Moving {
		t.Errorf("after Reset: %+v", r)
	}
}

// BenchmarkUpdate is the gate's cost per frame on an empty doorway.
func BenchmarkUpdate(b *testing.B) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"640x480", 640, 480}, {"1280x720", 1280, 720}} {
		b.Run(size.name, func(b *testing.B) {
			s := &scene{w: size.w, h: size.h, rng: rand.New(rand.NewPCG(1, 1)), noise: 3}
			frames := []frame.Image{s.frame(), s.frame(), s.frame()}
			g := New(Config{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.Update(frames[i%len(frames)])
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
		})
	}
}
