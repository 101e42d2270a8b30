package frame

import (
	"image"
	"testing"
	"time"
)

func gradient(w, h int) Image {
	im := New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*im.Step + 3*x
			im.Pix[i], im.Pix[i+1], im.Pix[i+2] = uint8(x), uint8(y), uint8(x+y)
		}
	}
	return im
}

func TestSubAndClone(t *testing.T) {
	im := gradient(40, 30)
	for _, tc := range []struct {
		name string
		r    image.Rectangle
		want image.Rectangle // in im's coordinates
	}{
		{"inside", image.Rect(5, 6, 15, 20), image.Rect(5, 6, 15, 20)},
		{"clipped", image.Rect(-5, 25, 10, 40), image.Rect(0, 25, 10, 30)},
		{"bottom right corner", image.Rect(39, 29, 40, 30), image.Rect(39, 29, 40, 30)},
		{"outside", image.Rect(50, 50, 60, 60), image.Rectangle{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := im.Sub(tc.r)
			if s.Cols != tc.want.Dx() || s.Rows != tc.want.Dy() {
				t.Fatalf("size %dx%d, want %v", s.Cols, s.Rows, tc.want)
			}
			if tc.want.Empty() {
				if !s.Empty() {
					t.Fatal("not empty")
				}
				return
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			c := s.Clone()
			if c.Step != 3*c.Cols || len(c.Pix) != c.Step*c.Rows {
				t.Fatalf("clone not compact: step %d, %d bytes", c.Step, len(c.Pix))
			}
			for y := 0; y < s.Rows; y++ {
				for x := 0; x < s.Cols; x++ {
					b, g, r := im.At(tc.want.Min.X+x, tc.want.Min.Y+y)
					for _, v := range []Image{s, c} {
						vb, vg, vr := v.At(x, y)
						if vb != b || vg != g || vr != r {
							t.Fatalf("pixel (%d,%d) differs", x, y)
						}
					}
				}
			}
			// The view shares pixels, the clone does not.
			s.Pix[0] = 255
			if b, _, _ := im.At(tc.want.Min.X, tc.want.Min.Y); b != 255 {
				t.Error("Sub copied the pixels")
			}
			if c.Pix[0] == 255 && uint8(tc.want.Min.X) != 255 {
				t.Error("Clone shares the pixels")
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		im Image
		ok bool
	}{
		{New(4, 3), true},
		{Image{Pix: make([]byte, 12), Rows: 2, Cols: 2, Step: 6}, true},
		{Image{Pix: make([]byte, 11), Rows: 2, Cols: 2, Step: 6}, false},
		{Image{Pix: make([]byte, 100), Rows: 2, Cols: 2, Step: 5}, false},
		{Image{}, false},
	} {
		if err := tc.im.Check(); (err == nil) != tc.ok {
			t.Errorf("%dx%d step %d len %d: %v", tc.im.Cols, tc.im.Rows, tc.im.Step, len(tc.im.Pix), err)
		}
	}
}

func TestCropAround(t *testing.T) {
	im := gradient(100, 80)
	box := image.Rect(40, 30, 60, 50)
	c := CropAround(im, box, 0.5)
	if c.Origin != image.Pt(30, 20) || c.Box != image.Rect(10, 10, 30, 30) || c.Cols != 40 || c.Rows != 40 {
		t.Fatalf("crop at %v, box %v, %dx%d", c.Origin, c.Box, c.Cols, c.Rows)
	}
	// Near the border the crop is clipped and the box moves with it.
	c = CropAround(im, image.Rect(0, 0, 20, 20), 0.5)
	if c.Origin != image.Pt(0, 0) || c.Box != image.Rect(0, 0, 20, 20) || c.Cols != 30 {
		t.Fatalf("corner crop at %v, box %v, %dx%d", c.Origin, c.Box, c.Cols, c.Rows)
	}
}

func TestReleaseOnce(t *testing.T) {
	n := 0
	f := NewFrame(New(2, 2), 7, time.Unix(10, 0), func() { n++ })
	f.Release()
	f.Release()
	if n != 1 {
		t.Errorf("release called %d times", n)
	}
	NewFrame(New(2, 2), 0, time.Time{}, nil).Release() // no release func: no panic
}

func TestPool(t *testing.T) {
	p := NewPool(2)
	a := p.Get(12)
	p.Put(a)
	if b := p.Get(12); &b[0] != &a[0] {
		t.Error("idle buffer not reused")
	}
	p.Put(make([]byte, 12))
	if c := p.Get(30); len(c) != 30 {
		t.Errorf("got %d bytes, want 30", len(c))
	}
	for i := 0; i < 5; i++ { // more than the pool keeps: never blocks
		p.Put(make([]byte, 30))
	}
}
