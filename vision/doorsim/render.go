package doorsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"joren/vision/doorsim/truth"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"
)

// Write renders the video of script s to path (an .avi) and its truth
// beside it (truth.Path), and returns the truth. progress, if not nil, is
// called after each frame.
func Write(ctx context.Context, c *Cast, s Script, path string, progress func(done, total int)) (truth.Truth, error) {
	t := s.Truth
	if !strings.EqualFold(filepath.Ext(path), ".avi") {
		return t, fmt.Errorf("%s: the video is written as MJPG AVI; name it .avi", path)
	}
	t.Video = filepath.Base(path)
	if err := render(ctx, c, s, path, progress); err != nil {
		os.Remove(path)
		return t, err
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return t, err
	}
	if err := os.WriteFile(truth.Path(path), append(b, '\n'), 0o644); err != nil {
		return t, fmt.Errorf("writing the truth: %w", err)
	}
	return t, nil
}

func render(ctx context.Context, c *Cast, t Script, path string, progress func(done, total int)) error {
	if len(t.paths) != len(t.Passages) {
		return errors.New("the script was not planned with this cast (Plan, then Write)")
	}
	for _, p := range t.paths {
		if p.actor == nil {
			return errors.New("the script was not planned with this cast (Plan, then Write)")
		}
	}
	vw, err := gocv.VideoWriterFile(path, "MJPG", t.FPS, t.Width, t.Height, true)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer vw.Close()
	if !vw.IsOpened() {
		return fmt.Errorf("writing %s: OpenCV cannot write an MJPG AVI there", path)
	}
	rng := rand.New(rand.NewPCG(t.Seed, 0x646f6f72))
	bg := background(t.Width, t.Height, rng)
	defer bg.Close()
	// Sensor noise: a few fixed noise patterns added in turn (drawing new
	// noise for every frame costs more than the rest of the frame). The
	// background is darkened by the noise's mean so that adding it keeps
	// the levels.
	var noise [5]gocv.Mat
	for i := range noise {
		noise[i] = gocv.NewMatWithSize(t.Height, t.Width, gocv.MatTypeCV8UC3)
		defer noise[i].Close()
		gocv.RandU(&noise[i], gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(7, 7, 7, 0))
	}
	base := gocv.NewMat()
	defer base.Close()
	mean := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(3, 3, 3, 0), t.Height, t.Width, gocv.MatTypeCV8UC3)
	defer mean.Close()
	gocv.Subtract(bg, mean, &base)
	fr := gocv.NewMat()
	defer fr.Close()
	cut, alpha := gocv.NewMat(), gocv.NewMat()
	defer cut.Close()
	defer alpha.Close()
	// Cut-outs shrunk once to the largest size the video shows them at,
	// instead of from the photo's size at every frame.
	sprites := map[*Actor]*sprite{}
	defer func() {
		for _, s := range sprites {
			s.cut.Close()
			s.alpha.Close()
		}
	}()
	for _, p := range t.paths {
		if sprites[p.actor] == nil {
			sprites[p.actor] = shrink(p.actor, 0.4*float64(t.Height))
		}
	}
	for i := 0; i < t.Frames; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		gocv.Add(base, noise[i%len(noise)], &fr)
		for k := range t.Passages {
			p, pa := &t.Passages[k], &t.paths[k]
			if i < p.Enter || i > p.Leave {
				continue
			}
			blur := 0
			if !t.noBlur && i-p.Enter < p.Blurred {
				// Faster at first: blur over up to 6% of the frame width.
				blur = int(0.06*float64(t.Width)*(1-float64(i-p.Enter)/float64(p.Blurred))) | 1
			}
			if err := paste(&fr, pa, sprites[pa.actor], i, &cut, &alpha, blur); err != nil {
				return err
			}
		}
		if err := vw.Write(fr); err != nil {
			return fmt.Errorf("writing frame %d: %w", i, err)
		}
		if progress != nil {
			progress(i+1, t.Frames)
		}
	}
	return nil
}

// sprite is a cut-out at the size a video needs.
type sprite struct {
	cut, alpha gocv.Mat
	face       image.Rectangle
}

// shrink scales a's cut-out down so that its face is at most width wide.
func shrink(a *Actor, width float64) *sprite {
	s := &sprite{cut: a.cut.Clone(), alpha: a.alpha.Clone(), face: a.face}
	f := width / float64(a.face.Dx())
	if f >= 1 {
		return s
	}
	sz := image.Pt(max(1, int(float64(a.cut.Cols())*f)), max(1, int(float64(a.cut.Rows())*f)))
	gocv.Resize(a.cut, &s.cut, sz, 0, 0, gocv.InterpolationArea)
	gocv.Resize(a.alpha, &s.alpha, sz, 0, 0, gocv.InterpolationArea)
	fx := float64(sz.X) / float64(a.cut.Cols())
	fy := float64(sz.Y) / float64(a.cut.Rows())
	s.face = image.Rect(int(float64(a.face.Min.X)*fx), int(float64(a.face.Min.Y)*fy), int(float64(a.face.Max.X)*fx), int(float64(a.face.Max.Y)*fy))
	return s
}

