package identity

import (
	"joren/vocab"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// pldaLLR is the two-covariance log-likelihood ratio written out plainly,
// per dimension: same person, the two means share a centre; different
// people, they do not.
func pldaLLR(psi []float32, a []float32, k float64, b []float32, n float64) float64 {
	var s float64
	for d, pf := range psi {
		p := float64(pf)
		va, vb := p+1/k, p+1/n
		det := va*vb - p*p
		x, y := float64(a[d]), float64(b[d])
		same := -0.5*math.Log(det) - 0.5*(vb*x*x-2*p*x*y+va*y*y)/det
		diff := -0.5*math.Log(va*vb) - 0.5*(x*x/va+y*y/vb)
		s += same - diff
	}
	return s
}

func TestPLDAScorer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	sp := &Space{Model: "toy", In: 6, Mean: make([]float32, 6), Psi: []float32{4, 2, 1, 0.5}, Proj: make([]float32, 24)}
	for i := 0; i < 4; i++ {
		sp.Proj[i*6+i] = 1
	}
	sc, err := newScorer(vocab.Model{Name: "toy", Dim: 6, Threshold: 1}, sp)
	if err != nil {
		t.Fatal(err)
	}
	vec := func() []float32 {
		v := make([]float32, 4)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 2)
		}
		return v
	}
	for trial := 0; trial < 50; trial++ {
		a, b := vec(), vec()
		k, n := 1+rng.IntN(5), 1+rng.IntN(40)
		got := sc.query(a, k).llr(b, n)
		want := pldaLLR(sp.Psi, a, float64(k), b, float64(n))
		if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Fatalf("llr(k=%d, n=%d) = %v, direct formula %v", k, n, got, want)
		}
		// The evidence is symmetric in its two sides.
		if back := sc.query(b, n).llr(a, k); math.Abs(back-got) > 1e-4*math.Max(1, math.Abs(got)) {
			t.Fatalf("llr not symmetric: %v vs %v", got, back)
		}
	}
	// More descriptors of the same point: more evidence.
	a := vec()
	if one, many := sc.query(a, 1).llr(a, 1), sc.query(a, 3).llr(a, 10); many <= one {
		t.Errorf("evidence of 3 vs 10 identical descriptors (%v) not above 1 vs 1 (%v)", many, one)
	}
}

func TestDistanceScorer(t *testing.T) {
	m := vocab.Model{Name: "toy", Dim: 8, Metric: vocab.Euclidean, Threshold: 0.5}
	sc, err := newScorer(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]float32, 8)
	at := func(dist float64, k, n int) float64 {
		b := make([]float32, 8)
		b[0] = float32(dist)
		return sc.query(a, k).llr(b, n)
	}
	// Monotone in distance; more descriptors sharpen it both ways.
	if !(at(0.1, 1, 1) > at(0.4, 1, 1) && at(0.4, 1, 1) > at(0.8, 1, 1)) {
		t.Error("evidence does not fall with distance")
	}
	if !(at(0.1, 3, 10) > at(0.1, 1, 1) && at(0.8, 3, 10) < at(0.8, 1, 1)) {
		t.Error("more descriptors do not sharpen the evidence")
	}
	// Cosine models compare unit vectors: scale does not matter.
	cm := vocab.Model{Name: "arc", Dim: 3, Metric: vocab.Cosine, Threshold: 0.4}
	cs, _ := newScorer(cm, nil)
	x := cs.feature([]float32{1, 2, 2}, nil)
	y := cs.feature([]float32{10, 20, 20}, nil)
	if math.Abs(float64(x[0]-y[0])) > 1e-6 || math.Abs(float64(x[0])-1.0/3) > 1e-6 {
		t.Errorf("unit features %v %v", x, y)
	}
	if _, err := newScorer(vocab.Model{Name: "x", Dim: 3}, nil); err == nil {
		t.Error("a model without a threshold accepted")
	}
	if _, err := newScorer(vocab.Model{Name: "x", Dim: 3, Threshold: 1}, &Space{In: 4, Psi: []float32{1}}); err == nil {
		t.Error("a space of another length accepted")
	}
}

// TestIndexTop checks the pruned scan against scoring everyone, for both
// scorers (the bound of the pruning must never lose the true best).
func TestIndexTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const dim = 40
	sp := &Space{Model: "toy", In: dim, Mean: make([]float32, dim), Proj: make([]float32, dim*dim), Psi: make([]float32, dim)}
	for d := range sp.Psi {
		sp.Psi[d] = float32(8 / (1 + float64(d)))
		sp.Proj[d*dim+d] = 1
	}
	for _, space := range []*Space{nil, sp} {
		sc, err := newScorer(vocab.Model{Name: "toy", Dim: dim, Metric: vocab.Euclidean, Threshold: 1}, space)
		if err != nil {
			t.Fatal(err)
		}
		for trial := 0; trial < 20; trial++ {
			checkTop(t, sc, rng, dim)
		}
	}
}

func checkTop(t *testing.T, sc *scorer, rng *rand.Rand, dim int) {
	x := newIndex(dim)
	type entry struct {
		f []float32
		n int
	}
	all := map[string]entry{}
	scale := 0.1
	if sc.space != nil {
		scale = 2
	}
	for i := 0; i < 300; i++ {
		f := make([]float32, dim)
		for k := range f {
			f[k] = float32(rng.NormFloat64() * scale)
		}
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		n := 1 + rng.IntN(10)
		x.put(id, f, n)
		all[id] = entry{f, n}
		if i%7 == 0 {
			x.remove(id)
			delete(all, id)
		}
	}
	if x.len() != len(all) {
		t.Fatalf("index holds %d, want %d", x.len(), len(all))
	}
	a := make([]float32, dim)
	for k := range a {
		a[k] = float32(rng.NormFloat64() * scale)
	}
	q := sc.query(a, 1+rng.IntN(3))
	skip := func(id string) bool { return id[0] == 'c' }
	var want []match
	for id, e := range all {
		if !skip(id) {
			want = append(want, match{id, q.llr(e.f, e.n)})
		}
	}
	slices.SortFunc(want, func(a, b match) int {
		switch {
		case a.llr > b.llr:
			return -1
		case a.llr < b.llr:
			return 1
		}
		return 0
	})
	got := x.top(q, 5, skip)
	for i := range got {
		if got[i].id != want[i].id || math.Abs(got[i].llr-want[i].llr) > 1e-9*math.Max(1, math.Abs(want[i].llr)) {
			t.Fatalf("%s: top 5 %v, want %v", sc.kind(), got, want[:5])
		}
	}
	for id, e := range all {
		f, n, ok := x.feature(id)
		if !ok || n != e.n || !slices.Equal(f, e.f) {
			t.Fatalf("entry %s: %v %d %v", id, f, n, ok)
		}
	}
}
