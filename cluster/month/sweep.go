package month

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// Setting is one way of running the store, as scored by Sweep.
type Setting struct {
	Name string
	// Scorer is "plda" (a space fitted on the tuning people) or
	// "distance".
	Scorer string
	Params identity.Params
	// NoMaintenance turns the nightly pass off; EvidenceOnly runs it
	// without re-clustering.
	NoMaintenance, EvidenceOnly bool
	// Default marks the shipped defaults; Candidate the settings a
	// scorer's default is chosen among.
	Default, Candidate bool
}

// Result is a setting's mean score over months.
type Result struct {
	Months                                        int
	Harmonic, RegularF1, RegularP, RegularR, IDF1 float64
	// Worst is the lowest harmonic mean of one month.
	Worst float64
}

func (r *Result) add(s Score) {
	if r.Months == 0 || s.HarmonicMean < r.Worst {
		r.Worst = s.HarmonicMean
	}
	n := float64(r.Months)
	avg := func(a *float64, v float64) { *a = (*a*n + v) / (n + 1) }
	avg(&r.Harmonic, s.HarmonicMean)
	avg(&r.RegularF1, s.RegularF1)
	avg(&r.RegularP, s.RegularP)
	avg(&r.RegularR, s.RegularR)
	avg(&r.IDF1, s.Identity.BCubedF1)
	r.Months++
}

// SweepOptions shape the tuning table.
type SweepOptions struct {
	// HeldOut people per split (the rest tune); Splits random splits;
	// Seeds months per split and fold.
	HeldOut, Splits, Seeds int
	// Schemes are the cross-validations run within the tuning people; the
	// choice of settings must hold under each.
	Schemes  []Scheme
	Settings []Setting
	// Curve, if set, adds the learning curve of the learnt space: the
	// default settings of both scorers on months of CurveHeldOut held-out
	// people, with spaces fitted on each of these numbers of the other
	// people (the distance model does not learn: its row is flat).
	Curve        []int
	CurveHeldOut int
	// Progress, if set, is called after every month.
	Progress func(done, total int)
}

// DefaultSweep is the table of docs/identity.md: half the people held out,
// five splits, 2- and 5-fold cross-validation within the tuning half, two
// months each; the return log odds of both scorers, and the maintenance
// variants of the default.
func DefaultSweep() SweepOptions {
	o := SweepOptions{HeldOut: 35, Splits: 5, Seeds: 4, Schemes: []Scheme{{Folds: 2}, {Folds: 5}, {Folds: 2, Crowd: true}},
		Curve: []int{17, 35, 50}, CurveHeldOut: 20}
	for _, sc := range []string{"plda", "distance"} {
		def := identity.DefaultParams(sc)
		for _, lo := range []float64{0.5, 1, 2, 3, 4, 5} {
			p := def
			p.ReturnLogOdds = lo
			o.Settings = append(o.Settings, Setting{
				Name:   fmt.Sprintf("%s, return log odds %g", sc, lo),
				Scorer: sc, Params: p, Default: lo == def.ReturnLogOdds, Candidate: true,
			})
		}
	}
	def := identity.DefaultParams("plda")
	o.Settings = append(o.Settings,
		Setting{Name: "plda, defaults, no maintenance", Scorer: "plda", Params: def, NoMaintenance: true},
		Setting{Name: "plda, defaults, maintenance without re-clustering", Scorer: "plda", Params: def, EvidenceOnly: true},
	)
	for _, mo := range []float64{-2, 0.01, 4} {
		p := def
		p.MergeLogOdds = mo
		o.Settings = append(o.Settings, Setting{Name: fmt.Sprintf("plda, defaults, merge log odds %g", mo), Scorer: "plda", Params: p})
	}
	return o
}

// Scheme is a cross-validation within the tuning people: for Folds
// folds, a space fitted on all folds but one, and months of that one. Few
// folds make large months but spaces fitted on few people, many folds the
// reverse. With Crowd, months are made of all the tuning people (as large
// as they can be) and only the visits of the fold left out of the space
// are scored: months size matters, since a crowd holds more look-alikes.
type Scheme struct {
	Folds int
	Crowd bool
}

func (s Scheme) String() string {
	if s.Crowd {
		return fmt.Sprintf("%d folds, months of everyone", s.Folds)
	}
	return fmt.Sprintf("%d folds", s.Folds)
}

