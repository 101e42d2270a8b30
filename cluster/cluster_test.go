package cluster

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"joren/internal/testenv"
	"joren/vocab"
)

// line builds points on a line: distances are differences of positions.
func line(pos ...float64) [][]float32 {
	out := make([][]float32, len(pos))
	for i, p := range pos {
		out[i] = []float32{float32(p)}
	}
	return out
}

var lineModel = vocab.Model{Name: "line", Dim: 1, Metric: vocab.Euclidean, Threshold: 1}

func TestMethodsOnSeparatedGroups(t *testing.T) {
	// Three tight groups far apart, and one point far from everything.
	pts := line(0, 0.1, 0.2, 10, 10.1, 10.2, 10.3, 20, 20.1, 50)
	want := []int{1, 1, 1, 0, 0, 0, 0, 2, 2, 3}
	for _, p := range []Params{
		{Method: DBSCANMethod, Eps: 0.5, MinSamples: 1},
		{Method: AverageLink, Threshold: 1},
		{Method: Whispers, Threshold: 1},
		// Evenly spaced points look spread out to local scaling: a looser
		// threshold than the default keeps the four-point group whole.
		{Method: Adaptive, Threshold: 1.5, Neighbours: 2, MaxRadius: 0.5},
	} {
		t.Run(string(p.Method), func(t *testing.T) {
			got, err := Cluster(pts, lineModel, p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal([]int(got), want) {
				t.Errorf("labels %v, want %v", got, want)
			}
		})
	}
}

func TestDBSCANNoiseAndBorder(t *testing.T) {
	pts := line(0, 0.1, 0.2, 0.4, 5)
	m := NewMatrix(pts, vocab.Euclidean.Distance)
	got, err := DBSCAN(m, 0.15, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 is the only core point (0, 0.1, 0.2 within 0.15); 0 and 0.2 are
	// its border points; 0.4 and 5 are noise.
	want := Labels{0, 0, 0, -1, -1}
	if !slices.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}

func TestSingleLinkageChains(t *testing.T) {
	// A chain of look-alikes 0.3 apart: DBSCAN with min-samples 1 (single
	// linkage) joins the ends, 1.2 apart; average linkage does not.
	pts := line(0, 0.3, 0.6, 0.9, 1.2)
	d, _ := DBSCAN(NewMatrix(pts, vocab.Euclidean.Distance), 0.35, 1)
	if d.Count() != 1 {
		t.Errorf("dbscan made %d clusters of a chain, want 1", d.Count())
	}
	a, _ := Agglomerative(NewMatrix(pts, vocab.Euclidean.Distance), 0.35, Average)
	if a.Count() < 2 {
		t.Errorf("average linkage made %d cluster of a chain, want several", a.Count())
	}
}

func TestAgglomerativeMatchesNaive(t *testing.T) {
	// NN-chain must give the same partition as the obvious O(n³) algorithm.
	rng := rand.New(rand.NewPCG(4, 5))
	for trial := 0; trial < 20; trial++ {
		n := 5 + rng.IntN(40)
		pts := make([][]float32, n)
		for i := range pts {
			pts[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
		}
		for _, link := range []Linkage{Average, Complete, Single} {
			th := 0.5 + rng.Float64()
			got, err := Agglomerative(NewMatrix(pts, vocab.Euclidean.Distance), th, link)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveLinkage(NewMatrix(pts, vocab.Euclidean.Distance), th, link)
			if !samePartition(got, want) {
				t.Fatalf("trial %d %s threshold %.3f: %v, naive %v", trial, link, th, got, want)
			}
		}
	}
}

func naiveLinkage(m *Matrix, th float64, link Linkage) Labels {
	n := m.Len()
	groups := make([][]int, n)
	for i := range groups {
		groups[i] = []int{i}
	}
	dist := func(a, b []int) float64 {
		var s float64
		best := math.Inf(1)
		worst := 0.0
		for _, i := range a {
			for _, j := range b {
				d := m.At(i, j)
				s += d
				best, worst = math.Min(best, d), math.Max(worst, d)
			}
		}
		switch link {
		case Single:
			return best
		case Complete:
			return worst
		}
		return s / float64(len(a)*len(b))
	}
	for {
		bi, bj, bd := -1, -1, math.Inf(1)
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				if d := dist(groups[i], groups[j]); d < bd {
					bi, bj, bd = i, j, d
				}
			}
		}
		if bi < 0 || bd > th {
			break
		}
		groups[bi] = append(groups[bi], groups[bj]...)
		groups = append(groups[:bj], groups[bj+1:]...)
	}
	raw := make([]int, n)
	for g, members := range groups {
		for _, i := range members {
			raw[i] = g
		}
	}
	return relabel(raw)
}

func samePartition(a, b Labels) bool {
	if len(a) != len(b) {
		return false
	}
	ab, ba := map[int]int{}, map[int]int{}
	for i := range a {
		if x, ok := ab[a[i]]; ok && x != b[i] {
			return false
		}
		if y, ok := ba[b[i]]; ok && y != a[i] {
			return false
		}
		ab[a[i]], ba[b[i]] = b[i], a[i]
	}
	return true
}

func TestApartNeverTogether(t *testing.T) {
	// Four identical faces, two photos of two: each photo's faces are two
	// people, so there must be exactly two clusters, one per position.
	pts := line(0, 0, 0.01, 0.01)
	apart := []int{0, 0, 1, 1}
	for _, method := range []Method{Adaptive, AverageLink} {
		got, err := Cluster(pts, lineModel, Params{Method: method, Apart: apart, Neighbours: 1, MaxRadius: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == got[1] || got[2] == got[3] {
			t.Errorf("%s: faces of one photo together: %v", method, got)
		}
	}
	if _, err := Cluster(pts, lineModel, Params{Apart: []int{0}}); err == nil {
		t.Error("Apart of the wrong length accepted")
	}
}

func TestLabelsOrderedBySize(t *testing.T) {
	got := relabel([]int{7, 3, 3, -1, 9, 9, 9, 7})
	want := Labels{1, 2, 2, -1, 0, 0, 0, 1}
	if !slices.Equal(got, want) {
		t.Errorf("relabel: %v, want %v", got, want)
	}
	if s := got.Sizes(); !slices.Equal(s, []int{3, 2, 2}) {
		t.Errorf("sizes %v", s)
	}
}

func TestClusterErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points [][]float32
		p      Params
		want   string
	}{
		{"empty", nil, Params{}, "no descriptors"},
		{"wrong length", [][]float32{{1}, {1, 2}}, Params{}, "descriptor 2: descriptor has 2 values"},
		{"nan", [][]float32{{float32(math.NaN())}}, Params{}, "is NaN"},
		{"method", line(1, 2), Params{Method: "kmeans"}, "unknown clustering method"},
		{"eps", line(1, 2), Params{Method: DBSCANMethod, Eps: -1}, "eps must be > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cluster(tc.points, lineModel, tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	truth := []string{"a", "a", "a", "b", "b"}
	perfect, _ := Evaluate(Labels{0, 0, 0, 1, 1}, truth)
	if perfect.BCubedF1 != 1 || perfect.PairF1 != 1 {
		t.Errorf("perfect clustering scored %+v", perfect)
	}
	// All in one cluster: BCubed precision = (3*(3/5) + 2*(2/5))/5 = 0.52,
	// recall 1; pairwise precision 4/10 (3 a-pairs + 1 b-pair of 10).
	all, _ := Evaluate(Labels{0, 0, 0, 0, 0}, truth)
	if math.Abs(all.BCubedP-0.52) > 1e-9 || all.BCubedR != 1 || math.Abs(all.PairP-0.4) > 1e-9 || all.PairR != 1 {
		t.Errorf("one cluster scored %+v", all)
	}
	// Noise points are singletons: recall of a = 1/3 each, b = 1/2 each.
	noise, _ := Evaluate(Labels{-1, -1, -1, -1, -1}, truth)
	if noise.BCubedP != 1 || math.Abs(noise.BCubedR-(3*(1.0/3)+2*(1.0/2))/5) > 1e-9 || noise.Clusters != 5 {
		t.Errorf("all noise scored %+v", noise)
	}
	if _, err := Evaluate(Labels{0}, truth); err == nil {
		t.Error("length mismatch accepted")
	}
}

// dev loads the shared labelled descriptors.
func dev(t testing.TB) (points [][]float32, truth []string, model vocab.Model) {
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := ReadEmbeddings(f, f.Name(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		points = append(points, e.Descriptor)
		truth = append(truth, e.Person)
	}
	// The file's descriptors are dlib's; the threshold is the one measured
	// for dlib (package dlib's DefaultThreshold; dlib is cgo, so not
	// imported here).
	model = vocab.DlibResNet()
	return points, truth, model
}

// bestDBSCAN is the best BCubed F1 the article's DBSCAN (min-samples 1)
// reaches with any eps.
func bestDBSCAN(t testing.TB, points [][]float32, truth []string, model vocab.Model) (float64, float64) {
	m := NewMatrix(points, model.Distance)
	best, at := 0.0, 0.0
	for eps := 0.20; eps <= 0.60; eps += 0.005 {
		l, err := DBSCAN(m, eps, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := Evaluate(l, truth)
		if s.BCubedF1 > best {
			best, at = s.BCubedF1, eps
		}
	}
	return best, at
}

// TestDefaultBeatsDBSCAN is the bar on the shared data: the default
// method at its default settings must beat the best DBSCAN by 0.10 BCubed
// F1 on all 70 people, and on each half of them (people the defaults were
// not tuned on alone).
func TestDefaultBeatsDBSCAN(t *testing.T) {
	points, truth, model := dev(t)
	people := map[string]int{}
	for _, p := range truth {
		if _, ok := people[p]; !ok {
			people[p] = len(people)
		}
	}
	sets := map[string]func(string) bool{
		"all people":  func(string) bool { return true },
		"even people": func(p string) bool { return people[p]%2 == 0 },
		"odd people":  func(p string) bool { return people[p]%2 == 1 },
	}
	for name, keep := range sets {
		t.Run(name, func(t *testing.T) {
			var pts [][]float32
			var tr []string
			for i := range points {
				if keep(truth[i]) {
					pts, tr = append(pts, points[i]), append(tr, truth[i])
				}
			}
			labels, err := Cluster(pts, model, Params{})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := Evaluate(labels, tr)
			db, eps := bestDBSCAN(t, pts, tr, model)
			t.Logf("%d descriptors of %d people: default BCubed F1 %.3f (pairwise %.3f), best DBSCAN %.3f at eps %.3f", len(pts), s.People, s.BCubedF1, s.PairF1, db, eps)
			if s.BCubedF1 < db+0.10 {
				t.Errorf("default BCubed F1 %.3f, want at least best DBSCAN %.3f + 0.10", s.BCubedF1, db)
			}
		})
	}
}

func TestReadEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		dim            int
	}{
		{"ok", "{\"descriptor\":[1,2],\"person\":\"a\"}\n\n{\"descriptor\":[3,4]}\n", "", 0},
		{"wrong length", "{\"descriptor\":[1,2]}\n{\"descriptor\":[3]}\n", "f.jsonl:2: descriptor has 1 values, want 2", 0},
		{"wrong dim", "{\"descriptor\":[1,2]}\n", "f.jsonl:1: descriptor has 2 values, want 128", 128},
		{"no descriptor", "{\"person\":\"a\"}\n", "f.jsonl:1: no \"descriptor\" field", 0},
		{"not json", "hello\n", "f.jsonl:1: not a JSON object", 0},
		{"not numbers", "{\"descriptor\":[\"a\"]}\n", "f.jsonl:1: not a JSON object", 0},
		{"empty", "\n\n", "f.jsonl: no descriptors", 0},
		{"empty descriptor", "{\"descriptor\":[]}\n", "f.jsonl:1: empty descriptor", 0},
		{"huge", "{\"descriptor\":[1e300]}\n", "not a finite number", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := ReadEmbeddings(strings.NewReader(tc.in), "f.jsonl", tc.dim)
			if tc.want == "" {
				if err != nil || len(es) != 2 || es[0].Person != "a" || es[1].Line != 3 {
					t.Fatalf("got %+v, %v", es, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLocalScale(t *testing.T) {
	m := NewMatrix(line(0, 1, 3), vocab.Euclidean.Distance)
	// k=1 radii: 1, 1, 2 (capped at 10): d(0,2)=3/sqrt(1*2).
	if err := LocalScale(m, 1, 10); err != nil {
		t.Fatal(err)
	}
	if got := m.At(0, 2); math.Abs(got-3/math.Sqrt2) > 1e-6 {
		t.Errorf("scaled distance %v, want %v", got, 3/math.Sqrt2)
	}
	// Capped radius: two lone points are grouped exactly when their
	// distance is below Threshold*MaxRadius.
	for _, d := range []float64{0.4, 0.6} {
		l, err := Cluster(line(0, d), lineModel, Params{Method: Adaptive, Threshold: 1, MaxRadius: 0.5, Neighbours: 5})
		if err != nil {
			t.Fatal(err)
		}
		if together := l[0] == l[1]; together != (d < 0.5) {
			t.Errorf("pair %.1f apart together=%v", d, together)
		}
	}
}
