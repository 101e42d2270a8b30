package verification

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
)

// PersonOf is the person a labelled photo shows, by the naming convention
// of joren evaluate and the shared photos: its file name without digits
// and extension ("bona2.jpg" is "bona").
func PersonOf(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, base)
}

// Sample is one labelled descriptor.
type Sample struct {
	Person     string
	Descriptor []float32
}

// Score is an embedder's verification and identification quality.
type Score struct {
	Samples, People          int
	SamePairs, DifferentPair int
	// AUC is the probability that a random same-person pair is closer than
	// a random different-person pair (ties count half).
	AUC float64
	// BestBalanced is the best mean of the true-accept and true-reject
	// rates over all thresholds, reached at BestThreshold.
	BestBalanced, BestThreshold float64
	// EERThreshold is where the false-accept and false-reject rates meet;
	// EER is that rate.
	EER, EERThreshold float64
	// Rank1 is the share of samples (of people with at least two) whose
	// nearest other sample is of the same person.
	Rank1 float64
}

// Evaluate scores samples compared with dist.
func Evaluate(samples []Sample, dist func(a, b []float32) float64) (Score, error) {
	n := len(samples)
	people := map[string]int{}
	for _, s := range samples {
		people[s.Person]++
	}
	s := Score{Samples: n, People: len(people)}
	var same, diff []float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := dist(samples[i].Descriptor, samples[j].Descriptor)
			if math.IsNaN(d) {
				return s, fmt.Errorf("distance between samples %d and %d is NaN", i, j)
			}
			if samples[i].Person == samples[j].Person {
				same = append(same, d)
			} else {
				diff = append(diff, d)
			}
		}
	}
	s.SamePairs, s.DifferentPair = len(same), len(diff)
	if len(same) == 0 || len(diff) == 0 {
		return s, fmt.Errorf("need pairs of the same person and of different people: %d and %d", len(same), len(diff))
	}
	slices.Sort(same)
	slices.Sort(diff)

	// AUC by merging the sorted lists: for each same-person distance, the
	// different-person pairs farther away, ties half.
	var wins float64
	for _, d := range same {
		lo, _ := slices.BinarySearch(diff, d)
		hi := lo
		for hi < len(diff) && diff[hi] == d {
			hi++
		}
		wins += float64(len(diff)-hi) + float64(hi-lo)/2
	}
	s.AUC = wins / float64(len(same)*len(diff))

	// Thresholds between consecutive distinct distances: "same" when
	// distance < t.
	all := append(append([]float64(nil), same...), diff...)
	slices.Sort(all)
	s.EER = 1
	bestGap := math.Inf(1)
	for k := 0; k <= len(all); k++ {
		var t float64
		switch {
		case k == 0:
			t = all[0] - 1e-9
		case k == len(all):
			t = all[k-1] + 1e-9
		default:
			if all[k] == all[k-1] {
				continue
			}
			t = (all[k-1] + all[k]) / 2
		}
		accept, _ := slices.BinarySearch(same, t)
		rejectWrong, _ := slices.BinarySearch(diff, t)
		tar := float64(accept) / float64(len(same))
		trr := 1 - float64(rejectWrong)/float64(len(diff))
		if b := (tar + trr) / 2; b > s.BestBalanced {
			s.BestBalanced, s.BestThreshold = b, t
		}
		far, frr := 1-trr, 1-tar
		if gap := math.Abs(far - frr); gap < bestGap {
			bestGap, s.EER, s.EERThreshold = gap, (far+frr)/2, t
		}
	}

	// Rank-1 over samples whose person has another sample.
	var hits, tries int
	for i := 0; i < n; i++ {
		if people[samples[i].Person] < 2 {
			continue
		}
		best, bd := -1, math.Inf(1)
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			if d := dist(samples[i].Descriptor, samples[j].Descriptor); d < bd {
				best, bd = j, d
			}
		}
		tries++
		if samples[best].Person == samples[i].Person {
			hits++
		}
	}
	if tries > 0 {
		s.Rank1 = float64(hits) / float64(tries)
	}
	return s, nil
}
