package vocab

import (
	"fmt"
	"math"
)

// Metric is how distances between descriptors of one model are measured.
type Metric string

const (
	// Euclidean is the L2 distance (dlib's ResNet was trained for it).
	Euclidean Metric = "euclidean"
	// Cosine is 1 - cos(a, b), in [0, 2] (ArcFace-style models).
	Cosine Metric = "cosine"
)

// Model identifies the network behind a descriptor. Two descriptors are
// comparable only when their models have the same ID.
type Model struct {
	// Name is the network family, such as DlibResNet.Name.
	Name string `json:"name"`
	// Digest is the hex sha256 of the weights file: a converted or
	// re-quantised copy of a network moves descriptors, so it is another
	// model.
	Digest string `json:"digest"`
	// Dim is the length of every descriptor of this model.
	Dim int `json:"dim"`
	// Metric says how to compare descriptors.
	Metric Metric `json:"metric"`
	// Threshold is the distance below which two single descriptors are
	// called the same person by default. It is measured per model on
	// labelled data (docs/clustering.md), never assumed.
	Threshold float64 `json:"threshold"`
}

// ID is the short, stable identifier recorded with every stored descriptor.
func (m Model) ID() string {
	d := m.Digest
	if len(d) > 12 {
		d = d[:12]
	}
	if d == "" {
		return m.Name
	}
	return m.Name + "@" + d
}

// Distance measures a and b with the model's metric. It panics if their
// lengths differ: callers check descriptors with Check when they enter.
func (m Model) Distance(a, b []float32) float64 {
	return m.Metric.Distance(a, b)
}

// Check tells whether d can be a descriptor of m.
func (m Model) Check(d []float32) error {
	if len(d) != m.Dim {
		return fmt.Errorf("descriptor has %d values, model %s has %d", len(d), m.ID(), m.Dim)
	}
	for i, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("descriptor value %d is %v", i, v)
		}
	}
	return nil
}

// Distance between two descriptors of equal length.
func (mt Metric) Distance(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("vocab: distance between descriptors of length %d and %d", len(a), len(b)))
	}
	switch mt {
	case Cosine:
		var dot, na, nb float64
		for i := range a {
			x, y := float64(a[i]), float64(b[i])
			dot += x * y
			na += x * x
			nb += y * y
		}
		if na == 0 || nb == 0 {
			return 1
		}
		return 1 - dot/math.Sqrt(na*nb)
	default:
		var s float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
}

// ParseMetric reads a metric name as written in files and flags.
func ParseMetric(s string) (Metric, error) {
	switch Metric(s) {
	case Euclidean, Cosine:
		return Metric(s), nil
	}
	return "", fmt.Errorf("unknown metric %q (want %q or %q)", s, Euclidean, Cosine)
}
