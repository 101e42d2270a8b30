package month_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"joren/cluster"
	"joren/cluster/identity"
	"joren/cluster/month"
	"joren/internal/testenv"
	"joren/vocab"
)

// dev loads the shared labelled descriptors.
func dev(t testing.TB) ([]string, map[string][][]float32, vocab.Model) {
	t.Helper()
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := cluster.ReadEmbeddings(f, f.Name(), 0)
	if err != nil {
		t.Fatal(err)
	}
	names, by, err := month.People(es)
	if err != nil {
		t.Fatal(err)
	}
	// The file holds dlib's descriptors.
	return names, by, vocab.DlibResNet()
}

func TestReader(t *testing.T) {
	good := `{"visit":"v1","time":"2026-11-01T10:15:00Z","descriptors":[[1,2,3]]}

{"visit":"v2","time":"2026-11-01T19:15:00+09:00","descriptors":[[1,2,3],[4,5,6]],"together":["v1"],"person":7,"model":"m"}
`
	vs, err := month.ReadAll(strings.NewReader(good), "ok.jsonl", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[1].Person != "7" || vs[1].Model != "m" || !slices.Equal(vs[1].Together, []string{"v1"}) || len(vs[1].Descriptors) != 2 || !vs[1].Time.Equal(vs[0].Time) {
		t.Errorf("read %+v", vs)
	}
	// Time order is checked on instants: 10:15 in Tokyo is 01:15 UTC.
	backwards := strings.Replace(good, "19:15:00+09:00", "10:15:00+09:00", 1)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"backwards", backwards, "ok.jsonl:3: visit v2 at 2026-11-01T10:15:00+09:00 is earlier than the line before (2026-11-01T10:15:00Z)"},
		{"not json", "hello\n", "f:1: not a visit"},
		{"no id", `{"time":"2026-11-01T10:15:00Z","descriptors":[[1]]}`, `f:1: no "visit" id`},
		{"no time", `{"visit":"a","descriptors":[[1]]}`, `f:1: visit a has no "time"`},
		{"bad time", `{"visit":"a","time":"yesterday","descriptors":[[1]]}`, `time "yesterday" is not RFC 3339`},
		{"no descriptors", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[]}`, "visit a has no descriptors"},
		{"ragged", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1,2],[3]]}`, "descriptor 2 has 1 values, want 2"},
		{"wrong dim", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1,2]]}`, "descriptor 1 has 2 values, want 3"},
		{"huge", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1,2,1e300]]}`, "descriptor 1 value 3 is not a finite number"},
		{"strings", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[["x"]]}`, "f:1: not a visit"},
		{"too many", `{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[` + strings.Repeat("[1,2,3],", 32) + `[1,2,3]]}`, "33 descriptors, at most 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, dim := "f", 3
			if tc.name == "backwards" {
				name, dim = "ok.jsonl", 0
			}
			if tc.name == "ragged" {
				dim = 0
			}
			_, err := month.ReadAll(strings.NewReader(tc.in), name, dim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// Lines are read one at a time: an error comes after the good ones.
	rd := month.NewReader(strings.NewReader(`{"visit":"a","time":"2026-11-01T10:15:00Z","descriptors":[[1]]}`+"\nbroken\n"), "f", 0)
	if v, err := rd.Next(); err != nil || v.ID != "a" || rd.Line() != 1 {
		t.Fatalf("first line: %+v %v", v, err)
	}
	if _, err := rd.Next(); err == nil || !strings.Contains(err.Error(), "f:2:") {
		t.Errorf("second line: %v", err)
	}
	if _, err := month.ReadAll(strings.NewReader("\n"), "empty", 0); err == nil || !strings.Contains(err.Error(), "empty: no visits") {
		t.Errorf("empty file: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	names, by, _ := dev(t)
	c := month.DefaultConfig(7)
	visits, err := month.Generate(names, by, c)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := month.Generate(names, by, c)
	var a, b bytes.Buffer
	month.Write(&a, visits)
	month.Write(&b, again)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same seed made another month")
	}
	// The file reads back as it was written.
	back, err := month.ReadAll(&a, "month", 0)
	if err != nil || len(back) != len(visits) || back[3].Person != visits[3].Person || !back[3].Time.Equal(visits[3].Time) || !slices.Equal(back[3].Descriptors[0], visits[3].Descriptors[0]) {
		t.Fatalf("read back: %v", err)
	}
	used := map[*float32]bool{}
	days := map[string]map[int]bool{}
	perPerson := map[string]int{}
	for i, v := range visits {
		if want := fmt.Sprintf("v%05d", i+1); v.ID != want {
			t.Fatalf("visit %d id %s, want %s", i, v.ID, want)
		}
		if i > 0 && v.Time.Before(visits[i-1].Time) {
			t.Fatalf("visit %s out of time order", v.ID)
		}
		if h := v.Time.Hour(); h < c.OpenHour || h >= c.CloseHour {
			t.Errorf("visit %s at %s, outside opening hours", v.ID, v.Time)
		}
		if d := v.Time.Sub(c.Start); d < 0 || d >= 30*24*time.Hour {
			t.Errorf("visit %s at %s, outside the month", v.ID, v.Time)
		}
		if k := len(v.Descriptors); k < 1 || k > 3 {
			t.Errorf("visit %s has %d descriptors", v.ID, k)
		}
		for _, d := range v.Descriptors {
			if used[&d[0]] {
				t.Errorf("a descriptor used twice (visit %s)", v.ID)
			}
			used[&d[0]] = true
		}
		if days[v.Person] == nil {
			days[v.Person] = map[int]bool{}
		}
		day := int(v.Time.Sub(c.Start).Hours() / 24)
		if days[v.Person][day] {
			t.Errorf("%s comes twice on day %d", v.Person, day)
		}
		days[v.Person][day] = true
		perPerson[v.Person]++
	}
	regulars := 0
	for p, n := range perPerson {
		switch {
		case n >= 4 && n <= 6:
			regulars++
		case n < 1 || n > 2:
			t.Errorf("%s comes %d times", p, n)
		}
	}
	if len(perPerson) != len(names) || regulars != int(math.Round(float64(len(names))/3)) {
		t.Errorf("%d people, %d regulars; want %d people, a third regulars", len(perPerson), regulars, len(names))
	}
	if month.Regulars(visits, 3, time.UTC) != regulars {
		t.Error("Regulars disagrees")
	}
	// Splits are disjoint and cover everyone.
	tune, test := month.Split(names, 20, 3)
	if len(test) != 20 || len(tune) != len(names)-20 {
		t.Fatalf("split %d/%d", len(tune), len(test))
	}
	for _, p := range test {
		if slices.Contains(tune, p) {
			t.Errorf("%s on both sides", p)
		}
	}
	if _, err := month.Generate(nil, by, c); err == nil {
		t.Error("a month of nobody")
	}
	bad := c
	bad.Descriptors = [2]int{3, 1}
	if _, err := month.Generate(names, by, bad); err == nil {
		t.Error("descriptors 3-1 accepted")
	}
}

func TestEvaluate(t *testing.T) {
	at := func(d int) time.Time { return time.Date(2026, 11, 1+d, 12, 0, 0, 0, time.UTC) }
	visits := []month.Visit{
		{ID: "1", Time: at(0), Person: "a"}, {ID: "2", Time: at(0), Person: "b"},
		{ID: "3", Time: at(1), Person: "a"}, {ID: "4", Time: at(2), Person: "a"},
		{ID: "5", Time: at(3), Person: "b"}, {ID: "6", Time: at(4), Person: "a"},
	}
	pol := identity.DefaultPolicy(time.UTC)
	perfect := []month.Outcome{
		{Visit: "1", Visitor: "x"}, {Visit: "2", Visitor: "y"}, {Visit: "3", Visitor: "x"},
		{Visit: "4", Visitor: "x", Regular: true}, {Visit: "5", Visitor: "y"}, {Visit: "6", Visitor: "x", Regular: true},
	}
	s, err := month.Evaluate(visits, perfect, pol)
	if err != nil || s.HarmonicMean != 1 || s.Regulars != 1 || s.People != 2 || s.Identities != 2 ||
		s.Decided != 6 || s.Right != 6 || len(s.FirstRegular) != 1 || s.FirstRegular["a"] != 3 {
		t.Fatalf("perfect: %+v %v", s, err)
	}
	// Labelled in the visits' order with who it was and what the policy
	// expected.
	labelled, err := month.Label(visits, perfect, pol)
	if err != nil || labelled[3].Person != "a" || labelled[3].Day != 3 || !labelled[3].WantRegular || labelled[4].Day != 2 || labelled[4].WantRegular {
		t.Errorf("labelled: %+v, %v", labelled, err)
	}
	// A visit nobody decided about (a door video's face never good
	// enough) is not a regular and a visitor id of its own.
	labelled[3].Missed, labelled[3].Visitor, labelled[3].Regular = true, "", false
	s, err = month.Measure(labelled)
	if err != nil || s.Decided != 5 || s.Right != 5 || s.Identities != 2 || s.RegularR != 0.5 || s.FirstRegular["a"] != 4 || s.Identity.BCubedR == 1 {
		t.Errorf("one missed: %+v, %v", s, err)
	}
	if _, err := month.Measure(perfect); err == nil || !strings.Contains(err.Error(), "no truth") {
		t.Errorf("outcomes without truth: %v", err)
	}
	merged, split := month.Everyone(visits, pol)
	s, _ = month.Evaluate(visits, merged, pol)
	// Flags from the third day on: visits 4, 5, 6; true: 4 and 6.
	if math.Abs(s.RegularP-2.0/3) > 1e-9 || s.RegularR != 1 || s.Identity.BCubedR != 1 {
		t.Errorf("everyone merged: %+v", s)
	}
	s, _ = month.Evaluate(visits, split, pol)
	if s.RegularF1 != 0 || s.Identity.BCubedP != 1 || s.HarmonicMean != 0 {
		t.Errorf("everyone split: %+v", s)
	}
	if _, err := month.Evaluate(visits, perfect[:5], pol); err == nil || !strings.Contains(err.Error(), "no decision for visit 6") {
		t.Errorf("missing decision: %v", err)
	}
	visits[0].Person = ""
	if _, err := month.Evaluate(visits, perfect, pol); err == nil || !strings.Contains(err.Error(), "only labelled months") {
		t.Errorf("unlabelled: %v", err)
	}
}

// TestQualityBar is issue 3's bar, on people the store was never tuned
// on: for several splits of the shared people, the learnt space is fitted
// on the tuning half only, and months are made of the held-out half. With
// default settings, the harmonic mean of the regular flag's F1 and the
// identity BCubed F1 must reach 0.60 with identity F1 at least 0.65, on
// average; the distance model (no learning: what a model without a learnt
// space gets) must reach it too.
func TestQualityBar(t *testing.T) {
	names, by, model := dev(t)
	ctx := context.Background()
	for _, scorer := range []string{"plda", "distance"} {
		t.Run(scorer, func(t *testing.T) {
			var r struct{ h, reg, id, worst float64 }
			r.worst = 1
			n := 0
			for split := uint64(1); split <= 3; split++ {
				tune, test := month.Split(names, 35, split)
				space, err := month.FitSpace(model, tune, by)
				if err != nil {
					t.Fatal(err)
				}
				for seed := uint64(1); seed <= 2; seed++ {
					visits, err := month.Generate(test, by, month.DefaultConfig(seed))
					if err != nil {
						t.Fatal(err)
					}
					s, err := month.Trial(ctx, visits, model, month.Setting{Scorer: scorer}, space)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("split %d, month %d: %v", split, seed, s)
					r.h += s.HarmonicMean
					r.reg += s.RegularF1
					r.id += s.Identity.BCubedF1
					r.worst = min(r.worst, s.HarmonicMean)
					n++
				}
			}
			h, reg, id := r.h/float64(n), r.reg/float64(n), r.id/float64(n)
			t.Logf("%s on held-out people, %d months: harmonic mean %.3f (regular F1 %.3f, identity F1 %.3f), worst month %.3f", scorer, n, h, reg, id, r.worst)
			if h < 0.60 || id < 0.65 {
				t.Errorf("harmonic mean %.3f with identity F1 %.3f; the bar is 0.60 with identity F1 >= 0.65", h, id)
			}
			if r.worst < 0.5 {
				t.Errorf("worst month %.3f: the average hides a collapse", r.worst)
			}
		})
	}
}

// TestStreamResumes: a replay stopped half way and started again on the
// same store gives what one run gives.
func TestStreamResumes(t *testing.T) {
	names, by, model := dev(t)
	visits, err := month.Generate(names[:12], by, month.DefaultConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	svc, st := newService(t, model)
	half := len(visits) / 2
	first, stats, err := month.Replay(context.Background(), svc, visits[:half])
	if err != nil || stats.Decided != half {
		t.Fatal(stats, err)
	}
	st.Close()
	// Another run on the same store: the first half is not decided
	// again, its decisions are repeated as made, and the whole is what one
	// uninterrupted run gives.
	svc, st = reopen(t, st.Dir(), model)
	defer st.Close()
	second, stats, err := month.Replay(context.Background(), svc, visits)
	if err != nil || stats.Repeated != half || stats.Decided != len(visits)-half || len(second) != len(visits) {
		t.Fatalf("resumed: %+v %v", stats, err)
	}
	if !slices.Equal(second[:half], first) {
		t.Errorf("repeated decisions differ from the first run's")
	}
	one, _ := newService(t, model)
	whole, _, err := month.Replay(context.Background(), one, visits)
	if err != nil || !slices.Equal(whole, second) {
		t.Errorf("a resumed replay differs from an uninterrupted one (%v)", err)
	}
	// A visit of another model is refused by name.
	bad := visits[0]
	bad.ID, bad.Model = "x", "arcface@1234"
	if _, _, err := month.Replay(context.Background(), svc, []month.Visit{bad}); err == nil || !strings.Contains(err.Error(), "visit x: descriptors of model arcface@1234") {
		t.Errorf("other model: %v", err)
	}
	// A cancelled context stops the stream.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := month.Stream(ctx, svc, func() (month.Visit, error) { return month.Visit{}, io.EOF }, nil); err != nil && err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}
