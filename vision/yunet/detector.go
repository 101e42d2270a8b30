package yunet

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"sync"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/frame"
	"joren/vision/models"
)

// Options tune the detector. Zero values take the defaults.
type Options struct {
	// MinScore is the lowest score (sqrt(cls*obj), 0..1) reported.
	MinScore float32
	// NMS is the overlap (intersection over union) above which the
	// weaker of two faces is dropped.
	NMS float32
}

// Defaults. MinScore was chosen on the shared photos and door videos
// (docs/pipeline.md): every face there scores above 0.8, and nothing
// else above 0.5.
const (
	DefaultMinScore = 0.6
	DefaultNMS      = 0.3
)

// Limits on the picture handed to the network, after scaling: smaller
// holds no face YuNet can find (about 10 pixels at least); larger costs
// seconds and hundreds of megabytes on a board, and YuNet finds faces only
// up to about 300 pixels anyway: shrink it instead.
const (
	MinSide = 16
	MaxSide = 2048
	// MaxScale bounds enlargement.
	MaxScale = 4
)

// Face is a face YuNet found.
type Face struct {
	// Box is the face's rectangle in the frame's pixels, clipped to it.
	Box image.Rectangle
	// Score is the detector's confidence, 0..1.
	Score float64
	// Five are the landmarks in the frame's pixels, in ArcFace's order:
	// eye centres (picture's left first), nose tip, mouth corners
	// (picture's left first).
	Five [5]vision.Point
}

// Detector finds faces with YuNet. Safe for concurrent use: calls are
// serialised (OpenCV's network keeps per-call state).
type Detector struct {
	mu   sync.Mutex
	net  *net
	opts Options
}

// Open loads YuNet from path, which must be the pinned 2023mar file (the
// decoder is written for its outputs).
func Open(path string, o Options) (*Detector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading YuNet: %w", err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != models.YuNetSHA256 {
		return nil, fmt.Errorf("loading YuNet: %s has sha256 %s, not the 2023mar model's %s (run `joren models build` or `joren models fetch`)", path, got, models.YuNetSHA256)
	}
	d, err := New(data, o)
	if err != nil {
		return nil, fmt.Errorf("loading YuNet from %s: %w", path, err)
	}
	return d, nil
}

// New loads YuNet from the bytes of its ONNX file, unchecked.
func New(onnx []byte, o Options) (*Detector, error) {
	if o.MinScore <= 0 {
		o.MinScore = DefaultMinScore
	}
	if o.NMS <= 0 {
		o.NMS = DefaultNMS
	}
	if o.MinScore > 1 || o.NMS > 1 {
		return nil, fmt.Errorf("YuNet options: minimum score %v and NMS overlap %v must be at most 1", o.MinScore, o.NMS)
	}
	n, err := openNet(onnx)
	if err != nil {
		return nil, err
	}
	return &Detector{net: n, opts: o}, nil
}

// FitScale is the scale that shrinks r so that its longer side is at most
// maxSide pixels (1 if it already is).
func FitScale(r image.Rectangle, maxSide int) float64 {
	long := max(r.Dx(), r.Dy())
	if long <= maxSide || long <= 0 {
		return 1
	}
	return float64(maxSide) / float64(long)
}

// Detect finds the faces inside region r of im, searched at the given
// scale (0.5: at half size), and returns them in im's pixels, best score
// first. The pipeline passes the regions where something moved or a face
// is being tracked; photos pass im.Bounds(). A region outside im, or one
// that is smaller than MinSide or larger than MaxSide pixels once scaled,
// is an error.
func (d *Detector) Detect(im frame.Image, r image.Rectangle, scale float64) ([]Face, error) {
	if err := im.Check(); err != nil {
		return nil, fmt.Errorf("detecting faces: %w", err)
	}
	if !(scale > 0 && scale <= MaxScale) {
		return nil, fmt.Errorf("detecting faces: scale %v (want more than 0, at most %d)", scale, MaxScale)
	}
	rr := r.Intersect(im.Bounds())
	if rr.Empty() {
		return nil, fmt.Errorf("detecting faces: region %v is outside the %dx%d picture", r, im.Cols, im.Rows)
	}
	w, h := int(math.Round(float64(rr.Dx())*scale)), int(math.Round(float64(rr.Dy())*scale))
	if w < MinSide || h < MinSide {
		return nil, fmt.Errorf("detecting faces: region %v at scale %.3g is %dx%d pixels, YuNet needs at least %d on each side", rr, scale, w, h, MinSide)
	}
	if w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("detecting faces: region %v at scale %.3g is %dx%d pixels, more than YuNet's %d on a side (shrink it)", rr, scale, w, h, MaxSide)
	}
	pw, ph := (w+31)/32*32, (h+31)/32*32
	d.mu.Lock()
	out, err := d.net.forward(im.Sub(rr), w, h, pw, ph)
	var cands []Candidate
	if err == nil {
		cands, err = Decode(out, d.opts.MinScore)
	}
	d.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("detecting faces in %v: %w", rr, err)
	}
	keep := suppress(cands, d.opts.MinScore, d.opts.NMS)
	// Back to im's pixels: the scale actually applied, per axis, after
	// rounding to whole pixels.
	sx, sy := float64(w)/float64(rr.Dx()), float64(h)/float64(rr.Dy())
	unmap := func(p vision.Point) vision.Point {
		return vision.Point{X: p.X/sx + float64(rr.Min.X), Y: p.Y/sy + float64(rr.Min.Y)}
	}
	faces := make([]Face, 0, len(keep))
	for _, c := range keep {
		tl := unmap(vision.Point{X: c.X, Y: c.Y})
		br := unmap(vision.Point{X: c.X + c.W, Y: c.Y + c.H})
		box := image.Rect(int(math.Floor(tl.X)), int(math.Floor(tl.Y)), int(math.Ceil(br.X)), int(math.Ceil(br.Y))).Intersect(im.Bounds())
		if box.Empty() {
			continue
		}
		f := Face{Box: box, Score: float64(c.Score)}
		for k, p := range c.Five {
			f.Five[k] = unmap(p)
		}
		faces = append(faces, f)
	}
	return faces, nil
}

// suppress keeps the best of overlapping candidates, best score first,
// with OpenCV's NMSBoxes.
func suppress(cands []Candidate, minScore, nms float32) []Candidate {
	if len(cands) == 0 {
		return nil // gocv's NMSBoxes indexes its first box
	}
	boxes := make([]image.Rectangle, len(cands))
	scores := make([]float32, len(cands))
	for i, c := range cands {
		boxes[i] = image.Rect(int(math.Round(c.X)), int(math.Round(c.Y)), int(math.Round(c.X+c.W)), int(math.Round(c.Y+c.H)))
		scores[i] = c.Score
	}
	// gocv fills indices without saying how many: mark the unused.
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = -1
	}
	gocv.NMSBoxes(boxes, scores, minScore, nms, idx)
	var keep []Candidate
	for _, i := range idx {
		if i < 0 || i >= len(cands) {
			break
		}
		keep = append(keep, cands[i])
	}
	slices.SortStableFunc(keep, func(a, b Candidate) int { return cmp.Compare(b.Score, a.Score) })
	return keep
}

// Close frees the network. The detector must not be used afterwards.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.net.close()
	return nil
}
