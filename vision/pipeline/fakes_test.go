package pipeline_test

import (
	"context"
	"image"
	"math/rand/v2"
	"sync"
	"time"

	"joren/vision"
	"joren/vision/frame"
	"joren/vocab"
)

// The fakes below stand in for the camera and dlib so that the stages'
// timing can be tested exactly under testing/synctest: frames carry drawn
// "faces" that the fake detector finds and the fake describer tells apart.
//
// A face is a 100x100 checkerboard (sharp, 40/220) on a gray (128)
// background. Its top-left pixel is marked (B, G, R) = (0, 255, 0) and the
// pixel right of it carries the person: (person, 0, 255). The
// checkerboard's phase flips every frame, so the motion gate sees it.
//
// A face may run off the frame's left or right edge (someone entering or
// leaving): then the mark is on the top-left pixel in view and the pixel
// right of it says how much is in view: (person, width, 255). The fake
// describer gives such a face someone else's descriptor, as a network
// shown half a face does.

const (
	fakeW, fakeH = 320, 240
	faceSide     = 100
)

// shot is what one frame shows: the people in view, and where.
type shot []person

type person struct {
	id  uint8 // from 1
	at  image.Point
	box image.Rectangle
}

func at(id uint8, x, y int) person {
	return person{id: id, at: image.Pt(x, y), box: image.Rect(x, y, x+faceSide, y+faceSide)}
}

// draw paints frame seq of a shot.
func draw(s shot, seq int) frame.Image {
	im := frame.New(fakeW, fakeH)
	for i := range im.Pix {
		im.Pix[i] = 128
	}
	for _, p := range s {
		seen := p.box.Intersect(im.Bounds())
		for y := seen.Min.Y; y < seen.Max.Y; y++ {
			for x := seen.Min.X; x < seen.Max.X; x++ {
				v := byte(40)
				if ((x/2)+(y/2)+seq)%2 == 0 {
					v = 220
				}
				i := y*im.Step + 3*x
				im.Pix[i], im.Pix[i+1], im.Pix[i+2] = v, v, v
			}
		}
		cut := byte(0)
		if seen.Dx() < faceSide {
			cut = byte(seen.Dx())
		}
		i := seen.Min.Y*im.Step + 3*seen.Min.X
		copy(im.Pix[i:], []byte{0, 255, 0, p.id, cut, 255})
	}
	return im
}

// passages makes a script: empty frames, then each passage (a person in
// view for n frames, standing still), then empty frames.
func script(lead int, passages ...[]shot) []shot {
	out := make([]shot, lead)
	for _, p := range passages {
		out = append(out, p...)
		out = append(out, make([]shot, 5)...)
	}
	return out
}

// stay is a person (or several) in view for n frames.
func stay(n int, ps ...person) []shot {
	out := make([]shot, n)
	for i := range out {
		out[i] = ps
	}
	return out
}

// fakeCamera is a live camera playing a script: a frame every `every`, timed
// by the clock (synctest's), then silent without closing (a camera that
// hangs) until ctx is done; with deaf set, its hang is a read that ctx
// cannot interrupt, until deaf is closed.
type fakeCamera struct {
	every  time.Duration
	script []shot
	// sent receives the time each frame was sent.
	sent chan time.Time
	deaf chan struct{}
	// ended makes the camera a recording that ends after its script.
	ended bool
}

func newCamera(s []shot) *fakeCamera {
	return &fakeCamera{every: time.Second / 15, script: s, sent: make(chan time.Time, len(s))}
}

func (c *fakeCamera) Run(ctx context.Context, out chan<- *frame.Frame) error {
	defer close(out)
	for k, s := range c.script {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.every):
		}
		f := frame.NewFrame(draw(s, k), int64(k), time.Now(), nil)
		f.Live = !c.ended
		select {
		case out <- f:
			c.sent <- time.Now()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	switch {
	case c.ended:
		return nil
	case c.deaf != nil:
		<-c.deaf
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// faces is the fake detector and describer. A call may take time (busy:
// synctest's clock advances by it), to stand for dlib at work.
type faces struct {
	busy time.Duration
	// stalls makes the Detect calls it names (from 1) take that much
	// longer: a CPU starved for a moment.
	stalls map[int]time.Duration
	mu     sync.Mutex
	// detected counts Detect calls.
	detected int
}

func (f *faces) Detect(im frame.Image, scale float64) ([]image.Rectangle, error) {
	f.work()
	f.mu.Lock()
	f.detected++
	stall := f.stalls[f.detected]
	f.mu.Unlock()
	time.Sleep(stall)
	var out []image.Rectangle
	for y := 0; y < im.Rows; y++ {
		for x := 0; x+1 < im.Cols; x++ {
			if b, g, r := im.At(x, y); b == 0 && g == 255 && r == 0 {
				if _, g2, r2 := im.At(x+1, y); r2 == 255 {
					w := faceSide
					if g2 > 0 { // cut by the frame's edge: its part in view
						w = int(g2)
					}
					out = append(out, image.Rect(x, y, x+w, y+faceSide))
				}
			}
		}
	}
	return out, nil
}

// Landmarks are dlib's five points of a face looking at the camera.
func (f *faces) Landmarks(im frame.Image, box image.Rectangle) ([]image.Point, error) {
	o := box.Min
	return []image.Point{o.Add(image.Pt(70, 40)), o.Add(image.Pt(80, 40)), o.Add(image.Pt(20, 40)), o.Add(image.Pt(30, 40)), o.Add(image.Pt(50, 60))}, nil
}

// Describe gives each person a descriptor of their own, a little noisy;
// a face cut by the frame's edge gets another's.
func (f *faces) Describe(im frame.Image, box image.Rectangle) (vision.Face, error) {
	f.work()
	id, cut, _ := im.At(box.Min.X+1, box.Min.Y)
	if cut > 0 {
		id += 64
	}
	d := make([]float32, vocab.DlibResNetDim)
	r := rand.New(rand.NewPCG(uint64(id), uint64(box.Min.X)))
	for i := range d {
		d[i] = float32(r.NormFloat64() * 0.005)
	}
	d[id] += 1
	return vision.Face{Box: box, Descriptor: d}, nil
}

func (f *faces) Model() vocab.Model { return vocab.DlibResNet() }

func (f *faces) work() {
	if f.busy > 0 {
		time.Sleep(f.busy)
	}
}
