package cluster

import (
	"fmt"
	"joren/vocab"
	"math"
	"slices"
)

// Method names a clustering method.
type Method string

const (
	// Adaptive is average linkage over locally scaled distances: the
	// default, because it is the most accurate method measured on face
	// descriptors of people who look alike (docs/clustering.md).
	Adaptive Method = "adaptive"
	// AverageLink is average linkage over plain distances.
	AverageLink Method = "average"
	// DBSCANMethod is the article's DBSCAN.
	DBSCANMethod Method = "dbscan"
	// Whispers is dlib's chinese whispers.
	Whispers Method = "whispers"
)

// Methods lists every method, default first.
var Methods = []Method{Adaptive, AverageLink, DBSCANMethod, Whispers}

// ParseMethod reads a method name.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown clustering method %q (want one of %v)", s, Methods)
}

// Params select a method and its settings. Zero values take the defaults
// of Defaults.
type Params struct {
	Method Method
	// Threshold: for Adaptive, on the scaled distance (unitless, about 1);
	// for AverageLink and Whispers, on the model's distance.
	Threshold float64
	// Eps and MinSamples are DBSCAN's.
	Eps        float64
	MinSamples int
	// Neighbours is Adaptive's k: a face's neighbourhood radius is its
	// distance to its k-th nearest face.
	Neighbours int
	// MaxRadius caps that radius, so that in a small set, where the k-th
	// nearest face is someone else, distances are not shrunk. Two lone
	// faces are then grouped exactly when their distance is below
	// Threshold*MaxRadius.
	MaxRadius float64
	// Seed makes Whispers repeatable.
	Seed uint64
	// Apart, if set, has one value per point: points with the same value
	// >= 0 are known to be different people (faces of one photo, or tracks
	// seen at the same moment) and are never put together by Adaptive or
	// AverageLink. Whispers only drops their direct link; DBSCAN ignores it.
	Apart []int
}

// The defaults, measured on dlib descriptors of 70 people
// (docs/clustering.md) and expressed relative to the model's same-person
// threshold so that they carry over to models with another distance scale.
const (
	// AdaptiveThreshold is the scaled distance at which groups stop
	// merging: flat optimum between 1.12 and 1.18 for 5 to 70 people.
	AdaptiveThreshold = 1.16
	// AdaptiveNeighbours is k; 5 to 7 measured best, and people seen fewer
	// times than that are still grouped through the radius cap.
	AdaptiveNeighbours = 5
	averageRatio       = 0.92 // plain average linkage's optimum: 0.40-0.41 for dlib
	dbscanRatio        = 0.75 // DBSCAN's optimum eps: 0.32-0.34 for dlib
	whispersRatio      = 0.77 // chinese whispers' optimum: 0.34 for dlib
)

// Defaults returns the default settings of method for descriptors of model.
func Defaults(method Method, model vocab.Model) Params {
	t := model.Threshold
	p := Params{Method: method, Seed: 1}
	switch method {
	case Adaptive:
		p.Threshold = AdaptiveThreshold
		p.Neighbours = AdaptiveNeighbours
		p.MaxRadius = t / AdaptiveThreshold
	case AverageLink:
		p.Threshold = averageRatio * t
	case DBSCANMethod:
		p.Eps = dbscanRatio * t
		p.MinSamples = 1
	case Whispers:
		p.Threshold = whispersRatio * t
	}
	return p
}

// fill sets zero fields of p from d.
func (p Params) fill(d Params) Params {
	if p.Threshold == 0 {
		p.Threshold = d.Threshold
	}
	if p.Eps == 0 {
		p.Eps = d.Eps
	}
	if p.MinSamples == 0 {
		p.MinSamples = d.MinSamples
	}
	if p.Neighbours == 0 {
		p.Neighbours = d.Neighbours
	}
	if p.MaxRadius == 0 {
		p.MaxRadius = d.MaxRadius
	}
	if p.Seed == 0 {
		p.Seed = d.Seed
	}
	return p
}

