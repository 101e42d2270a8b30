package vision

import (
	"image"
	"testing"
)

func TestLargestAndDominant(t *testing.T) {
	face := func(w int) Face { return Face{Box: image.Rect(0, 0, w, w)} }
	for _, tc := range []struct {
		name              string
		faces             []Face
		largest, dominant int
	}{
		{"none", nil, -1, -1},
		{"one", []Face{face(80)}, 0, 0},
		{"a passer-by behind", []Face{face(120), face(300)}, 1, 1},
		{"just 1.5 times as wide", []Face{face(300), face(200)}, 0, 0},
		{"a group", []Face{face(90), face(85), face(88)}, 0, -1},
		{"two close", []Face{face(300), face(250), face(50)}, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Largest(tc.faces); got != tc.largest {
				t.Errorf("Largest = %d, want %d", got, tc.largest)
			}
			if got := Dominant(tc.faces); got != tc.dominant {
				t.Errorf("Dominant = %d, want %d", got, tc.dominant)
			}
		})
	}
}
