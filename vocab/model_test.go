package vocab

import (
	"math"
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	cases := []struct {
		metric Metric
		a, b   []float32
		want   float64
	}{
		{Euclidean, []float32{0, 0}, []float32{3, 4}, 5},
		{Euclidean, []float32{1, 2, 3}, []float32{1, 2, 3}, 0},
		{Cosine, []float32{1, 0}, []float32{0, 1}, 1},
		{Cosine, []float32{1, 1}, []float32{2, 2}, 0},
		{Cosine, []float32{1, 0}, []float32{-1, 0}, 2},
		{Cosine, []float32{0, 0}, []float32{1, 0}, 1}, // a zero vector is nobody
	}
	for _, c := range cases {
		if got := (Model{Metric: c.metric}).Distance(c.a, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s(%v, %v) = %v, want %v", c.metric, c.a, c.b, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	m := DlibResNet()
	good := make([]float32, m.Dim)
	if err := m.Check(good); err != nil {
		t.Errorf("a %d-value descriptor: %v", m.Dim, err)
	}
	nan := make([]float32, m.Dim)
	nan[7] = float32(math.NaN())
	inf := make([]float32, m.Dim)
	inf[0] = float32(math.Inf(-1))
	for _, c := range []struct {
		d    []float32
		want string
	}{
		{make([]float32, 512), "descriptor has 512 values, model dlib_resnet_v1 has 128"},
		{nil, "descriptor has 0 values"},
		{nan, "descriptor value 7 is NaN"},
		{inf, "descriptor value 0 is -Inf"},
	} {
		if err := m.Check(c.d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check: %v, want %q", err, c.want)
		}
	}
}

func TestID(t *testing.T) {
	m := DlibResNet()
	if m.ID() != DlibResNetName {
		t.Errorf("without a digest: %q", m.ID())
	}
	m.Digest = "0123456789abcdef0123"
	if m.ID() != DlibResNetName+"@0123456789ab" {
		t.Errorf("with a digest: %q", m.ID())
	}
}

func TestParseMetric(t *testing.T) {
	for _, s := range []string{"euclidean", "cosine"} {
		if m, err := ParseMetric(s); err != nil || string(m) != s {
			t.Errorf("ParseMetric(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseMetric("manhattan"); err == nil || !strings.Contains(err.Error(), `unknown metric "manhattan"`) {
		t.Errorf("ParseMetric(manhattan): %v", err)
	}
}
