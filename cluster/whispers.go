package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ChineseWhispers is dlib's face clustering: link every pair closer than
// threshold, start with one label per point, then let each point (in random
// order) take the label most common among its links, until labels settle
// or iterations run out. The seed makes runs repeatable.
func ChineseWhispers(m *Matrix, threshold float64, iterations int, seed uint64) (Labels, error) {
	if err := checkMatrix(m); err != nil {
		return nil, err
	}
	if threshold <= 0 {
		return nil, fmt.Errorf("chinese whispers: threshold must be > 0, got %v", threshold)
	}
	if iterations <= 0 {
		iterations = 100
	}
	n := m.Len()
	adj := make([][]int, n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if d := m.At(i, j); d < threshold && !math.IsInf(d, 1) {
				adj[i] = append(adj[i], j)
				adj[j] = append(adj[j], i)
			}
		}
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0x6a6f72656e))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	votes := map[int]int{}
	for it := 0; it < iterations; it++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		changed := false
		for _, i := range order {
			if len(adj[i]) == 0 {
				continue
			}
			clear(votes)
			best, bestVotes := labels[i], 0
			for _, j := range adj[i] {
				l := labels[j]
				votes[l]++
				if v := votes[l]; v > bestVotes || (v == bestVotes && l < best) {
					best, bestVotes = l, v
				}
			}
			if best != labels[i] {
				labels[i] = best
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return relabel(labels), nil
}
