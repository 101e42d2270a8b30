package vision

import (
	"errors"
	"image"
)

// Face is one face found in a picture.
type Face struct {
	// Box is the detector's rectangle in the picture's pixel coordinates.
	Box image.Rectangle
	// Landmarks are the shape predictor's points (5 or 68), same coordinates.
	Landmarks []image.Point
	// Five are the five alignment landmarks in ArcFace's order (eye
	// centres, nose tip, mouth corners, the picture's left first) when the
	// detector gives them (YuNet), same coordinates; nil otherwise.
	Five *[5]Point
	// Descriptor is the embedding of the aligned face; its length is the
	// model's Dim.
	Descriptor []float32
}

// ErrNoFace is returned where exactly one face was needed and none was found.
var ErrNoFace = errors.New("no face found")

// Largest returns the index of the face with the largest box, or -1.
func Largest(faces []Face) int {
	best, area := -1, -1
	for i, f := range faces {
		if a := f.Box.Dx() * f.Box.Dy(); a > area {
			best, area = i, a
		}
	}
	return best
}

// Dominant returns the index of the face of a photo of one person: the
// largest face when it is at least 1.5 times as wide as every other (a
// passer-by in the background, a face on a poster), or -1 when several
// faces are about as large (a group photo) or there is none.
func Dominant(faces []Face) int {
	k := Largest(faces)
	if k < 0 {
		return -1
	}
	w := float64(faces[k].Box.Dx())
	for i, f := range faces {
		if i != k && w < 1.5*float64(f.Box.Dx()) {
			return -1
		}
	}
	return k
}
