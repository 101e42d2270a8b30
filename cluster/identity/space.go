package identity

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Space is a learnt linear map of one model's descriptors under which the
// variation of one person's descriptors is white (identity covariance) and
// the variation between people is diagonal, with variances Psi: the
// two-covariance model of probabilistic LDA. In that space the evidence
// that two sets of descriptors show one person has a closed form that uses
// every descriptor of both sets (see score.go).
type Space struct {
	// Model is the model name the space was fitted for, and In its
	// descriptor length.
	Model string `json:"model"`
	In    int    `json:"in"`
	// Mean is subtracted before projecting (In values).
	Mean []float32 `json:"mean"`
	// Proj is the projection, Out rows of In values, row-major.
	Proj []float32 `json:"proj"`
	// Psi is the between-person variance of each output dimension (the
	// within-person variance is 1).
	Psi []float32 `json:"psi"`
	// Provenance says what the space was fitted on and how to refit it.
	Provenance Provenance `json:"provenance"`
}

// Provenance of a fitted Space.
type Provenance struct {
	Source      string     `json:"source"`
	SourceSHA   string     `json:"source_sha256"`
	People      int        `json:"people"`
	Descriptors int        `json:"descriptors"`
	Options     FitOptions `json:"options"`
	Command     string     `json:"command"`
}

// Out is the projected dimension.
func (s *Space) Out() int { return len(s.Psi) }

// FitOptions are the choices of Fit.
type FitOptions struct {
	// Dims is how many output dimensions to keep (the most discriminant
	// ones); at most the number of people minus one.
	Dims int `json:"dims"`
	// Shrink in [0, 1) pulls the within-person covariance toward a
	// multiple of the identity before whitening: a few hundred descriptors
	// cannot estimate 128x128 covariances, and directions that barely
	// vary in the sample would otherwise be trusted blindly.
	Shrink float64 `json:"shrink"`
}

