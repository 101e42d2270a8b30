package cluster

import "fmt"

// Score compares a clustering with true labels.
type Score struct {
	// BCubed precision, recall and F1: per point, the share of its cluster
	// that is its person, and of its person that is in its cluster,
	// averaged over points.
	BCubedP, BCubedR, BCubedF1 float64
	// Pairwise precision, recall and F1 over pairs of points put together
	// (by the clustering) and belonging together (by the labels).
	PairP, PairR, PairF1 float64
	// Clusters is the number of clusters found, counting noise points as
	// singletons; People the number of distinct labels.
	Clusters, People int
}

// Evaluate scores labels against truth (any comparable person keys). Noise
// points (-1) count as clusters of their own.
func Evaluate[K comparable](labels Labels, truth []K) (Score, error) {
	if len(labels) != len(truth) {
		return Score{}, fmt.Errorf("evaluate: %d labels for %d points", len(labels), len(truth))
	}
	n := len(labels)
	if n == 0 {
		return Score{}, fmt.Errorf("evaluate: no points")
	}
	// Noise points become unique clusters.
	cl := make([]int, n)
	next := labels.Count()
	for i, c := range labels {
		if c < 0 {
			cl[i] = next
			next++
		} else {
			cl[i] = c
		}
	}
	type key struct {
		c int
		p K
	}
	joint := map[key]int{}
	clSize := map[int]int{}
	pSize := map[K]int{}
	for i := range cl {
		joint[key{cl[i], truth[i]}]++
		clSize[cl[i]]++
		pSize[truth[i]]++
	}
	var s Score
	for i := range cl {
		j := float64(joint[key{cl[i], truth[i]}])
		s.BCubedP += j / float64(clSize[cl[i]])
		s.BCubedR += j / float64(pSize[truth[i]])
	}
	s.BCubedP /= float64(n)
	s.BCubedR /= float64(n)
	s.BCubedF1 = f1(s.BCubedP, s.BCubedR)

	pairs := func(k int) float64 { return float64(k) * float64(k-1) / 2 }
	var tp, predicted, actual float64
	for _, v := range joint {
		tp += pairs(v)
	}
	for _, v := range clSize {
		predicted += pairs(v)
	}
	for _, v := range pSize {
		actual += pairs(v)
	}
	s.PairP, s.PairR = ratio(tp, predicted), ratio(tp, actual)
	s.PairF1 = f1(s.PairP, s.PairR)
	s.Clusters, s.People = len(clSize), len(pSize)
	return s, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 1 // nothing claimed, nothing wrong
	}
	return a / b
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
