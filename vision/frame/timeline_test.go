package frame

import (
	"strings"
	"testing"
	"time"
)

func TestTimeline(t *testing.T) {
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tl := Timeline{{Frame: 10, Time: day}, {Frame: 30, Time: day.AddDate(0, 0, 1)}}
	if err := tl.Check(); err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]time.Time{
		0:  start,                                      // before the first mark: from start
		5:  start.Add(500 * time.Millisecond),          // 10 frames a second
		10: day,                                        // on a mark
		29: day.Add(1900 * time.Millisecond),           // after it
		31: day.AddDate(0, 0, 1).Add(time.Second / 10), // after the last
	} {
		if got := tl.TimeOf(i, 10, start); !got.Equal(want) {
			t.Errorf("frame %d at %v, want %v", i, got, want)
		}
	}
	if got := Timeline(nil).TimeOf(15, 15, start); !got.Equal(start.Add(time.Second)) {
		t.Errorf("no marks: frame 15 at %v", got)
	}
	if err := (Timeline{{Frame: 10}, {Frame: 10}}).Check(); err == nil || !strings.Contains(err.Error(), "frame order") {
		t.Errorf("marks out of order: %v", err)
	}
}
