package cluster

import (
	"slices"
	"testing"

	"joren/vocab"
)

func TestApartBy(t *testing.T) {
	got := ApartBy([]string{"a.jpg", "b.jpg", "a.jpg", "c.jpg", "b.jpg"})
	if want := []int{0, 1, 0, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("ApartBy = %v, want %v", got, want)
	}
}

// Two real descriptors of one person are grouped when they come from two
// photos, and kept apart when they are faces of one photo (a photo of
// twins, or a mirror): one photo never shows one person twice.
func TestClusterPhotos(t *testing.T) {
	points, truth, model := dev(t)
	a, b := twoPeople(t, points, truth, model)
	separate := []PhotoFace{
		{"1.jpg", a[0]}, {"2.jpg", a[1]}, {"3.jpg", a[2]},
		{"4.jpg", b[0]}, {"5.jpg", b[1]}, {"6.jpg", b[2]},
	}
	l, err := ClusterPhotos(separate, model, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if l[0] != l[1] || l[1] != l[2] || l[3] != l[4] || l[4] != l[5] || l[0] == l[3] {
		t.Fatalf("six photos of two people: labels %v, want two groups of three", l)
	}
	// The first person's first two faces now share a photo (with the
	// second person's first face): they must be two people.
	shared := slices.Clone(separate)
	shared[1].Photo, shared[3].Photo = "1.jpg", "1.jpg"
	for _, m := range []Method{Adaptive, AverageLink} {
		l, err := ClusterPhotos(shared, model, Params{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if l[0] == l[1] || l[0] == l[3] || l[1] == l[3] {
			t.Errorf("%s: faces of one photo together: labels %v", m, l)
		}
	}
}

// twoPeople finds three faces of each of two people that any method groups
// alone: each person's faces close together (below 0.8 of the model's
// threshold), the two people far apart (above 1.25 of it).
func twoPeople(t *testing.T, points [][]float32, truth []string, model vocab.Model) (a, b [][]float32) {
	t.Helper()
	by := map[string][][]float32{}
	var people []string
	for i, p := range truth {
		if by[p] == nil {
			people = append(people, p)
		}
		by[p] = append(by[p], points[i])
	}
	// tight returns three faces of p closer than 0.8 threshold pairwise.
	tight := func(p string) [][]float32 {
		fs := by[p]
		for i := range fs {
			for j := i + 1; j < len(fs); j++ {
				for k := j + 1; k < len(fs); k++ {
					if model.Distance(fs[i], fs[j]) < 0.8*model.Threshold && model.Distance(fs[i], fs[k]) < 0.8*model.Threshold &&
						model.Distance(fs[j], fs[k]) < 0.8*model.Threshold {
						return [][]float32{fs[i], fs[j], fs[k]}
					}
				}
			}
		}
		return nil
	}
	far := func(x, y [][]float32) bool {
		for _, p := range x {
			for _, q := range y {
				if model.Distance(p, q) < 1.25*model.Threshold {
					return false
				}
			}
		}
		return true
	}
	for i, p := range people {
		if a = tight(p); a == nil {
			continue
		}
		for _, q := range people[i+1:] {
			if b = tight(q); b != nil && far(a, b) {
				return a, b
			}
		}
	}
	t.Fatal("no two people in the shared descriptors with three close faces each, far apart")
	return nil, nil
}
