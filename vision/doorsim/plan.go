package doorsim

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"joren/vision/doorsim/truth"
	"joren/vision/frame"
)

// Scenario is the kind of video.
type Scenario string

const (
	// Door is people passing (the default).
	Door Scenario = "door"
	// Empty is the empty doorway for Duration: what the camera sees most of
	// the day.
	Empty Scenario = "empty"
	// Steady is one person in view for the whole Duration, drifting slowly
	// across the door: the pipeline's busiest case.
	Steady Scenario = "steady"
)

// Options describe the video. Zero values take the defaults.
type Options struct {
	Scenario Scenario
	// Width and Height of the frames (default 640x480).
	Width, Height int
	// FPS is the frame rate (default 15).
	FPS float64
	// Seed makes the plan and the noise; the same seed gives the same video.
	Seed uint64
	// Start is when the first day begins (default 2026-11-02 10:00 UTC).
	Start time.Time
	// Days is the number of simulated days (default 1).
	Days int
	// People is how many people appear (default: everyone in the cast).
	People int
	// Regulars is how many of them come every day (default: a third of the
	// people when Days > 1, else all); the others come on one day each.
	Regulars int
	// Again is the share of visitors who pass a second time the same day,
	// leaving the shop (default 0.4; negative: none).
	Again float64
	// Together is the share of passages that two people make at once
	// (default 0.25; negative: none).
	Together float64
	// Passage is about how long a person is in the picture (default 2.4 s).
	Passage time.Duration
	// Gap is about how long the doorway stays empty between passages
	// (default 1.5 s).
	Gap time.Duration
	// Duration is the length of an Empty or Steady video (default 10 s).
	Duration time.Duration
	// NoBlur turns off the motion blur of people entering fast.
	NoBlur bool
}

// ParseScenario reads a scenario name from a flag.
func ParseScenario(s string) (Scenario, error) {
	switch sc := Scenario(s); sc {
	case Door, Empty, Steady:
		return sc, nil
	case "":
		return Door, nil
	}
	return "", fmt.Errorf("unknown scenario %q (want %q, %q or %q)", s, Door, Empty, Steady)
}

func (o Options) withDefaults() (Options, error) {
	sc, err := ParseScenario(string(o.Scenario))
	if err != nil {
		return o, err
	}
	o.Scenario = sc
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 640, 480
	}
	if o.Width < 160 || o.Height < 120 || o.Width > 4096 || o.Height > 4096 {
		return o, fmt.Errorf("frame size %dx%d: want 160x120 to 4096x4096", o.Width, o.Height)
	}
	if o.FPS == 0 {
		o.FPS = 15
	}
	if o.FPS < 1 || o.FPS > 120 {
		return o, fmt.Errorf("frame rate %v: want 1 to 120", o.FPS)
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	}
	if o.Days == 0 {
		o.Days = 1
	}
	if o.Days < 0 || o.Days > 366 || o.People < 0 || o.Regulars < 0 {
		return o, errors.New("days, people and regulars must not be negative (and days at most 366)")
	}
	if o.Again == 0 {
		o.Again = 0.4
	}
	if o.Together == 0 {
		o.Together = 0.25
	}
	if o.Passage <= 0 {
		o.Passage = 2400 * time.Millisecond
	}
	if o.Gap <= 0 {
		o.Gap = 1500 * time.Millisecond
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	return o, nil
}

// Script is a planned video: its truth, and how each person moves, which
// Write needs to draw it (a truth read back from a file cannot be drawn).
type Script struct {
	truth.Truth
	// paths[i] is how the face of Passages[i] moves.
	paths  []path
	noBlur bool
}

// path is how a passage's face moves: its centre from (x0, y) to (x1, y)
// while its width grows from w0 to w1, over frames enter..leave, slowing
// down once inside if ease is set.
type path struct {
	enter, leave      int
	x0, x1, y, w0, w1 float64
	ease              bool
	actor             *Actor
}

// scene is one entry of the plan: an empty stretch then one or two
// passages starting together.
type scene struct {
	day     int
	persons []string
	again   bool
}

