package quality

import (
	"fmt"
	"image"
	"math"

	"joren/vision"
	"joren/vision/frame"
)

// Reason says why a face got no descriptor.
type Reason string

const (
	OK      Reason = ""
	Small   Reason = "small"
	Blurred Reason = "blurred"
	Turned  Reason = "turned"
	// Cut: the face runs off the edge of the camera's view (someone
	// entering or leaving it). The detector still finds it and guesses
	// landmarks beyond the edge, but a descriptor of half a face lands far
	// from the person's others.
	Cut Reason = "cut"
)

// Gate holds the thresholds. Zero values take the defaults.
type Gate struct {
	// MinFace is the smallest face width, in frame pixels, that is
	// described (default 64: docs/pipeline.md measures what smaller faces
	// cost; the descriptor's 150-pixel chip is upscaled below 150).
	MinFace int
	// IdealFace is the width at which size stops adding to the score
	// (default 150, dlib's chip).
	IdealFace int
	// MinSharpness is the lowest variance of the Laplacian (at 96x96)
	// described (default 100; see docs/pipeline.md for how it was chosen).
	MinSharpness float64
	// GoodSharpness is the variance at which sharpness stops adding to the
	// score (default 300).
	GoodSharpness float64
	// MinFrontal is the lowest frontalness described (default 0.4: a face
	// turned by 30 degrees passes, one turned by 45 does not).
	MinFrontal float64
}

// Default thresholds.
const (
	DefaultMinFace       = 64
	DefaultIdealFace     = 150
	DefaultMinSharpness  = 100
	DefaultGoodSharpness = 300
	DefaultMinFrontal    = 0.4
)

// WithDefaults fills zero thresholds.
func (g Gate) WithDefaults() Gate {
	if g.MinFace <= 0 {
		g.MinFace = DefaultMinFace
	}
	if g.IdealFace <= 0 {
		g.IdealFace = max(DefaultIdealFace, g.MinFace)
	}
	if g.MinSharpness <= 0 {
		g.MinSharpness = DefaultMinSharpness
	}
	if g.GoodSharpness <= 0 {
		g.GoodSharpness = max(DefaultGoodSharpness, g.MinSharpness)
	}
	if g.MinFrontal <= 0 {
		g.MinFrontal = DefaultMinFrontal
	}
	return g
}

// Assessment is what the gate measured on one face.
type Assessment struct {
	Width     int     `json:"width"`
	Sharpness float64 `json:"sharpness"`
	Frontal   float64 `json:"frontal"`
	// Score ranks faces, 0..1 (0 when rejected by size before the others
	// were measured).
	Score  float64 `json:"score"`
	Reject Reason  `json:"reject,omitempty"`
}

// Worth tells whether the face deserves a descriptor.
func (a Assessment) Worth() bool { return a.Reject == OK }

// Size judges the face's width alone: the cheap check made before any
// landmark is computed.
func (g Gate) Size(box image.Rectangle) Assessment {
	g = g.WithDefaults()
	a := Assessment{Width: box.Dx()}
	if a.Width < g.MinFace {
		a.Reject = Small
	}
	return a
}

// Cuts tells whether a face's box, clipped to the camera's frame (in the
// frame's coordinates), was cut by it: the box reaches the frame's edge.
// A detector's box spans the whole face, forehead to chin, and lies inside
// the frame when the face does; one that reaches the edge is part of a face
// (its width says nothing of the face's size). Only a camera's frame is
// judged so: a photo may be cropped tight around a whole face.
func Cuts(box, frame image.Rectangle) bool {
	return box.Min.X <= frame.Min.X || box.Min.Y <= frame.Min.Y || box.Max.X >= frame.Max.X || box.Max.Y >= frame.Max.Y
}

// Assess measures a face of im (box in im's coordinates) with its
// landmarks and scores it.
func (g Gate) Assess(im frame.Image, box image.Rectangle, landmarks []image.Point) Assessment {
	return g.assess(im, box, func() float64 { return Frontalness(landmarks) })
}

