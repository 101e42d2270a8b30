package cluster

import (
	"math/rand/v2"
	"testing"

	"joren/internal/testenv"
)

func benchCluster(b *testing.B, points [][]float32, p Params) {
	_, _, model := dev(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Cluster(points, model, p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}

// BenchmarkCluster675 clusters the 675 shared descriptors.
func BenchmarkCluster675(b *testing.B) {
	points, _, _ := dev(b)
	for _, m := range Methods {
		b.Run(string(m), func(b *testing.B) { benchCluster(b, points, Params{Method: m}) })
	}
}

// BenchmarkCluster10000 clusters 10,000 descriptors: the shared ones with
// small Gaussian noise added (about 0.2 from the original, a same-person
// distance), for timing and memory only.
func BenchmarkCluster10000(b *testing.B) {
	base, _, _ := dev(b)
	rng := rand.New(rand.NewPCG(1, 1))
	points := make([][]float32, 10000)
	for i := range points {
		src := base[rng.IntN(len(base))]
		p := make([]float32, len(src))
		for k := range p {
			p[k] = src[k] + float32(rng.NormFloat64()*0.02)
		}
		points[i] = p
	}
	for _, m := range []Method{Adaptive, DBSCANMethod} {
		b.Run(string(m), func(b *testing.B) { benchCluster(b, points, Params{Method: m}) })
	}
}
