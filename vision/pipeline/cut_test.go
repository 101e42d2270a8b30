package pipeline_test

import (
	"testing"
	"testing/synctest"

	"joren/vision/pipeline"
	"joren/vision/track"
)

// walk is person id crossing the frame at height y, one position a frame.
func walk(id uint8, y int, xs ...int) []shot {
	out := make([]shot, len(xs))
	for i, x := range xs {
		out[i] = shot{at(id, x, y)}
	}
	return out
}

// TestCutFacesNotDescribed: a face cut by the frame's edge (someone
// entering or leaving the camera's view) is tracked but not described. Its
// descriptor, of half a face, is far from the person's others: described,
// it split the track of someone walking in, leaving a second visit of a few
// faces with a wrong descriptor (YuNet finds such faces, wide enough for a
// min_face of 64, where HOG does not). With the fake faces, a cut face
// passes the size gate and gets another person's descriptor.
func TestCutFacesNotDescribed(t *testing.T) {
	for _, c := range []struct {
		name    string
		passage []shot
		cut     int
	}{
		{"entering on the left", walk(1, 40, -34, -25, -15, -5, 5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 105, 115, 125, 135), 4},
		{"leaving on the right", walk(2, 60, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 218, 225, 235, 245, 254), 4},
		{"in view throughout", stay(18, at(3, 60, 40)), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cam := newCamera(script(5, c.passage))
				cam.ended = true
				cfg := fakeConfig()
				cfg.Gate.MinFace = 64 // the cut faces are wide enough
				p := pipeline.New(&faces{}, &faces{}, cfg)
				out, done := started(t.Context(), p, cam)
				var vs []track.Visit
				for v := range out {
					vs = append(vs, v)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if len(vs) != 1 {
					for _, v := range vs {
						t.Logf("visit %s to %s: %d faces, %d descriptors, rejected %+v", v.Start.Format("05.000"), v.End.Format("05.000"), v.Faces, len(v.Descriptors), v.Rejected)
					}
					t.Fatalf("%d visits of one passage, want 1", len(vs))
				}
				v := vs[0]
				id := c.passage[0][0].id
				if v.Faces != len(c.passage) || !v.Usable() || v.Rejected.Cut != c.cut || v.Rejected.Total() != c.cut {
					t.Errorf("visit of %d faces (want %d), %d descriptors, rejected %+v (want %d cut)", v.Faces, len(c.passage), len(v.Descriptors), v.Rejected, c.cut)
				}
				for k, d := range v.Descriptors {
					if d[id] < 0.9 {
						t.Errorf("descriptor %d is not person %d's", k, id)
					}
				}
			})
		})
	}
}
