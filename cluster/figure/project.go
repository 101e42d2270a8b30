package figure

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Options tune the projection.
type Options struct {
	// PCADims is the dimension kept by PCA before t-SNE (the article's 50).
	PCADims int
	// Perplexity is t-SNE's effective number of neighbours.
	Perplexity float64
	// Iterations of gradient descent.
	Iterations int
	// Seed makes the map repeatable.
	Seed uint64
	// Progress, if set, is called after each iteration.
	Progress func(iter, total int)
}

// DefaultOptions are van der Maaten's defaults and the article's PCA size.
var DefaultOptions = Options{PCADims: 50, Perplexity: 30, Iterations: 1000, Seed: 1}

// MaxPoints bounds exact t-SNE, whose time and memory grow with the square
// of the number of points; larger sets are sampled by the caller.
const MaxPoints = 5000

// PCA projects points onto their first dims principal components (fewer if
// the data has fewer dimensions or points).
func PCA(points [][]float32, dims int) ([][]float64, error) {
	n := len(points)
	if n == 0 {
		return nil, fmt.Errorf("pca: no points")
	}
	d := len(points[0])
	x := mat.NewDense(n, d, nil)
	for i, p := range points {
		if len(p) != d {
			return nil, fmt.Errorf("pca: point %d has %d dimensions, want %d", i, len(p), d)
		}
		for j, v := range p {
			x.Set(i, j, float64(v))
		}
	}
	k := min(dims, d, n)
	if n < 2 {
		return [][]float64{make([]float64, k)}, nil
	}
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return nil, fmt.Errorf("pca: decomposition failed")
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	// Centre, then project on the first k components.
	means := make([]float64, d)
	for j := 0; j < d; j++ {
		means[j] = stat.Mean(mat.Col(nil, j, x), nil)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, x.At(i, j)-means[j])
		}
	}
	var proj mat.Dense
	proj.Mul(x, vecs.Slice(0, d, 0, k))
	out := make([][]float64, n)
	for i := range out {
		out[i] = mat.Row(nil, i, &proj)
	}
	return out, nil
}

// TSNE maps points to 2-D so that neighbours stay neighbours.
func TSNE(ctx context.Context, x [][]float64, o Options) ([][2]float64, error) {
	n := len(x)
	if n == 0 {
		return nil, fmt.Errorf("t-sne: no points")
	}
	if n > MaxPoints {
		return nil, fmt.Errorf("t-sne: %d points, at most %d (sample them)", n, MaxPoints)
	}
	y := make([][2]float64, n)
	if n < 3 {
		for i := range y {
			y[i] = [2]float64{float64(i), 0}
		}
		return y, nil
	}
	perp := math.Min(o.Perplexity, float64(n-1)/3)
	p := affinities(x, perp)

	rng := rand.New(rand.NewPCG(o.Seed, 0x74736e65))
	for i := range y {
		y[i] = [2]float64{rng.NormFloat64() * 1e-4, rng.NormFloat64() * 1e-4}
	}
	gains := make([][2]float64, n)
	update := make([][2]float64, n)
	for i := range gains {
		gains[i] = [2]float64{1, 1}
	}
	num := make([]float64, n*n)
	grad := make([][2]float64, n)
	const (
		eta          = 200.0
		exaggeration = 12.0
		stopLying    = 250
	)
	for it := 0; it < o.Iterations; it++ {
		if it%50 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		exag := 1.0
		if it < stopLying {
			exag = exaggeration
		}
		momentum := 0.5
		if it >= 250 {
			momentum = 0.8
		}
		// Student-t affinities in the map.
		var sum float64
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				dx, dy := y[i][0]-y[j][0], y[i][1]-y[j][1]
				q := 1 / (1 + dx*dx + dy*dy)
				num[i*n+j], num[j*n+i] = q, q
				sum += 2 * q
			}
		}
		for i := 0; i < n; i++ {
			var gx, gy float64
			for j := 0; j < n; j++ {
				if i == j {
					continue
				}
				q := num[i*n+j]
				m := (exag*p[i*n+j] - math.Max(q/sum, 1e-12)) * q
				gx += m * (y[i][0] - y[j][0])
				gy += m * (y[i][1] - y[j][1])
			}
			grad[i] = [2]float64{4 * gx, 4 * gy}
		}
		var mean [2]float64
		for i := 0; i < n; i++ {
			for k := 0; k < 2; k++ {
				if (grad[i][k] > 0) != (update[i][k] > 0) {
					gains[i][k] += 0.2
				} else {
					gains[i][k] = math.Max(gains[i][k]*0.8, 0.01)
				}
				update[i][k] = momentum*update[i][k] - eta*gains[i][k]*grad[i][k]
				y[i][k] += update[i][k]
				mean[k] += y[i][k]
			}
		}
		for i := range y {
			y[i][0] -= mean[0] / float64(n)
			y[i][1] -= mean[1] / float64(n)
		}
		if o.Progress != nil {
			o.Progress(it+1, o.Iterations)
		}
	}
	return y, nil
}

// affinities returns the symmetric input affinities P (n×n, row-major),
// with each point's Gaussian bandwidth searched so that its perplexity is
// perp.
func affinities(x [][]float64, perp float64) []float64 {
	n := len(x)
	d2 := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			var s float64
			for k := range x[i] {
				v := x[i][k] - x[j][k]
				s += v * v
			}
			d2[i*n+j], d2[j*n+i] = s, s
		}
	}
	p := make([]float64, n*n)
	target := math.Log(perp)
	row := make([]float64, n)
	for i := 0; i < n; i++ {
		beta, lo, hi := 1.0, math.Inf(-1), math.Inf(1)
		// Distances are rescaled by the row's mean so beta starts near 1.
		var mean float64
		for j := 0; j < n; j++ {
			mean += d2[i*n+j]
		}
		mean /= float64(n - 1)
		if mean == 0 {
			mean = 1
		}
		for step := 0; step < 100; step++ {
			var sum, dsum float64
			for j := 0; j < n; j++ {
				if j == i {
					row[j] = 0
					continue
				}
				row[j] = math.Exp(-d2[i*n+j] / mean * beta)
				sum += row[j]
				dsum += d2[i*n+j] / mean * row[j]
			}
			if sum == 0 {
				sum = 1e-300
			}
			h := math.Log(sum) + beta*dsum/sum
			if math.Abs(h-target) < 1e-5 {
				break
			}
			if h > target {
				lo = beta
				if math.IsInf(hi, 1) {
					beta *= 2
				} else {
					beta = (beta + hi) / 2
				}
			} else {
				hi = beta
				if math.IsInf(lo, -1) {
					beta /= 2
				} else {
					beta = (beta + lo) / 2
				}
			}
		}
		var sum float64
		for j := 0; j < n; j++ {
			sum += row[j]
		}
		for j := 0; j < n; j++ {
			p[i*n+j] = row[j] / math.Max(sum, 1e-300)
		}
	}
	// Symmetrise and normalise.
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := math.Max((p[i*n+j]+p[j*n+i])/(2*float64(n)), 1e-12)
			p[i*n+j], p[j*n+i] = v, v
		}
	}
	return p
}