// Table is the outcome of Sweep.
type Table struct {
	Options SweepOptions
	// Tune[f][i] is setting i's result on months of tuning people under
	// the f-th cross-validation; Held[i] on months of held-out people (a
	// space fitted on all the tuning people).
	Tune [][]Result
	Held []Result
	// Chosen maps each scorer to its setting chosen on the tuning people:
	// among its candidates, the one whose worst shortfall from the best
	// candidate, over the cross-validations, is smallest.
	Chosen map[string]int
	// Baselines on the held-out months.
	MergeAll, SplitAll, Centroid Result
	// CentroidThreshold is the nearest-centroid baseline's threshold,
	// chosen on the tuning months (the first cross-validation).
	CentroidThreshold   float64
	People, Descriptors int
	// CurvePLDA and CurveDistance follow Options.Curve.
	CurvePLDA, CurveDistance []Result

	progress, total int
}

// Sweep scores every setting on synthetic months: for each split of the
// people, on months of tuning people (cross-validated: a space fitted on
// other tuning people) and on months of the held-out people (a space
// fitted on all tuning people). The settings chosen on the tuning people
// are the ones to ship; their held-out score is what to expect on people
// never seen.
func Sweep(ctx context.Context, names []string, by map[string][][]float32, model vocab.Model, o SweepOptions) (Table, error) {
	t := Table{Options: o, Tune: make([][]Result, len(o.Schemes)), Held: make([]Result, len(o.Settings)), People: len(names), Chosen: map[string]int{}}
	for f := range t.Tune {
		t.Tune[f] = make([]Result, len(o.Settings))
	}
	for _, n := range names {
		t.Descriptors += len(by[n])
	}
	months := 1
	for _, sc := range o.Schemes {
		months += sc.Folds
	}
	t.total = o.Splits * o.Seeds * (months*len(o.Settings) + 2*len(o.Curve))
	thresholds := []float64{0.26, 0.28, 0.30, 0.32, 0.34, 0.36}
	centroidTune := make([]Result, len(thresholds))
	centroidHeld := make([]Result, len(thresholds))
	pol := identity.DefaultPolicy(time.UTC)
	type fold struct {
		fit, months []string
		scored      []string // whose visits are scored (nil: everyone's)
		res         []Result
		cen         []Result // nil: no centroid baseline
		held        bool
	}
	for split := 1; split <= o.Splits; split++ {
		tune, test := Split(names, o.HeldOut, uint64(split))
		var folds []fold
		for si, sc := range o.Schemes {
			k := sc.Folds
			perm := rand.New(rand.NewPCG(uint64(split), uint64(k))).Perm(len(tune))
			for f := 0; f < k; f++ {
				var fit, ms []string
				for i, j := range perm {
					if i%k == f {
						ms = append(ms, tune[j])
					} else {
						fit = append(fit, tune[j])
					}
				}
				var cen []Result
				if si == 0 {
					cen = centroidTune
				}
				fd := fold{fit: fit, months: ms, res: t.Tune[si], cen: cen}
				if sc.Crowd {
					fd.months, fd.scored = tune, ms
				}
				folds = append(folds, fd)
			}
		}
		folds = append(folds, fold{fit: tune, months: test, res: t.Held, cen: centroidHeld, held: true})
		for _, fold := range folds {
			space, err := FitSpace(model, fold.fit, by)
			if err != nil {
				return t, err
			}
			for seed := 1; seed <= o.Seeds; seed++ {
				visits, err := Generate(fold.months, by, DefaultConfig(uint64(seed)))
				if err != nil {
					return t, err
				}
				for i, th := range thresholds {
					if fold.cen == nil || fold.scored != nil {
						break
					}
					s, err := Evaluate(visits, Centroid(visits, th, pol), pol)
					if err != nil {
						return t, err
					}
					fold.cen[i].add(s)
				}
				if fold.held {
					m, s := Everyone(visits, pol)
					sm, err := Evaluate(visits, m, pol)
					if err != nil {
						return t, err
					}
					ss, err := Evaluate(visits, s, pol)
					if err != nil {
						return t, err
					}
					t.MergeAll.add(sm)
					t.SplitAll.add(ss)
				}
				for si, set := range o.Settings {
					if err := ctx.Err(); err != nil {
						return t, err
					}
					out, err := Outcomes(ctx, visits, model, set, space)
					if err != nil {
						return t, fmt.Errorf("%s: %w", set.Name, err)
					}
					vs, os := visits, out
					if fold.scored != nil {
						vs, os = nil, nil
						for i, v := range visits {
							if slices.Contains(fold.scored, v.Person) {
								vs, os = append(vs, v), append(os, out[i])
							}
						}
					}
					sc, err := Evaluate(vs, os, pol)
					if err != nil {
						return t, err
					}
					fold.res[si].add(sc)
					t.progress++
					if o.Progress != nil {
						o.Progress(t.progress, t.total)
					}
				}
			}
		}
	}
	// Per scorer: the candidate with the smallest worst regret.
	for _, set := range o.Settings {
		if _, ok := t.Chosen[set.Scorer]; ok || !set.Candidate {
			continue
		}
		best, bestRegret := -1, math.Inf(1)
		for i, c := range o.Settings {
			if !c.Candidate || c.Scorer != set.Scorer {
				continue
			}
			regret := 0.0
			for f := range o.Schemes {
				top := 0.0
				for j, d := range o.Settings {
					if d.Candidate && d.Scorer == set.Scorer {
						top = math.Max(top, t.Tune[f][j].Harmonic)
					}
				}
				regret = math.Max(regret, top-t.Tune[f][i].Harmonic)
			}
			if regret < bestRegret {
				best, bestRegret = i, regret
			}
		}
		t.Chosen[set.Scorer] = best
	}
	if err := t.curve(ctx, names, by, model); err != nil {
		return t, err
	}
	best := 0
	for i := range thresholds {
		if centroidTune[i].Harmonic > centroidTune[best].Harmonic {
			best = i
		}
	}
	t.Centroid, t.CentroidThreshold = centroidHeld[best], thresholds[best]
	return t, nil
}