// Plan decides who passes when; Write draws it.
func Plan(c *Cast, o Options) (Script, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Script{}, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6a6f72656e))
	t := Script{Truth: truth.Truth{Scenario: string(o.Scenario), Width: o.Width, Height: o.Height, FPS: o.FPS, Seed: o.Seed}, noBlur: o.NoBlur}
	frames := func(d time.Duration) int { return max(1, int(math.Round(d.Seconds()*o.FPS))) }
	switch o.Scenario {
	case Empty:
		t.Frames = frames(o.Duration)
		t.Timeline = frame.Timeline{{Frame: 0, Time: o.Start}}
		t.Empty = []truth.Stretch{{First: 0, Last: t.Frames - 1}}
		return t, nil
	case Steady:
		if c == nil || len(c.Actors) == 0 {
			return Script{}, errors.New("the steady scenario needs a cast")
		}
		t.Frames = frames(o.Duration)
		t.Timeline = frame.Timeline{{Frame: 0, Time: o.Start}}
		a := c.Actors[rng.IntN(len(c.Actors))]
		fw := 0.3 * float64(o.Height)
		t.Passages = []truth.Passage{{Person: a.Person, Photo: a.Photo, Enter: 0, Leave: t.Frames - 1}}
		t.paths = []path{{enter: 0, leave: t.Frames - 1,
			x0: 0.35 * float64(o.Width), x1: 0.65 * float64(o.Width), y: 0.38 * float64(o.Height), w0: fw, w1: 1.1 * fw, actor: a}}
		t.settle()
		return t, nil
	}
	if c == nil || len(c.Actors) == 0 {
		return Script{}, errors.New("the door scenario needs a cast")
	}
	people := c.People()
	rng.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })
	if o.People > 0 && o.People < len(people) {
		people = people[:o.People]
	}
	regulars := o.Regulars
	if regulars == 0 {
		regulars = len(people)
		if o.Days > 1 {
			regulars = max(1, len(people)/3)
		}
	}
	regulars = min(regulars, len(people))
	// Who comes on which day: regulars every day, the others on one day.
	var scenes []scene
	for d := 0; d < o.Days; d++ {
		var today []string
		for i, p := range people {
			if i < regulars || (i-regulars)%o.Days == d {
				today = append(today, p)
			}
		}
		rng.Shuffle(len(today), func(i, j int) { today[i], today[j] = today[j], today[i] })
		var day []scene
		for _, p := range today {
			day = append(day, scene{day: d, persons: []string{p}})
		}
		// Some leave again later the same day.
		for _, p := range today {
			if o.Again > 0 && rng.Float64() < o.Again {
				day = append(day, scene{day: d, persons: []string{p}, again: true})
			}
		}
		// Some come in pairs: merge a scene with the next one of another
		// person, both arriving or both leaving.
		for i := 0; i+1 < len(day); i++ {
			a, b := day[i], day[i+1]
			if o.Together > 0 && rng.Float64() < o.Together && a.persons[0] != b.persons[0] && a.again == b.again {
				day[i].persons = []string{a.persons[0], b.persons[0]}
				day = slices.Delete(day, i+1, i+2)
			}
		}
		scenes = append(scenes, day...)
	}
	// Frames and times.
	used := map[string]int{} // photos of each person used so far, to vary them
	cur := 0
	dayOf := -1
	var clock time.Time
	for si, s := range scenes {
		gap := frames(time.Duration(float64(o.Gap) * (0.7 + 0.6*rng.Float64())))
		if s.day != dayOf {
			dayOf = s.day
			clock = o.Start.AddDate(0, 0, s.day)
		} else {
			// Passages of one day are minutes apart in the shop's time.
			clock = clock.Add(time.Duration(2+rng.IntN(38)) * time.Minute)
		}
		t.Timeline = append(t.Timeline, frame.Mark{Frame: cur, Time: clock})
		start := cur + gap
		t.Empty = append(t.Empty, truth.Stretch{First: cur, Last: start - 1})
		rightward := si%2 == 0
		var idx []int
		end := start
		for k, person := range s.persons {
			photos := c.photos(person)
			a := photos[used[person]%len(photos)]
			used[person]++
			n := frames(time.Duration(float64(o.Passage) * (0.85 + 0.3*rng.Float64())))
			// A companion follows 0.8 s behind: about a third of the frame.
			enter := start + k*frames(800*time.Millisecond)
			h, w := float64(o.Height), float64(o.Width)
			p := truth.Passage{Person: person, Photo: a.Photo, Day: s.day, Enter: enter, Leave: enter + n - 1}
			pa := path{enter: p.Enter, leave: p.Leave, w0: 0.25 * h, w1: 0.37 * h, y: (0.36 - 0.04*float64(k)) * h, ease: true, actor: a}
			// Enter with the face's centre just outside the frame and leave
			// on the other side.
			pa.x0, pa.x1 = -0.08*w, 1.08*w
			if !rightward {
				pa.x0, pa.x1 = w-pa.x0, w-pa.x1
			}
			if !o.NoBlur {
				p.Blurred = n / 4
			}
			t.Passages = append(t.Passages, p)
			t.paths = append(t.paths, pa)
			idx = append(idx, len(t.Passages)-1)
			end = max(end, p.Leave+1)
		}
		for _, i := range idx {
			for _, j := range idx {
				if i != j {
					t.Passages[i].With = append(t.Passages[i].With, j)
				}
			}
		}
		cur = end
	}
	// A last empty stretch, so that the last visit's track can end.
	gap := frames(o.Gap + time.Second)
	t.Empty = append(t.Empty, truth.Stretch{First: cur, Last: cur + gap - 1})
	t.Frames = cur + gap
	t.settle()
	return t, nil
}