// Fit learns a Space from labelled descriptors (at least two people, two
// descriptors each for the within-person part).
func Fit(model string, points [][]float32, labels []string, o FitOptions) (*Space, error) {
	if len(points) != len(labels) {
		return nil, fmt.Errorf("fit: %d labels for %d descriptors", len(labels), len(points))
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("fit: no descriptors")
	}
	d := len(points[0])
	byPerson := map[string][]int{}
	var people []string
	for i, p := range points {
		if len(p) != d {
			return nil, fmt.Errorf("fit: descriptor %d has %d values, want %d", i+1, len(p), d)
		}
		if _, ok := byPerson[labels[i]]; !ok {
			people = append(people, labels[i])
		}
		byPerson[labels[i]] = append(byPerson[labels[i]], i)
	}
	slices.Sort(people)
	c := len(people)
	if c < 2 {
		return nil, fmt.Errorf("fit: need at least two people, got %d", c)
	}
	if o.Dims < 1 || o.Dims > min(d, c-1) {
		return nil, fmt.Errorf("fit: %d dimensions asked, want 1 to %d (%d people, %d values)", o.Dims, min(d, c-1), c, d)
	}
	if o.Shrink < 0 || o.Shrink >= 1 {
		return nil, fmt.Errorf("fit: shrink %v not in [0, 1)", o.Shrink)
	}
	mean := make([]float64, d)
	for _, p := range points {
		for k, v := range p {
			mean[k] += float64(v)
		}
	}
	for k := range mean {
		mean[k] /= float64(len(points))
	}
	sw := mat.NewSymDense(d, nil)
	sb := mat.NewSymDense(d, nil)
	within := 0
	var sizes float64
	diff := make([]float64, d)
	for _, person := range people {
		idx := byPerson[person]
		mu := make([]float64, d)
		for _, i := range idx {
			for k, v := range points[i] {
				mu[k] += float64(v)
			}
		}
		for k := range mu {
			mu[k] /= float64(len(idx))
		}
		for _, i := range idx {
			for k, v := range points[i] {
				diff[k] = float64(v) - mu[k]
			}
			sw.SymRankOne(sw, 1, mat.NewVecDense(d, diff))
		}
		within += len(idx) - 1
		for k := range mu {
			diff[k] = mu[k] - mean[k]
		}
		sb.SymRankOne(sb, 1, mat.NewVecDense(d, diff))
		sizes += 1 / float64(len(idx))
	}
	if within < d/4 {
		return nil, fmt.Errorf("fit: %d descriptors of %d people leave too few repeats to learn within-person variation", len(points), c)
	}
	sw.ScaleSym(1/float64(within), sw)
	sb.ScaleSym(1/float64(c), sb)
	var tr float64
	for k := 0; k < d; k++ {
		tr += sw.At(k, k)
	}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := (1 - o.Shrink) * sw.At(i, j)
			if i == j {
				v += o.Shrink * tr / float64(d)
			}
			sw.SetSym(i, j, v)
		}
	}
	// Whiten the within-person covariance: A = Λ^-1/2 Uᵀ.
	var es mat.EigenSym
	if !es.Factorize(sw, true) {
		return nil, fmt.Errorf("fit: within-person covariance does not factorise")
	}
	vals := es.Values(nil)
	var u mat.Dense
	es.VectorsTo(&u)
	a := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		if vals[i] <= 0 {
			return nil, fmt.Errorf("fit: within-person covariance is singular (use shrink > 0)")
		}
		s := 1 / math.Sqrt(vals[i])
		for j := 0; j < d; j++ {
			a.Set(i, j, s*u.At(j, i))
		}
	}
	// Between-person covariance in the whitened space, diagonalised.
	var t1, bw mat.Dense
	t1.Mul(a, sb)
	bw.Mul(&t1, a.T())
	bs := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			bs.SetSym(i, j, (bw.At(i, j)+bw.At(j, i))/2)
		}
	}
	if !es.Factorize(bs, true) {
		return nil, fmt.Errorf("fit: between-person covariance does not factorise")
	}
	bvals := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	// Largest first.
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		switch {
		case bvals[x] > bvals[y]:
			return -1
		case bvals[x] < bvals[y]:
			return 1
		}
		return 0
	})
	// A person's sample mean also carries within-person noise (1/n in the
	// whitened space): the between-person variance is what remains.
	noise := sizes / float64(c)
	sp := &Space{Model: model, In: d, Mean: make([]float32, d), Proj: make([]float32, o.Dims*d), Psi: make([]float32, o.Dims)}
	for k, m := range mean {
		sp.Mean[k] = float32(m)
	}
	for r := 0; r < o.Dims; r++ {
		col := order[r]
		sp.Psi[r] = float32(math.Max(bvals[col]-noise, 1e-3))
		for j := 0; j < d; j++ {
			var s float64
			for k := 0; k < d; k++ {
				s += v.At(k, col) * a.At(k, j)
			}
			sp.Proj[r*d+j] = float32(s)
		}
	}
	return sp, nil
}

// Project maps x (In values) into the space (Out values).
func (s *Space) Project(x []float32) []float32 {
	dst := make([]float32, s.Out())
	s.project(x, dst)
	return dst
}

// project writes x's image into dst without allocating: the hot path.
func (s *Space) project(x []float32, dst []float32) {
	for r := range dst {
		row := s.Proj[r*s.In : (r+1)*s.In]
		var sum float32
		for k, v := range x {
			sum += row[k] * (v - s.Mean[k])
		}
		dst[r] = sum
	}
}

// Check tells whether s is usable: sizes agree and values are finite.
func (s *Space) Check() error {
	switch {
	case s.In <= 0 || len(s.Psi) == 0:
		return fmt.Errorf("learnt space for %s: empty", s.Model)
	case len(s.Mean) != s.In:
		return fmt.Errorf("learnt space for %s: mean has %d values, want %d", s.Model, len(s.Mean), s.In)
	case len(s.Proj) != s.In*len(s.Psi):
		return fmt.Errorf("learnt space for %s: projection has %d values, want %d", s.Model, len(s.Proj), s.In*len(s.Psi))
	}
	for _, v := range [][]float32{s.Mean, s.Proj, s.Psi} {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("learnt space for %s: value %v", s.Model, x)
			}
		}
	}
	for _, p := range s.Psi {
		if p <= 0 {
			return fmt.Errorf("learnt space for %s: between-person variance %v <= 0", s.Model, p)
		}
	}
	return nil
}
