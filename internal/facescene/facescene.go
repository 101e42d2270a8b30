// Package facescene makes the pictures the page's browser tests film: a
// shared face photo cut out around its face, scaled so that the face has
// a given width, and pasted on a plain wall, as a person standing in front
// of a camera. The tests find the face with dlib and hand its box here;
// this package is pure Go.
package facescene

import (
	"image"

	xdraw "golang.org/x/image/draw"

	"joren/vision/frame"
)

// Wall is a plain grey wall of w x h pixels.
func Wall(w, h int) *image.RGBA {
	wall := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range wall.Pix {
		wall.Pix[i] = 100
	}
	return wall
}

// Portrait cuts photo around its face (box face, with 60% of the face's
// width around it) and scales it so that the face is width pixels wide.
func Portrait(photo image.Image, face image.Rectangle, width int) *image.RGBA {
	crop := face.Inset(-face.Dx() * 6 / 10).Intersect(photo.Bounds())
	k := float64(width) / float64(face.Dx())
	small := image.NewRGBA(image.Rect(0, 0, int(float64(crop.Dx())*k), int(float64(crop.Dy())*k)))
	xdraw.CatmullRom.Scale(small, small.Bounds(), photo, crop, xdraw.Src, nil)
	return small
}

// On pastes portrait on a copy of wall at at.
func On(wall, portrait *image.RGBA, at image.Point) *image.RGBA {
	im := image.NewRGBA(wall.Bounds())
	copy(im.Pix, wall.Pix)
	xdraw.Copy(im, at, portrait, portrait.Bounds(), xdraw.Src, nil)
	return im
}

// BGR is im as a frame (BGR bytes), as a camera delivers it.
func BGR(im image.Image) frame.Image {
	b := im.Bounds()
	out := frame.New(b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := im.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*out.Step + 3*x
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = uint8(bl>>8), uint8(g>>8), uint8(r>>8)
		}
	}
	return out
}