// geometry returns where the face is at frame i: its box's centre and
// width.
func (p *path) geometry(i int) (cx, cy, fw float64) {
	f := 0.0
	if p.leave > p.enter {
		f = float64(i-p.enter) / float64(p.leave-p.enter)
	}
	e := f
	if p.ease {
		// Fast through the door, slower once inside.
		e = 1 - 0.5*(1-f)*(1-f) - 0.5*(1-f)
	}
	cx = p.x0 + (p.x1-p.x0)*e
	fw = p.w0 + (p.w1-p.w0)*f
	// A slight bob of the head with each step.
	cy = p.y + 0.03*fw*math.Sin(float64(i)*0.9)
	return
}

// faceBox is the face at frame i, in frame pixels.
func (p *path) faceBox(i int) (x0, y0, x1, y1 float64) {
	cx, cy, fw := p.geometry(i)
	fh := fw * float64(p.actor.face.Dy()) / float64(p.actor.face.Dx())
	return cx - fw/2, cy - fh/2, cx + fw/2, cy + fh/2
}

// FaceAt is where the face of passage k is in frame i, in frame pixels:
// ok is false outside its First..Last, where the face is not entirely in
// the picture.
func (t *Script) FaceAt(k, i int) (box image.Rectangle, ok bool) {
	if k < 0 || k >= len(t.paths) {
		return image.Rectangle{}, false
	}
	p := &t.Passages[k]
	if p.First < 0 || i < p.First || i > p.Last {
		return image.Rectangle{}, false
	}
	x0, y0, x1, y1 := t.paths[k].faceBox(i)
	return image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1))), true
}

// settle finds the frames in which each face is entirely in the picture,
// their times, and the face's width there.
func (t *Script) settle() {
	for k := range t.Passages {
		p, pa := &t.Passages[k], &t.paths[k]
		p.First, p.Last = -1, -1
		for i := p.Enter; i <= p.Leave; i++ {
			x0, y0, x1, y1 := pa.faceBox(i)
			if x0 >= 0 && y0 >= 0 && x1 <= float64(t.Width) && y1 <= float64(t.Height) {
				if p.First < 0 {
					p.First = i
				}
				p.Last = i
			}
		}
		if p.First < 0 {
			continue
		}
		p.Start, p.End = t.TimeOf(p.First), t.TimeOf(p.Last)
		_, _, fw0 := pa.geometry(p.First)
		_, _, fw1 := pa.geometry(p.Last)
		p.MinFace, p.MaxFace = int(fw0), int(math.Ceil(fw1))
	}
}
