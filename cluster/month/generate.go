package month

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"joren/cluster"
)

// Config shapes a synthetic month. Zero fields take DefaultConfig's values.
type Config struct {
	// Seed makes the month reproducible.
	Seed uint64
	// Start is the first day (its date in Zone); Days how many days the
	// month has.
	Start time.Time
	Days  int
	// Zone is the shop's time zone; OpenHour and CloseHour its opening
	// hours there: every visit falls between them.
	Zone                *time.Location
	OpenHour, CloseHour int
	// RegularShare of the people are regulars.
	RegularShare float64
	// Regulars come on RegularVisits[0]..[1] distinct days, the others on
	// OtherVisits[0]..[1]; every visit carries Descriptors[0]..[1]
	// descriptors.
	RegularVisits, OtherVisits, Descriptors [2]int
}

// DefaultConfig is issue 3's month: 30 days from 2026-11-01, a third of the
// people regulars with 4-6 visits, the others 1-2, 1-3 descriptors a
// visit, a shop open 10:00-20:00 UTC.
func DefaultConfig(seed uint64) Config {
	return Config{
		Seed:          seed,
		Start:         time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Days:          30,
		Zone:          time.UTC,
		OpenHour:      10,
		CloseHour:     20,
		RegularShare:  1.0 / 3,
		RegularVisits: [2]int{4, 6},
		OtherVisits:   [2]int{1, 2},
		Descriptors:   [2]int{1, 3},
	}
}

func (c Config) fill() Config {
	d := DefaultConfig(c.Seed)
	if c.Start.IsZero() {
		c.Start = d.Start
	}
	if c.Days == 0 {
		c.Days = d.Days
	}
	if c.Zone == nil {
		c.Zone = d.Zone
	}
	if c.OpenHour == 0 && c.CloseHour == 0 {
		c.OpenHour, c.CloseHour = d.OpenHour, d.CloseHour
	}
	if c.RegularShare == 0 {
		c.RegularShare = d.RegularShare
	}
	for _, p := range []struct{ v, d *[2]int }{{&c.RegularVisits, &d.RegularVisits}, {&c.OtherVisits, &d.OtherVisits}, {&c.Descriptors, &d.Descriptors}} {
		if *p.v == [2]int{} {
			*p.v = *p.d
		}
	}
	return c
}

func (c Config) check() error {
	for _, r := range []struct {
		name string
		v    [2]int
	}{{"regular visits", c.RegularVisits}, {"other visits", c.OtherVisits}, {"descriptors per visit", c.Descriptors}} {
		if r.v[0] < 1 || r.v[1] < r.v[0] {
			return fmt.Errorf("month: %s %d-%d: want 1 <= min <= max", r.name, r.v[0], r.v[1])
		}
	}
	switch {
	case c.Days < c.RegularVisits[1]:
		return fmt.Errorf("month: %d days cannot hold %d visits on distinct days", c.Days, c.RegularVisits[1])
	case c.OpenHour < 0 || c.CloseHour > 24 || c.OpenHour >= c.CloseHour:
		return fmt.Errorf("month: opening hours %d-%d", c.OpenHour, c.CloseHour)
	case c.RegularShare < 0 || c.RegularShare > 1:
		return fmt.Errorf("month: regular share %v not in [0, 1]", c.RegularShare)
	}
	return nil
}

// UnlabelledError is a descriptor without the "person" label a month
// needs; Line is its line in the file.
type UnlabelledError struct{ Line int }

func (e *UnlabelledError) Error() string {
	return fmt.Sprintf("line %d has no \"person\" label: a month needs labelled descriptors", e.Line)
}

// People groups labelled descriptors by person, in order of first
// appearance. Every descriptor needs a label (else an *UnlabelledError).
func People(es []cluster.Embedding) (names []string, by map[string][][]float32, err error) {
	by = map[string][][]float32{}
	for _, e := range es {
		if e.Person == "" {
			return nil, nil, &UnlabelledError{Line: e.Line}
		}
		if _, ok := by[e.Person]; !ok {
			names = append(names, e.Person)
		}
		by[e.Person] = append(by[e.Person], e.Descriptor)
	}
	return names, by, nil
}

// Split divides people into two groups at random (seeded): heldOut of them
// for evaluation, the rest for tuning. Settings chosen on the tuning people
// and scored on the held-out ones show how they do on people never seen.
func Split(names []string, heldOut int, seed uint64) (tune, test []string) {
	p := slices.Clone(names)
	rng := rand.New(rand.NewPCG(seed, 0x73706c6974))
	rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	heldOut = min(max(heldOut, 0), len(p))
	test, tune = p[:heldOut], p[heldOut:]
	slices.Sort(test)
	slices.Sort(tune)
	return tune, test
}

// Generate makes a month of visits of the given people (names in by, in
// that order). The visits come in time order with ids v00001, v00002...;
// Person holds the truth.
func Generate(names []string, by map[string][][]float32, c Config) ([]Visit, error) {
	c = c.fill()
	if err := c.check(); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("month: no people")
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x6d6f6e7468))
	order := slices.Clone(names)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	// Regulars are the first people in the shuffled order who have enough
	// descriptors for their smallest number of visits.
	wantRegulars := int(math.Round(c.RegularShare * float64(len(order))))
	regular := map[string]bool{}
	for _, p := range order {
		if len(regular) == wantRegulars {
			break
		}
		if len(by[p]) >= c.RegularVisits[0] {
			regular[p] = true
		}
	}
	between := func(r [2]int) int { return r[0] + rng.IntN(r[1]-r[0]+1) }
	first := time.Date(c.Start.In(c.Zone).Year(), c.Start.In(c.Zone).Month(), c.Start.In(c.Zone).Day(), 0, 0, 0, 0, c.Zone)
	open := time.Duration(c.CloseHour-c.OpenHour) * time.Hour
	var visits []Visit
	for _, p := range order {
		descs := slices.Clone(by[p])
		if len(descs) == 0 {
			return nil, fmt.Errorf("month: %s has no descriptors", p)
		}
		rng.Shuffle(len(descs), func(i, j int) { descs[i], descs[j] = descs[j], descs[i] })
		n := between(c.OtherVisits)
		if regular[p] {
			n = between(c.RegularVisits)
		}
		n = min(n, len(descs), c.Days)
		days := rng.Perm(c.Days)[:n]
		slices.Sort(days)
		used := 0
		for i, d := range days {
			// Later visits need at least one descriptor each.
			k := min(between(c.Descriptors), len(descs)-used-(n-i-1))
			day := first.AddDate(0, 0, d)
			at := day.Add(time.Duration(c.OpenHour)*time.Hour + time.Duration(rng.Int64N(int64(open/time.Second)))*time.Second)
			visits = append(visits, Visit{Time: at.UTC(), Descriptors: descs[used : used+k], Person: p})
			used += k
		}
	}
	slices.SortStableFunc(visits, func(a, b Visit) int { return a.Time.Compare(b.Time) })
	width := max(5, len(fmt.Sprint(len(visits))))
	for i := range visits {
		visits[i].ID = fmt.Sprintf("v%0*d", width, i+1)
	}
	return visits, nil
}

// Regulars returns how many people of visits come on at least n distinct
// days in zone.
func Regulars(visits []Visit, n int, zone *time.Location) int {
	days := map[string]map[string]bool{}
	for _, v := range visits {
		if days[v.Person] == nil {
			days[v.Person] = map[string]bool{}
		}
		days[v.Person][v.Time.In(zone).Format(time.DateOnly)] = true
	}
	k := 0
	for _, d := range days {
		if len(d) >= n {
			k++
		}
	}
	return k
}
