package cluster

import (
	"fmt"
	"strings"
	"testing"
)

// The grid covers each method around its measured optimum, and holds the
// default setting of the default method.
func TestSweepGrid(t *testing.T) {
	_, _, model := dev(t)
	ps := SweepGrid(model)
	count := map[Method]int{}
	for _, p := range ps {
		count[p.Method]++
	}
	// 21 eps x 3 min-samples; 14 and 13 thresholds; 4 k x 12 thresholds.
	want := map[Method]int{DBSCANMethod: 63, AverageLink: 14, Whispers: 13, Adaptive: 48}
	for m, n := range want {
		if count[m] != n {
			t.Errorf("%s: %d settings, want %d", m, count[m], n)
		}
	}
	for _, m := range []Method{AverageLink, DBSCANMethod, Whispers} {
		d := Defaults(m, model)
		lo, hi := 1e9, 0.0
		for _, p := range ps {
			if p.Method == m {
				v := p.Threshold + p.Eps
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if v := d.Threshold + d.Eps; v < lo || v > hi {
			t.Errorf("%s: default %.3f outside the grid [%.3f, %.3f]", m, v, lo, hi)
		}
	}
}

// A sweep on real descriptors (the first 20 people of the shared set, to
// keep it quick): every trial is scored as Cluster and Evaluate score it,
// one best per method, exactly one default, and the best adaptive setting
// beats the best DBSCAN (the reason adaptive is the default).
func TestSweep(t *testing.T) {
	points, truth, model := dev(t)
	people := map[string]bool{}
	var pts [][]float32
	var tr []string
	for i, p := range truth {
		if !people[p] && len(people) == 20 {
			continue
		}
		people[p] = true
		pts, tr = append(pts, points[i]), append(tr, p)
	}
	trials, err := Sweep(pts, tr, model)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != len(SweepGrid(model)) {
		t.Fatalf("%d trials for %d settings", len(trials), len(SweepGrid(model)))
	}
	best := map[Method]Trial{}
	defaults := 0
	for i, trial := range trials {
		if trial.Best {
			if _, dup := best[trial.Params.Method]; dup {
				t.Errorf("two best trials of %s", trial.Params.Method)
			}
			best[trial.Params.Method] = trial
		}
		if trial.Default {
			defaults++
			d := Defaults(Adaptive, model)
			if trial.Params.Method != Adaptive || trial.Params.Neighbours != d.Neighbours || fmt.Sprintf("%.2f", trial.Params.Threshold) != fmt.Sprintf("%.2f", d.Threshold) {
				t.Errorf("default marked on %+v", trial.Params)
			}
		}
		if i%17 == 0 { // a sample, across methods: the score is the real one
			l, err := Cluster(pts, model, trial.Params)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := Evaluate(l, tr)
			if s != trial.Score {
				t.Errorf("%+v: score %+v, Cluster and Evaluate give %+v", trial.Params, trial.Score, s)
			}
		}
	}
	for _, trial := range trials {
		if b := best[trial.Params.Method]; trial.Score.BCubedF1 > b.Score.BCubedF1 {
			t.Errorf("%+v scores %.3f, above the best marked %.3f", trial.Params, trial.Score.BCubedF1, b.Score.BCubedF1)
		}
	}
	if len(best) != 4 || defaults != 1 {
		t.Errorf("%d methods with a best trial, %d defaults; want 4 and 1", len(best), defaults)
	}
	if a, d := best[Adaptive].Score.BCubedF1, best[DBSCANMethod].Score.BCubedF1; a <= d {
		t.Errorf("best adaptive BCubed F1 %.3f, not above best DBSCAN %.3f", a, d)
	}
	if _, err := Sweep(pts, tr[1:], model); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("labels of the wrong length: %v", err)
	}
}
