package cluster

import (
	"errors"
	"fmt"

	"joren/vocab"
)

// A Trial is one setting of a sweep and its score.
type Trial struct {
	Params Params
	Score  Score
	// Best marks the trial with the highest BCubed F1 of its method (the
	// first, on a tie).
	Best bool
	// Default marks the setting `joren cluster` uses when given none: the
	// default method at its default settings.
	Default bool
}

// SweepGrid is the settings a sweep tries for descriptors of model: each
// method's main setting over a range around its measured optimum, relative
// to the model's threshold (docs/clustering.md is this grid's table).
func SweepGrid(model vocab.Model) []Params {
	t := model.Threshold
	var ps []Params
	for _, eps := range grid(0.60*t, 1.0*t, 0.02*t) {
		for _, ms := range []int{1, 2, 3} {
			ps = append(ps, Params{Method: DBSCANMethod, Eps: eps, MinSamples: ms})
		}
	}
	for _, th := range grid(0.80*t, 1.05*t, 0.02*t) {
		ps = append(ps, Params{Method: AverageLink, Threshold: th})
	}
	for _, th := range grid(0.66*t, 0.90*t, 0.02*t) {
		ps = append(ps, Params{Method: Whispers, Threshold: th})
	}
	for _, k := range []int{3, 5, 7, 10} {
		for _, th := range grid(1.04, 1.26, 0.02) {
			ps = append(ps, Params{Method: Adaptive, Threshold: th, Neighbours: k})
		}
	}
	return ps
}

// grid is from, from+step, ... up to to (within half a step).
func grid(from, to, step float64) []float64 {
	var out []float64
	for i := 0; ; i++ {
		v := from + float64(i)*step
		if v > to+step/2 {
			return out
		}
		out = append(out, v)
	}
}

// Sweep clusters points with every setting of SweepGrid and scores each
// against truth (a label per point: who it really is).
func Sweep[K comparable](points [][]float32, truth []K, model vocab.Model) ([]Trial, error) {
	if len(truth) != len(points) {
		return nil, fmt.Errorf("sweep: %d labels for %d descriptors", len(truth), len(points))
	}
	var (
		trials []Trial
		errs   []error
	)
	for _, p := range SweepGrid(model) {
		l, err := Cluster(points, model, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Method, err))
			continue
		}
		s, err := Evaluate(l, truth)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		trials = append(trials, Trial{Params: p, Score: s})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	best := map[Method]int{}
	for i, tr := range trials {
		if b, ok := best[tr.Params.Method]; !ok || tr.Score.BCubedF1 > trials[b].Score.BCubedF1 {
			best[tr.Params.Method] = i
		}
	}
	for _, i := range best {
		trials[i].Best = true
	}
	def := Defaults(Adaptive, model)
	for i, tr := range trials {
		p := tr.Params
		// The grid's steps are sums of floats: equal to two decimals.
		trials[i].Default = p.Method == def.Method && p.Neighbours == def.Neighbours &&
			fmt.Sprintf("%.2f", p.Threshold) == fmt.Sprintf("%.2f", def.Threshold)
	}
	return trials, nil
}
