package verification

import (
	"math"
	"testing"
)

func dist1(a, b []float32) float64 { return math.Abs(float64(a[0] - b[0])) }

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
		auc     float64
		rank1   float64
		bal     float64
	}{
		{
			// Two tight, far-apart people: perfect.
			name: "separable",
			samples: []Sample{
				{"a", []float32{0}}, {"a", []float32{0.1}}, {"b", []float32{5}}, {"b", []float32{5.1}},
			},
			auc: 1, rank1: 1, bal: 1,
		},
		{
			// Same pairs 2 and 2 apart; different pairs 1, 1, 1, 3: each
			// same-person pair beats one of four different pairs, and the
			// best threshold (just above 2) accepts 3 of 4 different pairs.
			name: "interleaved",
			samples: []Sample{
				{"a", []float32{0}}, {"a", []float32{2}}, {"b", []float32{1}}, {"b", []float32{3}},
			},
			auc: 0.25, rank1: 0, bal: 0.625,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Evaluate(tc.samples, dist1)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(s.AUC-tc.auc) > 1e-9 || math.Abs(s.Rank1-tc.rank1) > 1e-9 || math.Abs(s.BestBalanced-tc.bal) > 1e-9 {
				t.Errorf("AUC %.3f rank-1 %.3f balanced %.3f, want %.3f %.3f %.3f", s.AUC, s.Rank1, s.BestBalanced, tc.auc, tc.rank1, tc.bal)
			}
			if s.SamePairs != 2 || s.DifferentPair != 4 || s.People != 2 {
				t.Errorf("counts %+v", s)
			}
		})
	}
}

func TestEvaluateThresholds(t *testing.T) {
	// Same-person distances 1, 2, 3; different-person ones 2.5, 3.5, 4.5,
	// 5.5 and larger (c is far from everyone). Calling "same" below 3.25
	// accepts every same pair and one of twelve different pairs.
	samples := []Sample{
		{"a", []float32{0}}, {"a", []float32{1}},
		{"b", []float32{3.5}}, {"b", []float32{5.5}},
		{"c", []float32{30}}, {"c", []float32{33}},
	}
	s, err := Evaluate(samples, dist1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.BestThreshold-3.25) > 1e-9 || math.Abs(s.BestBalanced-(1+11.0/12)/2) > 1e-9 {
		t.Errorf("best threshold %v balanced %v", s.BestThreshold, s.BestBalanced)
	}
	if s.DifferentPair != 12 || s.SamePairs != 3 {
		t.Errorf("pairs %d %d", s.SamePairs, s.DifferentPair)
	}
	if _, err := Evaluate(samples[:2], dist1); err == nil {
		t.Error("one person accepted")
	}
}

func TestPersonOf(t *testing.T) {
	for file, want := range map[string]string{
		"bona2.jpg":                "bona",
		"/photos/jimin13.JPEG":     "jimin",
		"nana.jpg":                 "nana",
		"dir.v2/chaeyeon2.png":     "chaeyeon",
		"2024-05-01 visitor7.webp": "-- visitor",
		"/x/y/chaeyeon2.jpg":       "chaeyeon",
		"tzuyu.png":                "tzuyu",
		"a1b2.jpeg":                "ab",
	} {
		if got := PersonOf(file); got != want {
			t.Errorf("PersonOf(%q) = %q, want %q", file, got, want)
		}
	}
}
