package yunet

import (
	"fmt"
	"math"

	"joren/vision"
)

// strides are the down-sampling factors of YuNet's three output grids.
var strides = [3]int{8, 16, 32}

// Grid is the output of one stride: one entry per grid cell, row-major.
type Grid struct {
	Stride int
	// Cls and Obj are the class and objectness scores of each cell.
	Cls, Obj []float32
	// Box holds four values per cell: the box centre's offset from the
	// cell's corner in cells, and the log of its width and height in
	// cells.
	Box []float32
	// Kps holds ten values per cell: five landmarks (x, y), in cells from
	// the cell's corner.
	Kps []float32
}

// Outputs are the network's outputs for an input of Width x Height
// pixels (multiples of 32).
type Outputs struct {
	Width, Height int
	Grids         [3]Grid
}

// cells is the number of cells of stride s's grid.
func (o Outputs) cells(s int) int { return (o.Width / s) * (o.Height / s) }

// floats is how many values the network writes for this input.
func (o Outputs) floats() int {
	n := 0
	for _, s := range strides {
		n += 16 * o.cells(s)
	}
	return n
}

// split points the grids into buf, laid out as net.cc writes it.
func (o *Outputs) split(buf []float32) {
	off := 0
	take := func(n int) []float32 {
		s := buf[off : off+n : off+n]
		off += n
		return s
	}
	for i, s := range strides {
		n := o.cells(s)
		o.Grids[i] = Grid{Stride: s, Cls: take(n), Obj: take(n), Box: take(4 * n), Kps: take(10 * n)}
	}
}

// Candidate is one grid cell's face before non-maximum suppression, in
// the input's pixels.
type Candidate struct {
	Score float32
	// X, Y are the box's top left corner, W, H its size.
	X, Y, W, H float64
	// Five are the landmarks in YuNet's order, which is ArcFace's: the eye
	// on the picture's left (the person's right eye), the other eye, the
	// nose tip, the mouth corner on the picture's left, the other one.
	Five [5]vision.Point
}

// Decode turns the network's outputs into the candidates scoring at least
// minScore: score = sqrt(cls * obj), each clamped to [0, 1]; box centre
// (col + dx, row + dy) * stride, size exp(log size) * stride; landmarks
// (col + kx, row + ky) * stride. Cells whose values are not finite, or
// whose box is empty or implausibly large, are skipped: the decoder never
// trusts the tensors it is given. Outputs of the wrong shape are an error.
func Decode(o Outputs, minScore float32) ([]Candidate, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width%32 != 0 || o.Height%32 != 0 {
		return nil, fmt.Errorf("decoding YuNet's outputs: input %dx%d is not a positive multiple of 32", o.Width, o.Height)
	}
	var out []Candidate
	for i, s := range strides {
		g := o.Grids[i]
		cols, n := o.Width/s, o.cells(s)
		if g.Stride != s || len(g.Cls) != n || len(g.Obj) != n || len(g.Box) != 4*n || len(g.Kps) != 10*n {
			return nil, fmt.Errorf("decoding YuNet's outputs: stride %d grid (stride %d) has %d, %d, %d and %d values, want %d, %d, %d and %d",
				s, g.Stride, len(g.Cls), len(g.Obj), len(g.Box), len(g.Kps), n, n, 4*n, 10*n)
		}
		fs := float64(s)
		for c := 0; c < n; c++ {
			score := float32(math.Sqrt(float64(clamp01(g.Cls[c]) * clamp01(g.Obj[c]))))
			if !(score >= minScore) { // also false for NaN
				continue
			}
			col, row := float64(c%cols), float64(c/cols)
			b := g.Box[4*c : 4*c+4]
			cx, cy := (col+float64(b[0]))*fs, (row+float64(b[1]))*fs
			w, h := math.Exp(float64(b[2]))*fs, math.Exp(float64(b[3]))*fs
			cand := Candidate{Score: score, X: cx - w/2, Y: cy - h/2, W: w, H: h}
			if !plausible(cand.X, cand.Y, w, h, o) {
				continue
			}
			ok := true
			for k := range cand.Five {
				p := vision.Point{X: (col + float64(g.Kps[10*c+2*k])) * fs, Y: (row + float64(g.Kps[10*c+2*k+1])) * fs}
				if !inside(p, o) {
					ok = false
					break
				}
				cand.Five[k] = p
			}
			if ok {
				out = append(out, cand)
			}
		}
	}
	return out, nil
}

func clamp01(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v > 0:
		return v
	}
	return 0 // negative or NaN
}

// plausible tells whether a box is finite, not empty, and within one input
// size of the input: a face is never larger than the picture it is in.
func plausible(x, y, w, h float64, o Outputs) bool {
	fw, fh := float64(o.Width), float64(o.Height)
	return w >= 1 && h >= 1 && w <= 2*fw && h <= 2*fh &&
		x >= -fw && y >= -fh && x <= 2*fw && y <= 2*fh // false for NaN
}

// inside tells whether a landmark is finite and near the input.
func inside(p vision.Point, o Outputs) bool {
	fw, fh := float64(o.Width), float64(o.Height)
	return p.X >= -fw && p.Y >= -fh && p.X <= 2*fw && p.Y <= 2*fh
}