// AssessFive measures a face of im whose five landmarks a detector gave
// (YuNet: eye centres, nose tip, mouth corners) and scores it: no shape
// predictor needed.
func (g Gate) AssessFive(im frame.Image, box image.Rectangle, five [5]vision.Point) Assessment {
	return g.assess(im, box, func() float64 { return FrontalnessFive(five) })
}

func (g Gate) assess(im frame.Image, box image.Rectangle, frontal func() float64) Assessment {
	g = g.WithDefaults()
	a := g.Size(box)
	if a.Reject != OK {
		return a
	}
	a.Sharpness = Sharpness(im, box)
	a.Frontal = frontal()
	size := math.Min(1, float64(a.Width)/float64(g.IdealFace))
	sharp := math.Min(1, a.Sharpness/g.GoodSharpness)
	a.Score = size * sharp * a.Frontal
	switch {
	case a.Sharpness < g.MinSharpness:
		a.Reject = Blurred
	case a.Frontal < g.MinFrontal:
		a.Reject = Turned
	}
	return a
}

// side is the width and height of the gray picture sharpness is measured
// on.
const side = 96

// Sharpness is the variance of the Laplacian of the part of im inside box,
// resampled (by area) to 96x96 gray. Higher is sharper; a box outside im
// gives 0.
func Sharpness(im frame.Image, box image.Rectangle) float64 {
	box = box.Intersect(im.Bounds())
	if box.Dx() < 3 || box.Dy() < 3 {
		return 0
	}
	var gray [side * side]float64
	w, h := box.Dx(), box.Dy()
	for oy := 0; oy < side; oy++ {
		y0 := box.Min.Y + oy*h/side
		y1 := max(y0+1, box.Min.Y+(oy+1)*h/side)
		for ox := 0; ox < side; ox++ {
			x0 := box.Min.X + ox*w/side
			x1 := max(x0+1, box.Min.X+(ox+1)*w/side)
			s, n := 0, 0
			for y := y0; y < y1; y++ {
				row := im.Pix[y*im.Step:]
				for x := x0; x < x1; x++ {
					p := row[3*x:]
					s += int(p[0]) + 2*int(p[1]) + int(p[2])
					n++
				}
			}
			gray[oy*side+ox] = float64(s) / float64(4*n)
		}
	}
	var sum, sq float64
	n := 0
	for y := 1; y < side-1; y++ {
		for x := 1; x < side-1; x++ {
			i := y*side + x
			l := gray[i-1] + gray[i+1] + gray[i-side] + gray[i+side] - 4*gray[i]
			sum += l
			sq += l * l
			n++
		}
	}
	mean := sum / float64(n)
	return sq/float64(n) - mean*mean
}

// Frontalness tells how squarely a face looks at the camera, from its
// landmarks: 1 when the nose is midway between the eyes, 0 when it is
// off the middle by 0.8 of the eye distance. It reads dlib's 68-point
// shape (eyes 36-47, nose tip 30) and its 5-point shape (eye corners 0-3,
// nose base 4); other shapes give 0.
//
// Calibrated on the shared photos with dlib's 68-point predictor: frontal
// faces score 0.8 to 1, eunseo2.jpg (head turned by about 30 degrees) 0.5
// and less as the face shrinks, a profile 0. The base of the nose, which
// the 5-point shape marks, stands less far in front of the eyes than the
// tip, and moves 0.6 as far when the head turns.
func Frontalness(pts []image.Point) float64 {
	var (
		a, b, nose fpoint
		depth      float64
	)
	switch len(pts) {
	case 68:
		a, b, nose, depth = mean(pts[36:42]), mean(pts[42:48]), fpt(pts[30]), 0.8
	case 5:
		a, b, nose, depth = mean(pts[2:4]), mean(pts[0:2]), fpt(pts[4]), 0.48
	default:
		return 0
	}
	return frontal(a, b, nose, depth)
}