// String describes the method and its settings, as in docs tables.
func (p Params) String() string {
	switch p.Method {
	case Adaptive:
		return fmt.Sprintf("adaptive k=%d threshold=%.2f max-radius=%.3f", p.Neighbours, p.Threshold, p.MaxRadius)
	case AverageLink:
		return fmt.Sprintf("average threshold=%.3f", p.Threshold)
	case DBSCANMethod:
		return fmt.Sprintf("dbscan eps=%.3f min-samples=%d", p.Eps, p.MinSamples)
	case Whispers:
		return fmt.Sprintf("whispers threshold=%.3f", p.Threshold)
	}
	return string(p.Method)
}

// Cluster groups descriptors of model into people. Every descriptor must be
// of the model's dimension.
func Cluster(points [][]float32, model vocab.Model, p Params) (Labels, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("no descriptors to cluster")
	}
	for i, d := range points {
		if err := model.Check(d); err != nil {
			return nil, fmt.Errorf("descriptor %d: %w", i+1, err)
		}
	}
	if p.Method == "" {
		p.Method = Adaptive
	}
	if _, err := ParseMethod(string(p.Method)); err != nil {
		return nil, err
	}
	p = p.fill(Defaults(p.Method, model))
	if len(points) == 1 {
		return Labels{0}, nil
	}
	if p.Apart != nil && len(p.Apart) != len(points) {
		return nil, fmt.Errorf("cluster: %d apart values for %d points", len(p.Apart), len(points))
	}
	m := NewMatrix(points, model.Distance)
	m.separate(p.Apart)
	switch p.Method {
	case Adaptive:
		if err := LocalScale(m, p.Neighbours, p.MaxRadius); err != nil {
			return nil, err
		}
		return Agglomerative(m, p.Threshold, Average)
	case AverageLink:
		return Agglomerative(m, p.Threshold, Average)
	case DBSCANMethod:
		return DBSCAN(m, p.Eps, p.MinSamples)
	default:
		return ChineseWhispers(m, p.Threshold, 100, p.Seed)
	}
}

// LocalScale divides every distance d(i, j) by sqrt(r_i r_j), where r_i is
// the distance from i to its k-th nearest point, capped at maxRadius (in
// place). Where faces crowd together, as descriptors of people who look
// alike do, distances grow; where a person's faces are spread out, they
// shrink: one threshold then fits both (Zelnik-Manor and Perona's local
// scaling).
func LocalScale(m *Matrix, k int, maxRadius float64) error {
	if k < 1 {
		return fmt.Errorf("local scaling: k must be >= 1, got %d", k)
	}
	if maxRadius <= 0 {
		return fmt.Errorf("local scaling: max radius must be > 0, got %v", maxRadius)
	}
	n := m.Len()
	r := make([]float64, n)
	row := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		row = row[:0]
		for j := 0; j < n; j++ {
			if j != i {
				row = append(row, m.At(i, j))
			}
		}
		kk := min(k, len(row))
		if kk == 0 {
			r[i] = maxRadius
			continue
		}
		r[i] = math.Min(kth(row, kk-1), maxRadius)
		// Identical descriptors would make the radius 0.
		r[i] = math.Max(r[i], 1e-6)
	}
	for i := 0; i < n; i++ {
		base := m.index(i, i+1)
		for j := i + 1; j < n; j++ {
			m.d[base+j-i-1] = float32(float64(m.d[base+j-i-1]) / math.Sqrt(r[i]*r[j]))
		}
	}
	return nil
}

// kth returns the k-th smallest value (0-based) of v, reordering v.
func kth(v []float64, k int) float64 {
	if k < 32 {
		// Partial selection: k is small (neighbours), so k passes over v
		// beat sorting.
		for a := 0; a <= k; a++ {
			mi := a
			for b := a + 1; b < len(v); b++ {
				if v[b] < v[mi] {
					mi = b
				}
			}
			v[a], v[mi] = v[mi], v[a]
		}
		return v[k]
	}
	slices.Sort(v)
	return v[k]
}
