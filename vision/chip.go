package vision

import (
	"errors"
	"fmt"
	"math"

	"joren/vision/frame"
)

// ArcFace returns ArcFaceTemplate scaled to a size x size input (the
// template is for 112 pixels).
func ArcFace(size int) [5]Point {
	k := float64(size) / 112
	var t [5]Point
	for i, p := range ArcFaceTemplate {
		t[i] = Point{p.X * k, p.Y * k}
	}
	return t
}

// DlibChipSize is the side of the chip dlib's ResNet describes.
const DlibChipSize = 150

// DlibChipTemplate is where five landmarks in ArcFace's order (eye
// centres, nose tip, mouth corners, picture's left first) land in dlib's
// 150-pixel face chip (get_face_chip_details with 0.25 padding, the chip
// go-face cuts from the 68-point shape). These are dlib's own mean face
// shape (image_transforms/interpolation.h): the eye centres are the means
// of landmarks 36-41 and 42-47, the nose tip is 30, the mouth corners 48
// and 54, each mapped by (0.25 + v) / 1.5 * 150. Aligning YuNet's five
// points to them cuts dlib's chip without a shape predictor.
var DlibChipTemplate = [5]Point{
	{47.549, 46.599}, {100.476, 46.599}, {74.013, 76.563},
	{50.415, 103.023}, {97.610, 103.023},
}

// maxChip bounds the side of a chip (a 1024-pixel network input is
// already far beyond any face network).
const maxChip = 1024

// AlignChip cuts from im the size x size chip in which the five landmarks
// land as close as possible to tmpl (the least-squares similarity of
// FitSimilarity), by bilinear interpolation; pixels outside im are black,
// as OpenCV's warpAffine and dlib's extract_image_chip make them. When the
// chip is smaller than the face (a 600-pixel face in a 150-pixel chip),
// the face is first shrunk by averaging blocks of pixels (an integer
// factor, as an image pyramid would) and each chip pixel then averages
// 2x2 samples, so that fine detail is averaged instead of aliased.
func AlignChip(im frame.Image, five, tmpl [5]Point, size int) (frame.Image, error) {
	if err := im.Check(); err != nil {
		return frame.Image{}, fmt.Errorf("aligning a face: %w", err)
	}
	if size < 1 || size > maxChip {
		return frame.Image{}, fmt.Errorf("aligning a face: chip size %d (want 1-%d)", size, maxChip)
	}
	for _, p := range five {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return frame.Image{}, errors.New("aligning a face: a landmark is not a number")
		}
	}
	// The transform from chip to picture: fitted that way round, every
	// chip pixel is one evaluation.
	s, err := FitSimilarity(tmpl[:], five[:])
	if err != nil {
		return frame.Image{}, fmt.Errorf("aligning a face: %w", err)
	}
	scale := math.Hypot(s[0][0], s[1][0]) // picture pixels per chip pixel
	if !(scale > 1e-3) || scale > 1e3 {
		return frame.Image{}, fmt.Errorf("aligning a face: landmarks %v give a scale of %g picture pixels per chip pixel", five, scale)
	}
	src := im
	if f := int(scale); f >= 2 {
		// Shrink the part of the picture the chip covers by f, and map
		// chip pixels into the shrunk copy instead.
		var box [4]float64 = [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for _, c := range [4]Point{{-1, -1}, {float64(size), -1}, {-1, float64(size)}, {float64(size), float64(size)}} {
			p := s.Apply(c)
			box = [4]float64{math.Min(box[0], p.X), math.Min(box[1], p.Y), math.Max(box[2], p.X), math.Max(box[3], p.Y)}
		}
		x0, y0 := max(0, int(box[0])-f), max(0, int(box[1])-f)
		x1, y1 := min(im.Cols, int(box[2])+f+1), min(im.Rows, int(box[3])+f+1)
		if x1-x0 < f || y1-y0 < f {
			return frame.New(size, size), nil // the chip lies outside the picture: black
		}
		src = shrink(im, x0, y0, x1, y1, f)
		// Picture point p is shrunk point (p - origin - (f-1)/2) / f.
		off := float64(f-1) / 2
		inv := 1 / float64(f)
		for r := 0; r < 2; r++ {
			s[r][0] *= inv
			s[r][1] *= inv
		}
		s[0][2] = (s[0][2] - float64(x0) - off) * inv
		s[1][2] = (s[1][2] - float64(y0) - off) * inv
		scale *= inv
	}
	n := 1
	if scale > 1.25 {
		n = 2
	}
	return warp(src, s, size, n), nil
}