// curve measures the learning curve of the learnt space.
func (t *Table) curve(ctx context.Context, names []string, by map[string][][]float32, model vocab.Model) error {
	o := t.Options
	t.CurvePLDA = make([]Result, len(o.Curve))
	t.CurveDistance = make([]Result, len(o.Curve))
	for ci, size := range o.Curve {
		for split := 1; split <= o.Splits; split++ {
			rest, test := Split(names, o.CurveHeldOut, uint64(split))
			_, fit := Split(rest, size, uint64(100+split))
			space, err := FitSpace(model, fit, by)
			if err != nil {
				return err
			}
			for seed := 1; seed <= o.Seeds; seed++ {
				visits, err := Generate(test, by, DefaultConfig(uint64(seed)))
				if err != nil {
					return err
				}
				for _, r := range []struct {
					scorer string
					res    *Result
				}{{"plda", &t.CurvePLDA[ci]}, {"distance", &t.CurveDistance[ci]}} {
					s, err := Trial(ctx, visits, model, Setting{Scorer: r.scorer, Params: identity.DefaultParams(r.scorer)}, space)
					if err != nil {
						return err
					}
					r.res.add(s)
					if o.Progress != nil {
						t.progress++
						o.Progress(t.progress, t.total)
					}
				}
			}
		}
	}
	return nil
}

// FitSpace fits a learnt space on people, as the shipped one is fitted.
func FitSpace(model vocab.Model, people []string, by map[string][][]float32) (*identity.Space, error) {
	var points [][]float32
	var labels []string
	for _, p := range people {
		for _, d := range by[p] {
			points = append(points, d)
			labels = append(labels, p)
		}
	}
	return identity.Fit(model.Name, points, labels, identity.DefaultFit(len(people), model.Dim))
}

// Trial replays a month with one setting in a fresh temporary store (the
// device's code path; only fsync is off) and scores it.
func Trial(ctx context.Context, visits []Visit, model vocab.Model, set Setting, space *identity.Space) (Score, error) {
	out, err := Outcomes(ctx, visits, model, set, space)
	if err != nil {
		return Score{}, err
	}
	return Evaluate(visits, out, identity.DefaultPolicy(time.UTC))
}