// FrontalnessOf is the frontalness of a detected face: from its five
// detector landmarks if it has them (YuNet), else from its shape.
func FrontalnessOf(f vision.Face) float64 {
	if f.Five != nil {
		return FrontalnessFive(*f.Five)
	}
	return Frontalness(f.Landmarks)
}

// FrontalnessFive is Frontalness for five landmarks in ArcFace's order
// (eye centres, nose tip, mouth corners; YuNet's): where the nose tip
// falls between the eye centres, on the same scale as the 68-point
// measure (whose eye centres and nose tip these are): 1 frontal, 0 when
// the tip is off the middle by 0.8 of the eye distance. A nose tip
// outside the span of the mouth corners as well as of the eyes is a
// profile whatever the eyes say (a detector's landmarks on a profile can
// put both eyes on one side), and so are points that are not numbers.
func FrontalnessFive(five [5]vision.Point) float64 {
	for _, p := range five {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return 0
		}
	}
	a, b := fpoint{five[0].X, five[0].Y}, fpoint{five[1].X, five[1].Y}
	nose := fpoint{five[2].X, five[2].Y}
	f := frontal(a, b, nose, 0.8)
	// The mouth corners are a second, shorter baseline: the tip projects
	// beyond them only on a profile.
	if m := frontal(fpoint{five[3].X, five[3].Y}, fpoint{five[4].X, five[4].Y}, nose, 0.5); m == 0 {
		return 0
	}
	return f
}

// frontal is 1 when nose projects midway between a and b, falling to 0
// when it is depth times |ab| off the middle; 0 when a and b coincide.
func frontal(a, b, nose fpoint, depth float64) float64 {
	ex, ey := b.x-a.x, b.y-a.y
	d2 := ex*ex + ey*ey
	if d2 < 1 {
		return 0
	}
	t := ((nose.x-a.x)*ex + (nose.y-a.y)*ey) / d2
	return math.Max(0, 1-math.Abs(t-0.5)/depth)
}

type fpoint struct{ x, y float64 }

func fpt(p image.Point) fpoint { return fpoint{float64(p.X), float64(p.Y)} }

func mean(pts []image.Point) fpoint {
	var m fpoint
	for _, p := range pts {
		m.x += float64(p.X)
		m.y += float64(p.Y)
	}
	n := float64(len(pts))
	return fpoint{m.x / n, m.y / n}
}

// String is a short human description, for logs and `joren watch`.
func (a Assessment) String() string {
	if a.Reject == Small {
		return fmt.Sprintf("%d px (too small)", a.Width)
	}
	s := fmt.Sprintf("%d px, sharpness %.0f, frontal %.2f, score %.2f", a.Width, a.Sharpness, a.Frontal, a.Score)
	if a.Reject != OK {
		s += " (" + string(a.Reject) + ")"
	}
	return s
}

// Rejections counts the faces of a track that got no descriptor, by
// reason.
type Rejections struct {
	Small   int `json:"small,omitempty"`
	Blurred int `json:"blurred,omitempty"`
	Turned  int `json:"turned,omitempty"`
	Cut     int `json:"cut,omitempty"`
}

// Add counts one rejected face.
func (r *Rejections) Add(why Reason) {
	switch why {
	case Small:
		r.Small++
	case Blurred:
		r.Blurred++
	case Turned:
		r.Turned++
	case Cut:
		r.Cut++
	}
}

// Merge adds the counts of o.
func (r *Rejections) Merge(o Rejections) {
	r.Small += o.Small
	r.Blurred += o.Blurred
	r.Turned += o.Turned
	r.Cut += o.Cut
}

// Total is the number of rejected faces.
func (r Rejections) Total() int { return r.Small + r.Blurred + r.Turned + r.Cut }
