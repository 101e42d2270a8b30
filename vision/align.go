package vision

import (
	"fmt"
	"image"
)

// Point is a landmark with sub-pixel precision.
type Point struct{ X, Y float64 }

// ArcFaceTemplate is where ArcFace-style networks expect the five
// landmarks in their 112x112 input: eye centres (left, right in the
// image), nose tip, mouth corners (left, right).
var ArcFaceTemplate = [5]Point{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366},
	{41.5493, 92.3655}, {70.7299, 92.2041},
}

// FivePoints reduces a 68-point dlib shape (iBUG 300-W numbering) to the
// five ArcFace landmarks: each eye's centre from its four eyelid points,
// the nose tip, and each mouth corner averaged over its outer and inner
// lip points.
func FivePoints(shape []image.Point) ([5]Point, error) {
	if len(shape) != 68 {
		return [5]Point{}, fmt.Errorf("five landmarks need a 68-point shape, got %d points", len(shape))
	}
	mean := func(idx ...int) Point {
		var p Point
		for _, i := range idx {
			p.X += float64(shape[i].X)
			p.Y += float64(shape[i].Y)
		}
		return Point{p.X / float64(len(idx)), p.Y / float64(len(idx))}
	}
	return [5]Point{
		mean(37, 38, 40, 41),
		mean(43, 44, 46, 47),
		mean(30),
		mean(48, 60),
		mean(54, 64),
	}, nil
}

// Similarity is a 2-D similarity transform (scale, rotation, translation)
// as the first two rows of its matrix: x' = A[0][0] x + A[0][1] y + A[0][2].
type Similarity [2][3]float64

// Apply maps p.
func (s Similarity) Apply(p Point) Point {
	return Point{s[0][0]*p.X + s[0][1]*p.Y + s[0][2], s[1][0]*p.X + s[1][1]*p.Y + s[1][2]}
}

// FitSimilarity returns the similarity transform mapping src onto dst with
// the least squared error over all points (no outlier rejection: with five
// good landmarks every point carries information, and RANSAC-style fits
// that drop some lose accuracy). It has the closed form of a linear least
// squares problem in (a, b, tx, ty) with x' = a x - b y + tx,
// y' = b x + a y + ty.
func FitSimilarity(src, dst []Point) (Similarity, error) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return Similarity{}, fmt.Errorf("similarity fit needs at least two point pairs, got %d and %d", len(src), len(dst))
	}
	var sx, sy, dx, dy float64
	for i := range src {
		sx, sy = sx+src[i].X, sy+src[i].Y
		dx, dy = dx+dst[i].X, dy+dst[i].Y
	}
	fn := float64(n)
	sx, sy, dx, dy = sx/fn, sy/fn, dx/fn, dy/fn
	// With both point sets centred the translation drops out:
	// a = Σ(u·u') / Σ|u|², b = Σ(u × u') / Σ|u|².
	var num1, num2, den float64
	for i := range src {
		ux, uy := src[i].X-sx, src[i].Y-sy
		vx, vy := dst[i].X-dx, dst[i].Y-dy
		num1 += ux*vx + uy*vy
		num2 += ux*vy - uy*vx
		den += ux*ux + uy*uy
	}
	if den == 0 {
		return Similarity{}, fmt.Errorf("similarity fit: all source points coincide")
	}
	a, b := num1/den, num2/den
	return Similarity{
		{a, -b, dx - (a*sx - b*sy)},
		{b, a, dy - (b*sx + a*sy)},
	}, nil
}
