package cluster

import (
	"fmt"
	"math"
)

// Linkage is how the distance between two groups is computed from the
// distances between their members.
type Linkage string

const (
	// Average is the mean distance over all pairs across the two groups.
	Average Linkage = "average"
	// Complete is the largest such distance.
	Complete Linkage = "complete"
	// Single is the smallest such distance (DBSCAN with min-samples 1).
	Single Linkage = "single"
)

// Agglomerative merges the two closest groups until the closest pair is
// farther apart than threshold. It uses the nearest-neighbour chain
// algorithm: O(n²) time, and the matrix is consumed (overwritten) as groups
// merge, so no second n² buffer is needed. Pass a copy to keep m.
func Agglomerative(m *Matrix, threshold float64, link Linkage) (Labels, error) {
	if err := checkMatrix(m); err != nil {
		return nil, err
	}
	if threshold <= 0 {
		return nil, fmt.Errorf("agglomerative: threshold must be > 0, got %v", threshold)
	}
	switch link {
	case Average, Complete, Single:
	default:
		return nil, fmt.Errorf("agglomerative: unknown linkage %q", link)
	}
	n := m.Len()
	size := make([]int, n)
	parent := make([]int, n) // union-find over original points
	active := make([]bool, n)
	for i := range size {
		size[i], parent[i], active[i] = 1, i, true
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	d := func(i, j int) float64 { return float64(m.d[m.index(min(i, j), max(i, j))]) }
	set := func(i, j int, v float64) { m.d[m.index(min(i, j), max(i, j))] = float32(v) }

	chain := make([]int, 0, n)
	remaining := n
	for remaining > 1 {
		if len(chain) == 0 {
			for i := 0; i < n; i++ {
				if active[i] {
					chain = append(chain, i)
					break
				}
			}
		}
		a := chain[len(chain)-1]
		prev := -1
		if len(chain) > 1 {
			prev = chain[len(chain)-2]
		}
		// Nearest active neighbour of a; ties go to the previous link so
		// the chain ends in a reciprocal pair.
		best, bestD := -1, math.Inf(1)
		if prev >= 0 {
			best, bestD = prev, d(a, prev)
		}
		for j := 0; j < n; j++ {
			if j == a || !active[j] {
				continue
			}
			if v := d(a, j); v < bestD {
				best, bestD = j, v
			}
		}
		if best < 0 {
			// Every other group is infinitely far (cannot-link): a is final.
			active[a] = false
			remaining--
			chain = chain[:len(chain)-1]
			continue
		}
		if best != prev {
			chain = append(chain, best)
			continue
		}
		// a and prev are reciprocal nearest neighbours. If they are farther
		// apart than threshold, neither has any group within threshold, and
		// with these (reducible) linkages no merge elsewhere can bring one
		// closer: both are final. Otherwise merge them.
		chain = chain[:len(chain)-2]
		if bestD > threshold {
			active[a], active[prev] = false, false
			remaining -= 2
			continue
		}
		// Merge a into prev (prev keeps its index).
		na, nb := float64(size[a]), float64(size[prev])
		for k := 0; k < n; k++ {
			if !active[k] || k == a || k == prev {
				continue
			}
			da, db := d(k, a), d(k, prev)
			var v float64
			switch link {
			case Average:
				v = (na*da + nb*db) / (na + nb)
			case Complete:
				v = math.Max(da, db)
			case Single:
				v = math.Min(da, db)
			}
			set(k, prev, v)
		}
		active[a] = false
		size[prev] += size[a]
		parent[find(a)] = find(prev)
		remaining--
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = find(i)
	}
	return relabel(labels), nil
}
