package frame

import (
	"fmt"
	"image"
	"sync"
	"time"
)

// Image is a BGR picture in memory: Rows x Cols pixels, Step bytes from one
// row to the next, three bytes per pixel (blue, green, red). Its fields are
// those of dlib.Frame, so one converts to the other.
type Image struct {
	Pix              []byte
	Rows, Cols, Step int
}

// New allocates a black w x h image.
func New(w, h int) Image {
	return Image{Pix: make([]byte, w*h*3), Rows: h, Cols: w, Step: 3 * w}
}

// Check tells whether the fields describe a BGR image that fits in Pix.
func (im Image) Check() error {
	if im.Rows <= 0 || im.Cols <= 0 || im.Step < 3*im.Cols || len(im.Pix) < (im.Rows-1)*im.Step+3*im.Cols {
		return fmt.Errorf("image %dx%d with step %d and %d bytes is not a BGR image", im.Cols, im.Rows, im.Step, len(im.Pix))
	}
	return nil
}

// Bounds is the image's rectangle, (0, 0) at its top left.
func (im Image) Bounds() image.Rectangle { return image.Rect(0, 0, im.Cols, im.Rows) }

// Empty tells whether the image has no pixels.
func (im Image) Empty() bool { return im.Rows <= 0 || im.Cols <= 0 }

// Sub is the part of im inside r (clipped to im), sharing im's pixels: no
// copy. Its own coordinates start at r.Min.
func (im Image) Sub(r image.Rectangle) Image {
	r = r.Intersect(im.Bounds())
	if r.Empty() {
		return Image{}
	}
	off := r.Min.Y*im.Step + 3*r.Min.X
	end := (r.Max.Y-1)*im.Step + 3*r.Max.X
	return Image{Pix: im.Pix[off:end:end], Rows: r.Dy(), Cols: r.Dx(), Step: im.Step}
}

// Clone copies im into a new compact buffer (Step = 3*Cols).
func (im Image) Clone() Image {
	out := New(im.Cols, im.Rows)
	for y := 0; y < im.Rows; y++ {
		copy(out.Pix[y*out.Step:(y+1)*out.Step], im.Pix[y*im.Step:y*im.Step+3*im.Cols])
	}
	return out
}

// At returns the blue, green and red values of pixel (x, y).
func (im Image) At(x, y int) (b, g, r uint8) {
	i := y*im.Step + 3*x
	return im.Pix[i], im.Pix[i+1], im.Pix[i+2]
}

// Crop is a copy of the part of a frame around a face, kept in memory after
// the frame itself is given back: Box is the face in the crop's own
// coordinates, Origin where the crop's top left was in the frame.
type Crop struct {
	Image
	Box    image.Rectangle
	Origin image.Point
}

// CropAround copies the region of im around box, box grown by margin times
// its width on every side and clipped to im.
func CropAround(im Image, box image.Rectangle, margin float64) Crop {
	m := int(margin * float64(box.Dx()))
	r := box.Inset(-m).Intersect(im.Bounds())
	return Crop{Image: im.Sub(r).Clone(), Box: box.Sub(r.Min), Origin: r.Min}
}

// Frame is one picture of a video stream.
type Frame struct {
	Image
	// Seq numbers the frames a source read, from 0, without gaps: a frame
	// dropped because the pipeline was busy still used its number.
	Seq int64
	// Time is when the frame was taken: the wall clock for cameras and
	// streams, the video's own timeline for files and folders.
	Time time.Time
	// Dropped is how many frames the source dropped so far (the pipeline
	// was busy) since it started.
	Dropped int64
	// Source names where the frame came from, for logs.
	Source string
	// Live is set for cameras and streams, and recordings played in real
	// time: Time is then the wall clock, which keeps running while no frame
	// comes.
	Live bool

	release func()
	once    sync.Once
}

// NewFrame wraps img; release, if not nil, is called once when the frame's
// consumer is done with its pixels (a source reuses its buffers).
func NewFrame(img Image, seq int64, t time.Time, release func()) *Frame {
	return &Frame{Image: img, Seq: seq, Time: t, release: release}
}

// Release gives the pixels back to the source. The frame's Image must not
// be used afterwards; calling Release again does nothing.
func (f *Frame) Release() {
	f.once.Do(func() {
		if f.release != nil {
			f.release()
		}
	})
}