// Outcomes replays a month with one setting in a fresh temporary store and
// returns the decisions.
func Outcomes(ctx context.Context, visits []Visit, model vocab.Model, set Setting, space *identity.Space) ([]Outcome, error) {
	dir, err := os.MkdirTemp("", "joren-trial-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir, store.Options{Model: model, Create: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	o := identity.Options{Params: set.Params}
	switch set.Scorer {
	case "plda":
		o.Space = space
	case "distance":
		o.NoSpace = true
	default:
		return nil, fmt.Errorf("unknown scorer %q", set.Scorer)
	}
	if set.NoMaintenance {
		o.Maintenance.Budget = time.Nanosecond
	}
	o.Maintenance.EvidenceOnly = set.EvidenceOnly
	svc, err := identity.New(st, o)
	if err != nil {
		return nil, err
	}
	out, _, err := Replay(ctx, svc, visits)
	return out, err
}

// Everyone returns the two trivial answers: everybody one visitor, and
// every visit a new visitor.
func Everyone(visits []Visit, pol identity.Policy) (merged, split []Outcome) {
	days := map[int32]bool{}
	for i, v := range visits {
		days[pol.Day(v.Time)] = true
		merged = append(merged, Outcome{Visit: v.ID, Visitor: "everyone", Days: len(days), Regular: len(days) >= pol.RegularDays})
		split = append(split, Outcome{Visit: v.ID, Visitor: fmt.Sprint("visit", i), Days: 1, Regular: pol.RegularDays <= 1})
	}
	return merged, split
}

// Centroid is the simplest online matcher, for scale: a visit (the mean of
// its descriptors) joins the identity whose centroid is nearest if closer
// than threshold, else starts a new one.
func Centroid(visits []Visit, threshold float64, pol identity.Policy) []Outcome {
	type ident struct {
		sum  []float64
		n    int
		days []int32
	}
	var ids []*ident
	var out []Outcome
	for _, v := range visits {
		m := make([]float64, len(v.Descriptors[0]))
		for _, d := range v.Descriptors {
			for i, x := range d {
				m[i] += float64(x) / float64(len(v.Descriptors))
			}
		}
		best, bestD := -1, math.Inf(1)
		for j, id := range ids {
			var s float64
			for i := range m {
				e := m[i] - id.sum[i]/float64(id.n)
				s += e * e
			}
			if s < bestD {
				best, bestD = j, s
			}
		}
		if best < 0 || math.Sqrt(bestD) >= threshold {
			ids = append(ids, &ident{sum: make([]float64, len(m))})
			best = len(ids) - 1
		}
		id := ids[best]
		for _, d := range v.Descriptors {
			for i, x := range d {
				id.sum[i] += float64(x)
			}
			id.n++
		}
		today := pol.Day(v.Time)
		if len(id.days) == 0 || id.days[len(id.days)-1] != today {
			id.days = append(id.days, today)
		}
		n := 0
		for _, d := range id.days {
			if pol.InWindow(d, today) {
				n++
			}
		}
		out = append(out, Outcome{Visit: v.ID, Visitor: fmt.Sprint(best), Days: n, Regular: n >= pol.RegularDays})
	}
	return out
}

// Markdown renders the table as in docs/identity.md.
func (t Table) Markdown() string {
	var b strings.Builder
	o := t.Options
	fmt.Fprintf(&b, "%d people (%d descriptors); %d splits with %d people held out; %d months per split and fold. Harmonic mean of the regular flag's F1 and the identity BCubed F1.\n\n", t.People, t.Descriptors, o.Splits, o.HeldOut, o.Seeds)
	b.WriteString("| setting |")
	for _, sc := range o.Schemes {
		fmt.Fprintf(&b, " tuning: %s |", sc)
	}
	b.WriteString(" **held-out** | held-out: worst month | regular F1 (P / R) | identity BCubed F1 |\n|---|")
	for range o.Schemes {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|---|\n")
	for i, s := range o.Settings {
		name := s.Name
		if s.Default {
			name += " (default)"
		}
		if c, ok := t.Chosen[s.Scorer]; ok && c == i {
			name = "**" + name + "** (chosen on tuning people)"
		}
		fmt.Fprintf(&b, "| %s |", name)
		for f := range o.Schemes {
			fmt.Fprintf(&b, " %.3f |", t.Tune[f][i].Harmonic)
		}
		h := t.Held[i]
		fmt.Fprintf(&b, " **%.3f** | %.3f | %.3f (%.3f / %.3f) | %.3f |\n", h.Harmonic, h.Worst, h.RegularF1, h.RegularP, h.RegularR, h.IDF1)
	}
	for _, r := range []struct {
		name string
		res  Result
	}{
		{fmt.Sprintf("baseline: nearest centroid, threshold %.2f (best on tuning people)", t.CentroidThreshold), t.Centroid},
		{"baseline: everyone one visitor", t.MergeAll},
		{"baseline: every visit a new visitor", t.SplitAll},
	} {
		fmt.Fprintf(&b, "| %s |%s **%.3f** | %.3f | %.3f (%.3f / %.3f) | %.3f |\n", r.name, strings.Repeat(" |", len(o.Schemes)), r.res.Harmonic, r.res.Worst, r.res.RegularF1, r.res.RegularP, r.res.RegularR, r.res.IDF1)
	}
	if len(o.Curve) > 0 {
		fmt.Fprintf(&b, "\nLearning curve: default settings on months of %d held-out people, the space fitted on some of the other people (%d splits, %d months each).\n\n", o.CurveHeldOut, o.Splits, o.Seeds)
		b.WriteString("| space fitted on | plda: harmonic (identity F1) | distance: harmonic (identity F1) |\n|---|---|---|\n")
		for i, n := range o.Curve {
			p, d := t.CurvePLDA[i], t.CurveDistance[i]
			fmt.Fprintf(&b, "| %d people | %.3f (%.3f) | %.3f (%.3f) |\n", n, p.Harmonic, p.IDF1, d.Harmonic, d.IDF1)
		}
	}
	return b.String()
}
