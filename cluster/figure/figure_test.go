package figure

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blobs makes k well-separated Gaussian blobs of n points in d dimensions.
func blobs(k, n, d int, seed uint64) ([][]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var pts [][]float32
	var labels []int
	for c := 0; c < k; c++ {
		centre := make([]float64, d)
		for i := range centre {
			centre[i] = rng.NormFloat64() * 10
		}
		for j := 0; j < n; j++ {
			p := make([]float32, d)
			for i := range p {
				p[i] = float32(centre[i] + rng.NormFloat64()*0.5)
			}
			pts = append(pts, p)
			labels = append(labels, c)
		}
	}
	return pts, labels
}

func TestPCA(t *testing.T) {
	pts, _ := blobs(3, 20, 128, 1)
	x, err := PCA(pts, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 60 || len(x[0]) != 50 {
		t.Fatalf("PCA gave %d×%d, want 60×50", len(x), len(x[0]))
	}
	// Components are centred and in decreasing variance.
	variance := func(k int) float64 {
		var s, s2 float64
		for _, r := range x {
			s += r[k]
			s2 += r[k] * r[k]
		}
		if math.Abs(s/60) > 1e-6 {
			t.Errorf("component %d not centred: mean %v", k, s/60)
		}
		return s2 / 60
	}
	for k := 1; k < 50; k++ {
		if variance(k) > variance(k-1)+1e-9 {
			t.Fatalf("component %d has more variance than %d", k, k-1)
		}
	}
	// Fewer points than dimensions: at most as many components as points.
	few, err := PCA(pts[:5], 50)
	if err != nil || len(few[0]) != 5 {
		t.Errorf("PCA of 5 points: %d components, %v", len(few[0]), err)
	}
	if _, err := PCA([][]float32{{1, 2}, {1}}, 2); err == nil {
		t.Error("ragged input accepted")
	}
}

func TestTSNESeparatesBlobs(t *testing.T) {
	pts, labels := blobs(4, 25, 64, 2)
	x, err := PCA(pts, 50)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions
	o.Iterations = 500
	y, err := TSNE(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	// Every point's nearest neighbour in the map is of its own blob.
	wrong := 0
	for i := range y {
		best, bd := -1, math.Inf(1)
		for j := range y {
			if i == j {
				continue
			}
			d := math.Hypot(y[i][0]-y[j][0], y[i][1]-y[j][1])
			if d < bd {
				best, bd = j, d
			}
		}
		if labels[best] != labels[i] {
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d points have a nearest neighbour of another blob in the map", wrong, len(y))
	}
	// Same seed, same map.
	y2, _ := TSNE(context.Background(), x, o)
	if y2[7] != y[7] {
		t.Errorf("t-SNE not repeatable: %v then %v", y[7], y2[7])
	}
}

func TestTSNECancelAndLimits(t *testing.T) {
	pts, _ := blobs(2, 10, 8, 3)
	x, _ := PCA(pts, 50)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TSNE(ctx, x, DefaultOptions); err == nil {
		t.Error("cancelled t-SNE returned no error")
	}
	if _, err := TSNE(context.Background(), make([][]float64, MaxPoints+1), DefaultOptions); err == nil {
		t.Error("too many points accepted")
	}
	two, err := TSNE(context.Background(), x[:2], DefaultOptions)
	if err != nil || len(two) != 2 {
		t.Errorf("two points: %v, %v", two, err)
	}
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	xy := make([][2]float64, 60)
	labels := make([]int, 60)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range xy {
		labels[i] = i % 25 // more clusters than colours
		if i >= 50 {
			labels[i] = -1
		}
		xy[i] = [2]float64{rng.Float64(), rng.Float64()}
	}
	p := filepath.Join(dir, "map.png")
	if err := Render(p, xy, labels, "test", map[int]string{0: "Alice"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if img.Bounds().Dx() < 500 {
		t.Errorf("PNG is %v", img.Bounds())
	}
	s := filepath.Join(dir, "map.svg")
	if err := Render(s, xy, labels, "test", nil); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(s)
	for _, want := range []string{"<svg", "cluster 0 (", "other clusters (", "singletons and noise (10 faces)"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if err := Render(filepath.Join(dir, "map.gif"), xy, labels, "", nil); err == nil || !strings.Contains(err.Error(), ".png or .svg") {
		t.Errorf("gif: %v", err)
	}
	if err := Render(p, xy, labels[:3], "", nil); err == nil {
		t.Error("label count mismatch accepted")
	}
}
