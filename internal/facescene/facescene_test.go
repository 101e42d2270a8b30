package facescene

import (
	"image"
	"image/color"
	"testing"
)

// A portrait keeps the face's proportions at the width asked, lands where
// it is pasted, and comes out as BGR bytes.
func TestPortraitOnWall(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, 400, 400))
	face := image.Rect(100, 100, 300, 300)
	for y := face.Min.Y; y < face.Max.Y; y++ {
		for x := face.Min.X; x < face.Max.X; x++ {
			photo.Set(x, y, color.RGBA{200, 10, 30, 255})
		}
	}
	p := Portrait(photo, face, 100)
	if p.Bounds().Dx() != 200 || p.Bounds().Dy() != 200 {
		t.Fatalf("portrait %v, want 200x200 (the face 100 px and 50 px around)", p.Bounds())
	}
	im := BGR(On(Wall(640, 480), p, image.Pt(10, 20)))
	at := func(x, y int) [3]uint8 { i := y*im.Step + 3*x; return [3]uint8{im.Pix[i], im.Pix[i+1], im.Pix[i+2]} }
	if got := at(10+100, 20+100); got != [3]uint8{30, 10, 200} {
		t.Errorf("the face's middle is %v, want BGR 30,10,200", got)
	}
	if got := at(5, 5); got != [3]uint8{100, 100, 100} {
		t.Errorf("the wall is %v, want grey", got)
	}
}
