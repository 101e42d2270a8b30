package cluster

import "fmt"

// DBSCAN is the article's method: a point with at least minSamples points
// (itself included) within eps is a core point; clusters are the core
// points connected through each other's neighbourhoods, plus the border
// points they reach; the rest is noise (-1).
func DBSCAN(m *Matrix, eps float64, minSamples int) (Labels, error) {
	if err := checkMatrix(m); err != nil {
		return nil, err
	}
	if eps <= 0 {
		return nil, fmt.Errorf("dbscan: eps must be > 0, got %v", eps)
	}
	if minSamples < 1 {
		return nil, fmt.Errorf("dbscan: min-samples must be >= 1, got %d", minSamples)
	}
	n := m.Len()
	neighbours := func(i int) []int {
		var out []int
		for j := 0; j < n; j++ {
			if m.At(i, j) <= eps {
				out = append(out, j)
			}
		}
		return out
	}
	const unvisited = -2
	labels := make([]int, n)
	for i := range labels {
		labels[i] = unvisited
	}
	next := 0
	for i := 0; i < n; i++ {
		if labels[i] != unvisited {
			continue
		}
		nb := neighbours(i)
		if len(nb) < minSamples {
			labels[i] = -1
			continue
		}
		c := next
		next++
		labels[i] = c
		queue := append([]int(nil), nb...)
		for len(queue) > 0 {
			j := queue[0]
			queue = queue[1:]
			if labels[j] == -1 {
				labels[j] = c // border point
			}
			if labels[j] != unvisited {
				continue
			}
			labels[j] = c
			if nj := neighbours(j); len(nj) >= minSamples {
				queue = append(queue, nj...)
			}
		}
	}
	return relabel(labels), nil
}
