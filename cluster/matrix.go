package cluster

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Matrix holds the distances between n points, each pair once (the
// condensed upper triangle), as float32: n(n-1)/2 values, about 200 MB for
// 10,000 points.
type Matrix struct {
	n int
	d []float32
}

// NewMatrix computes all pairwise distances of points with dist, in
// parallel. Points are not kept.
func NewMatrix(points [][]float32, dist func(a, b []float32) float64) *Matrix {
	n := len(points)
	m := &Matrix{n: n, d: make([]float32, n*(n-1)/2)}
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	rows := make(chan int, n)
	for i := 0; i < n; i++ {
		rows <- i
	}
	close(rows)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rows {
				base := m.index(i, i+1)
				for j := i + 1; j < n; j++ {
					m.d[base+j-i-1] = float32(dist(points[i], points[j]))
				}
			}
		}()
	}
	wg.Wait()
	return m
}

// separate sets the distance between points of the same group (>= 0) to
// +Inf. Under average and complete linkage a group holding one of them then
// stays infinitely far from a group holding the other, so they never end
// up together.
func (m *Matrix) separate(group []int) {
	if group == nil {
		return
	}
	by := map[int][]int{}
	for i, g := range group {
		if g >= 0 {
			by[g] = append(by[g], i)
		}
	}
	inf := float32(math.Inf(1))
	for _, pts := range by {
		for a := 0; a < len(pts); a++ {
			for b := a + 1; b < len(pts); b++ {
				m.d[m.index(pts[a], pts[b])] = inf
			}
		}
	}
}

// Len is the number of points.
func (m *Matrix) Len() int { return m.n }

// At is the distance between points i and j (0 when i == j).
func (m *Matrix) At(i, j int) float64 {
	if i == j {
		return 0
	}
	if i > j {
		i, j = j, i
	}
	return float64(m.d[m.index(i, j)])
}

// index of pair i < j in the condensed triangle.
func (m *Matrix) index(i, j int) int {
	return i*m.n - i*(i+1)/2 + (j - i - 1)
}

// Labels are cluster numbers per point: 0 is the largest cluster, -1 noise.
type Labels []int

// relabel numbers clusters by decreasing size (ties by first point), noise
// and singletons-as-noise untouched.
func relabel(raw []int) Labels {
	size := map[int]int{}
	first := map[int]int{}
	for i, c := range raw {
		if c < 0 {
			continue
		}
		if _, ok := size[c]; !ok {
			first[c] = i
		}
		size[c]++
	}
	ids := make([]int, 0, len(size))
	for c := range size {
		ids = append(ids, c)
	}
	slices.SortFunc(ids, func(a, b int) int {
		if size[a] != size[b] {
			return size[b] - size[a]
		}
		return first[a] - first[b]
	})
	to := make(map[int]int, len(ids))
	for k, c := range ids {
		to[c] = k
	}
	out := make(Labels, len(raw))
	for i, c := range raw {
		if c < 0 {
			out[i] = -1
		} else {
			out[i] = to[c]
		}
	}
	return out
}

// Count returns the number of clusters (noise not counted).
func (l Labels) Count() int {
	k := 0
	for _, c := range l {
		if c+1 > k {
			k = c + 1
		}
	}
	return k
}

// Sizes returns the size of each cluster by label.
func (l Labels) Sizes() []int {
	s := make([]int, l.Count())
	for _, c := range l {
		if c >= 0 {
			s[c]++
		}
	}
	return s
}

func checkMatrix(m *Matrix) error {
	if m == nil || m.n == 0 {
		return fmt.Errorf("no descriptors to cluster")
	}
	return nil
}