// paste draws the person moving along p (sprite a) at frame i onto fr,
// with a horizontal motion blur of blur pixels if blur > 1.
func paste(fr *gocv.Mat, p *path, a *sprite, i int, cut, alpha *gocv.Mat, blur int) error {
	cx, cy, fw := p.geometry(i)
	s := fw / float64(a.face.Dx())
	w, h := int(math.Round(float64(a.cut.Cols())*s)), int(math.Round(float64(a.cut.Rows())*s))
	if w < 2 || h < 2 {
		return nil
	}
	// Where the cut-out's top left lands so that its face is centred at
	// (cx, cy).
	fcx := float64(a.face.Min.X+a.face.Max.X) / 2 * s
	fcy := float64(a.face.Min.Y+a.face.Max.Y) / 2 * s
	x0, y0 := int(math.Round(cx-fcx)), int(math.Round(cy-fcy))
	gocv.Resize(a.cut, cut, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	gocv.Resize(a.alpha, alpha, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
	if blur > 1 {
		gocv.Blur(*cut, cut, image.Pt(blur, 1))
		gocv.Blur(*alpha, alpha, image.Pt(blur, 1))
	}
	dst, err := fr.DataPtrUint8()
	if err != nil {
		return err
	}
	src, err := cut.DataPtrUint8()
	if err != nil {
		return err
	}
	op, err := alpha.DataPtrUint8()
	if err != nil {
		return err
	}
	fw2, fh2 := fr.Cols(), fr.Rows()
	for y := max(0, -y0); y < h && y0+y < fh2; y++ {
		drow := dst[(y0+y)*fr.Step():]
		srow := src[y*cut.Step():]
		orow := op[y*alpha.Step():]
		for x := max(0, -x0); x < w && x0+x < fw2; x++ {
			o := int(orow[x])
			if o == 0 {
				continue
			}
			d := drow[3*(x0+x):]
			c := srow[3*x:]
			for k := 0; k < 3; k++ {
				d[k] = uint8((int(d[k])*(255-o) + int(c[k])*o + 127) / 255)
			}
		}
	}
	return nil
}

// background draws an empty doorway: a wall with a light gradient, the
// door's frame and its darker opening, a floor, a poster and a plant pot,
// and some texture.
func background(w, h int, rng *rand.Rand) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	for y := 0; y < h; y++ {
		// Wall: warm beige, lighter towards the top (ceiling light).
		v := 200 - 50*y/h
		gocv.Line(&m, image.Pt(0, y), image.Pt(w-1, y), color.RGBA{uint8(v), uint8(v - 15), uint8(v - 35), 0}, 1)
	}
	floor := h * 4 / 5
	gocv.Rectangle(&m, image.Rect(0, floor, w, h), color.RGBA{110, 95, 80, 0}, -1)
	door := image.Rect(w/4, h/10, w*3/4, floor)
	gocv.Rectangle(&m, door.Inset(-w/40), color.RGBA{90, 70, 55, 0}, -1)
	gocv.Rectangle(&m, door, color.RGBA{60, 70, 80, 0}, -1)
	// The street seen through the glass: blurry blocks.
	for i := 0; i < 12; i++ {
		x := door.Min.X + rng.IntN(door.Dx())
		y := door.Min.Y + rng.IntN(door.Dy())
		c := color.RGBA{uint8(60 + rng.IntN(80)), uint8(60 + rng.IntN(80)), uint8(60 + rng.IntN(80)), 0}
		gocv.Rectangle(&m, image.Rect(x, y, x+w/12, y+h/10).Intersect(door), c, -1)
	}
	poster := image.Rect(w/20, h/5, w/20+w/8, h/5+h/5)
	gocv.Rectangle(&m, poster, color.RGBA{40, 120, 190, 0}, -1)
	gocv.PutText(&m, "OPEN", image.Pt(poster.Min.X+4, poster.Max.Y-8), gocv.FontHersheySimplex, float64(w)/900, color.RGBA{250, 250, 250, 0}, 2)
	gocv.Circle(&m, image.Pt(w*7/8, floor-h/16), h/14, color.RGBA{50, 110, 60, 0}, -1)
	gocv.Rectangle(&m, image.Rect(w*7/8-h/20, floor-h/16, w*7/8+h/20, floor+h/40), color.RGBA{60, 80, 140, 0}, -1)
	// Wall texture, then softened as a lens would.
	for i := 0; i < w*h/400; i++ {
		x, y := rng.IntN(w), rng.IntN(floor)
		if image.Pt(x, y).In(door.Inset(-w / 40)) {
			continue
		}
		d := uint8(rng.IntN(12))
		gocv.Circle(&m, image.Pt(x, y), 1, color.RGBA{200 - d*3, 185 - d*3, 165 - d*3, 0}, -1)
	}
	gocv.GaussianBlur(m, &m, image.Pt(3, 3), 0, 0, gocv.BorderReflect101)
	return m
}
