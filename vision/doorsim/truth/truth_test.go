package truth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/vision/frame"
)

var day1 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// two is a truth of two days at 10 frames a second: day 2 starts at
// frame 20; one passage each day.
func two() Truth {
	return Truth{
		FPS:      10,
		Frames:   40,
		Timeline: frame.Timeline{{Frame: 0, Time: day1}, {Frame: 20, Time: day1.AddDate(0, 0, 1)}},
		Passages: []Passage{
			{Person: "ana", Day: 0, Enter: 5, Leave: 12},
			{Person: "ana", Day: 1, Enter: 25, Leave: 30},
		},
	}
}

func TestTimeOf(t *testing.T) {
	tr := two()
	for i, want := range map[int]time.Time{
		0: day1, 19: day1.Add(1900 * time.Millisecond),
		20: day1.AddDate(0, 0, 1), 29: day1.AddDate(0, 0, 1).Add(900 * time.Millisecond),
	} {
		if got := tr.TimeOf(i); !got.Equal(want) {
			t.Errorf("frame %d at %v, want %v", i, got, want)
		}
	}
}

func TestPassageAt(t *testing.T) {
	tr := two()
	for _, tc := range []struct {
		at   time.Time
		want int // passage index, -1: none
	}{
		{day1.Add(700 * time.Millisecond), 0},
		{day1.Add(-200 * time.Millisecond), 0}, // a second before it enters
		{day1.Add(2300 * time.Millisecond), -1},
		{day1.AddDate(0, 0, 1).Add(time.Second), 1},
		{day1.Add(12 * time.Hour), -1},
	} {
		p, ok := tr.PassageAt(tc.at)
		switch {
		case tc.want < 0 && ok:
			t.Errorf("%v: passage %+v, want none", tc.at, p)
		case tc.want >= 0 && (!ok || p.Enter != tr.Passages[tc.want].Enter):
			t.Errorf("%v: passage %+v (%v), want %d", tc.at, p, ok, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("door.json", `{"video": "door.avi", "fps": 15, "frames": 30,
		"timeline": [{"frame": 0, "time": "2026-11-02T10:00:00Z"}, {"frame": 20, "time": "2026-11-03T10:00:00Z"}],
		"passages": [{"person": "ana", "day": 1, "enter_frame": 21, "leave_frame": 29}]}`)
	if Path(filepath.Join(dir, "door.avi")) != good {
		t.Errorf("the truth of door.avi is at %s", Path(filepath.Join(dir, "door.avi")))
	}
	tr, err := Read(good)
	if err != nil || tr.Video != "door.avi" || len(tr.Passages) != 1 || tr.Passages[0].Person != "ana" {
		t.Fatalf("%+v, %v", tr, err)
	}
	tl, err := ReadTimeline(good)
	if err != nil || len(tl) != 2 || !tl[1].Time.Equal(day1.AddDate(0, 0, 1)) {
		t.Errorf("timeline %v, %v", tl, err)
	}
	for _, tc := range []struct {
		name, body, want string
		timeline         bool // ReadTimeline fails too
	}{
		{"none.json", "", "no such file", true},
		{"fps.json", `{"fps": 15}`, "not a door-video truth", true},
		{"broken.json", `{"fps": 15, "timeline": [`, "broken.json: unexpected end", true},
		{"order.json", `{"fps": 15, "timeline": [{"frame": 20}, {"frame": 10}]}`, "frame order", true},
		{"nofps.json", `{"timeline": [{"frame": 0, "time": "2026-11-02T10:00:00Z"}]}`, "not a door-video truth", false},
	} {
		path := filepath.Join(dir, tc.name)
		if tc.body != "" {
			path = write(tc.name, tc.body)
		}
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if _, err := ReadTimeline(path); (err != nil) != tc.timeline {
			t.Errorf("%s: ReadTimeline: %v", tc.name, err)
		}
	}
	if _, err := ReadTimeline(write("notl.json", `{"video": "x.avi"}`)); err == nil || !strings.Contains(err.Error(), `no "timeline"`) {
		t.Errorf("no timeline: %v", err)
	}
}
