package truth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"joren/vision/frame"
)

// Passage is one person walking through the door.
type Passage struct {
	Person string `json:"person"`
	Photo  string `json:"photo"`
	// Day counts from 0.
	Day int `json:"day"`
	// Enter and Leave are the first and last frames showing any of the
	// person; First and Last those where the whole face is in the picture.
	Enter int `json:"enter_frame"`
	Leave int `json:"leave_frame"`
	First int `json:"first_frame"`
	Last  int `json:"last_frame"`
	// Start and End are the times of First and Last on the timeline.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// With lists the passages (indices) in the picture at the same time.
	With []int `json:"with,omitempty"`
	// Blurred is how many frames, from Enter on, are motion-blurred.
	Blurred int `json:"blurred_frames"`
	// MinFace and MaxFace are the face's width in pixels at entry and exit.
	MinFace int `json:"min_face"`
	MaxFace int `json:"max_face"`
}

// Stretch is a range of frames, both ends included.
type Stretch struct {
	First int `json:"first_frame"`
	Last  int `json:"last_frame"`
}

// Truth is what a video shows.
type Truth struct {
	Video string `json:"video"`
	// Scenario is doorsim's: door, empty or steady.
	Scenario string         `json:"scenario"`
	Width    int            `json:"width"`
	Height   int            `json:"height"`
	FPS      float64        `json:"fps"`
	Frames   int            `json:"frames"`
	Seed     uint64         `json:"seed"`
	Timeline frame.Timeline `json:"timeline"`
	Passages []Passage      `json:"passages"`
	// Empty lists the stretches where nobody is in the picture.
	Empty []Stretch `json:"empty"`
}

// TimeOf is the time of frame i on the truth's timeline.
func (t Truth) TimeOf(i int) time.Time {
	var start time.Time
	if len(t.Timeline) > 0 {
		start = t.Timeline[0].Time
	}
	return t.Timeline.TimeOf(i, t.FPS, start)
}

// During tells whether time at falls while passage p is being made (from
// the first to the last frame showing any of the person), a second either
// side included: a visit's decision carries its start, which the tracker
// may put a little before the face is entirely in view.
func (t Truth) During(p Passage, at time.Time) bool {
	return !at.Before(t.TimeOf(p.Enter).Add(-time.Second)) && !at.After(t.TimeOf(p.Leave).Add(time.Second))
}

// PassageAt is the first passage being made at time at (During), if any.
func (t Truth) PassageAt(at time.Time) (Passage, bool) {
	for _, p := range t.Passages {
		if t.During(p, at) {
			return p, true
		}
	}
	return Passage{}, false
}

// Path is where the truth of a video is written: beside it, with the
// extension .json.
func Path(video string) string {
	return strings.TrimSuffix(video, filepath.Ext(video)) + ".json"
}

// Read reads a truth file.
func Read(path string) (Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Truth{}, err
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	if t.FPS <= 0 || len(t.Timeline) == 0 {
		return Truth{}, fmt.Errorf("%s is not a door-video truth file (no fps or timeline)", path)
	}
	if err := t.Timeline.Check(); err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadTimeline reads the "timeline" list of marks from a JSON file (a
// truth file, or any file with such a list): what `joren watch --clock`
// and the appliance's camera.clock time a recording's frames by.
func ReadTimeline(path string) (frame.Timeline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Timeline frame.Timeline `json:"timeline"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Timeline) == 0 {
		return nil, fmt.Errorf("%s has no \"timeline\" list of {\"frame\", \"time\"} marks", path)
	}
	if err := doc.Timeline.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.Timeline, nil
}