// shrink averages f x f blocks of im's pixels inside [x0, x1) x [y0, y1)
// (a partial block at the right or bottom averages the pixels it has).
func shrink(im frame.Image, x0, y0, x1, y1, f int) frame.Image {
	w, h := (x1-x0+f-1)/f, (y1-y0+f-1)/f
	out := frame.New(w, h)
	sum := make([]int, 4*w)
	for oy := 0; oy < h; oy++ {
		clear(sum)
		for y := y0 + oy*f; y < min(y1, y0+(oy+1)*f); y++ {
			row := im.Pix[y*im.Step:]
			for x := x0; x < x1; x++ {
				k := 4 * ((x - x0) / f)
				p := row[3*x : 3*x+3]
				sum[k] += int(p[0])
				sum[k+1] += int(p[1])
				sum[k+2] += int(p[2])
				sum[k+3]++
			}
		}
		o := out.Pix[oy*out.Step:]
		for ox := 0; ox < w; ox++ {
			c := sum[4*ox+3]
			o[3*ox] = uint8((sum[4*ox] + c/2) / c)
			o[3*ox+1] = uint8((sum[4*ox+1] + c/2) / c)
			o[3*ox+2] = uint8((sum[4*ox+2] + c/2) / c)
		}
	}
	return out
}

// warp fills a size x size chip whose pixel (x, y) is the mean of n x n
// bilinear samples of im around s(x, y).
func warp(im frame.Image, s Similarity, size, n int) frame.Image {
	out := frame.New(size, size)
	inv := 1 / float64(n)
	k := inv * inv
	var acc [3]float64
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			acc = [3]float64{}
			for j := 0; j < n; j++ {
				cy := float64(y) + (float64(j)+0.5)*inv - 0.5
				for i := 0; i < n; i++ {
					cx := float64(x) + (float64(i)+0.5)*inv - 0.5
					bilinear(im, s[0][0]*cx+s[0][1]*cy+s[0][2], s[1][0]*cx+s[1][1]*cy+s[1][2], &acc)
				}
			}
			o := out.Pix[y*out.Step+3*x : y*out.Step+3*x+3]
			o[0] = uint8(math.Min(255, acc[0]*k+0.5))
			o[1] = uint8(math.Min(255, acc[1]*k+0.5))
			o[2] = uint8(math.Min(255, acc[2]*k+0.5))
		}
	}
	return out
}

// bilinear adds im's value at (x, y) to acc, black outside im.
func bilinear(im frame.Image, x, y float64, acc *[3]float64) {
	if !(x > -1 && y > -1 && x < float64(im.Cols) && y < float64(im.Rows)) {
		return
	}
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	if ix >= 0 && iy >= 0 && ix+1 < im.Cols && iy+1 < im.Rows {
		// All four neighbours inside: the common case, without checks.
		i := iy*im.Step + 3*ix
		a := im.Pix[i : i+6 : i+6]
		b := im.Pix[i+im.Step : i+im.Step+6 : i+im.Step+6]
		w00, w10, w01, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
		for c := 0; c < 3; c++ {
			acc[c] += w00*float64(a[c]) + w10*float64(a[c+3]) + w01*float64(b[c]) + w11*float64(b[c+3])
		}
		return
	}
	for _, q := range [4]struct {
		x, y int
		w    float64
	}{{ix, iy, (1 - fx) * (1 - fy)}, {ix + 1, iy, fx * (1 - fy)}, {ix, iy + 1, (1 - fx) * fy}, {ix + 1, iy + 1, fx * fy}} {
		if q.x < 0 || q.y < 0 || q.x >= im.Cols || q.y >= im.Rows {
			continue
		}
		p := im.Pix[q.y*im.Step+3*q.x : q.y*im.Step+3*q.x+3]
		acc[0] += q.w * float64(p[0])
		acc[1] += q.w * float64(p[1])
		acc[2] += q.w * float64(p[2])
	}
}

// Mirror returns im flipped left to right, in a new buffer.
func Mirror(im frame.Image) frame.Image {
	out := frame.New(im.Cols, im.Rows)
	for y := 0; y < im.Rows; y++ {
		src := im.Pix[y*im.Step:]
		dst := out.Pix[y*out.Step:]
		for x := 0; x < im.Cols; x++ {
			copy(dst[3*(im.Cols-1-x):3*(im.Cols-x)], src[3*x:3*x+3])
		}
	}
	return out
}
