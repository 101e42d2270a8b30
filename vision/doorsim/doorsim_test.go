package doorsim

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/dlib"
	"joren/vision/doorsim/truth"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
)

var (
	castOnce sync.Once
	cast     *Cast
	faces    *dlib.Frames
	castErr  error
)

// testCast is the cast of the shared photos, found with dlib's HOG
// detector (loaded once for the package).
func testCast(t testing.TB) (*Cast, *dlib.Frames) {
	t.Helper()
	models, photos := testenv.Models(t), testenv.Faces(t)
	castOnce.Do(func() {
		faces, castErr = dlib.OpenFrames(models, false)
		if castErr != nil {
			return
		}
		cast, castErr = LoadCast(photos, hog(faces))
	})
	if castErr != nil {
		t.Fatal(castErr)
	}
	return cast, faces
}

func hog(f *dlib.Frames) FaceFinder {
	return func(im frame.Image) ([]image.Rectangle, error) {
		ds, err := f.Detect(dlib.Frame(im), false)
		var boxes []image.Rectangle
		for _, d := range ds {
			boxes = append(boxes, d.Box)
		}
		return boxes, err
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cast != nil {
		cast.Close()
		faces.Close()
	}
	os.Exit(code)
}

func TestMatProfile(t *testing.T) { matleak.Required(t) }

func TestCast(t *testing.T) {
	c, _ := testCast(t)
	// The shared photos: 11 people; HOG finds no face in eunseo.jpg and
	// jimin3.jpg, and pristin.jpg shows a group (FACTS.md).
	if got := c.People(); len(got) != 11 {
		t.Errorf("%d people: %v", len(got), got)
	}
	skipped := strings.Join(c.Skipped, "\n")
	for _, p := range []string{"eunseo.jpg", "jimin3.jpg", "pristin.jpg"} {
		if !strings.Contains(skipped, p) {
			t.Errorf("%s not skipped: %s", p, skipped)
		}
	}
	if _, err := LoadCast(t.TempDir(), hog(faces)); err == nil || !strings.Contains(err.Error(), "no photo") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestPlan(t *testing.T) {
	c, _ := testCast(t)
	start := time.Date(2026, 11, 2, 9, 30, 0, 0, time.FixedZone("JST", 9*3600))
	o := Options{Seed: 4, Days: 3, Regulars: 3, Start: start}
	tr, err := Plan(c, o)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Plan(c, o)
	if !reflect.DeepEqual(tr.Passages, again.Passages) || !reflect.DeepEqual(tr.Timeline, again.Timeline) {
		t.Error("the same seed gave another plan")
	}
	o.Seed = 5
	if other, _ := Plan(c, o); reflect.DeepEqual(other.Passages, tr.Passages) {
		t.Error("another seed gave the same plan")
	}
	days := map[string]map[int]bool{}
	pairs := 0
	for i, p := range tr.Passages {
		if days[p.Person] == nil {
			days[p.Person] = map[int]bool{}
		}
		days[p.Person][p.Day] = true
		// The face is entirely in view from First to Last, inside the passage.
		if p.First < p.Enter || p.Last > p.Leave || p.Last-p.First < 10 {
			t.Errorf("passage %d: face in view %d-%d of %d-%d", i, p.First, p.Last, p.Enter, p.Leave)
		}
		if _, ok := tr.FaceAt(i, p.First-1); ok {
			t.Errorf("passage %d: FaceAt before its first frame", i)
		}
		if b, ok := tr.FaceAt(i, (p.First+p.Last)/2); !ok || !b.In(image.Rect(0, 0, tr.Width, tr.Height)) || b.Dx() < p.MinFace-1 {
			t.Errorf("passage %d: FaceAt its middle frame %v, %v", i, b, ok)
		}
		for _, f := range []int{p.First, p.Last} {
			x0, y0, x1, y1 := tr.paths[i].faceBox(f)
			if x0 < 0 || y0 < 0 || x1 > float64(tr.Width) || y1 > float64(tr.Height) {
				t.Errorf("passage %d frame %d: face %.0f,%.0f-%.0f,%.0f outside the frame", i, f, x0, y0, x1, y1)
			}
		}
		if !p.Start.Equal(tr.TimeOf(p.First)) || p.End.Before(p.Start) {
			t.Errorf("passage %d: %v to %v", i, p.Start, p.End)
		}
		// Passages on day d happen on that local day, during opening hours.
		if d := p.Start.Sub(start.AddDate(0, 0, p.Day)); d < 0 || d > 12*time.Hour {
			t.Errorf("passage %d of day %d at %v", i, p.Day, p.Start)
		}
		// Only passages together overlap.
		for j, q := range tr.Passages {
			if j != i && p.Enter <= q.Leave && q.Enter <= p.Leave && !contains(p.With, j) {
				t.Errorf("passages %d and %d overlap without being together", i, j)
			}
		}
		pairs += len(p.With)
		for _, e := range tr.Empty {
			if e.First <= p.Leave && p.Enter <= e.Last {
				t.Errorf("passage %d (%d-%d) in the empty stretch %+v", i, p.Enter, p.Leave, e)
			}
		}
	}
	regulars := 0
	for person, ds := range days {
		switch len(ds) {
		case 3:
			regulars++
		case 1:
		default:
			t.Errorf("%s comes on %d of 3 days", person, len(ds))
		}
	}
	if regulars != 3 || len(days) != 11 || pairs == 0 {
		t.Errorf("%d regulars of %d people, %d passages in pairs", regulars, len(days), pairs)
	}
	for i := 1; i < len(tr.Timeline); i++ {
		if a, b := tr.Timeline[i-1], tr.Timeline[i]; b.Frame <= a.Frame || !b.Time.After(a.Time) {
			t.Errorf("timeline marks %d and %d out of order", i-1, i)
		}
	}
	if last := tr.Empty[len(tr.Empty)-1]; last.Last != tr.Frames-1 {
		t.Errorf("the video does not end on an empty stretch: %+v of %d frames", last, tr.Frames)
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestPlanErrors(t *testing.T) {
	c, _ := testCast(t)
	for _, tc := range []struct {
		o    Options
		cast *Cast
		want string
	}{
		{Options{Scenario: "crowd"}, c, "unknown scenario"},
		{Options{Width: 100, Height: 80}, c, "frame size"},
		{Options{FPS: 500}, c, "frame rate"},
		{Options{Days: -1}, c, "negative"},
		{Options{}, nil, "needs a cast"},
		{Options{Scenario: Steady}, &Cast{}, "needs a cast"},
	} {
		if _, err := Plan(tc.cast, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	if _, err := Plan(nil, Options{Scenario: Empty}); err != nil {
		t.Errorf("the empty doorway needs nobody: %v", err)
	}
}

// TestWrite draws a short video and reads it back: the frame count and
// the truth file match, empty frames show the empty doorway, and the
// detector finds every face where the truth says it is.
func TestWrite(t *testing.T) {
	c, f := testCast(t)
	matleak.Check(t)
	dir := t.TempDir()
	tr, err := Plan(c, Options{Seed: 2, People: 3, Again: -1, Together: 1, Width: 480, Height: 360})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "door.avi")
	calls := 0
	written, err := Write(context.Background(), c, tr, path, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if calls != tr.Frames || written.Video != "door.avi" {
		t.Errorf("progress called %d times for %d frames; video %q", calls, tr.Frames, written.Video)
	}
	back, err := truth.Read(truth.Path(path))
	if err != nil {
		t.Fatal(err)
	}
	if back.Frames != tr.Frames || len(back.Passages) != len(tr.Passages) || back.Video != "door.avi" || !back.Passages[0].Start.Equal(tr.Passages[0].Start) {
		t.Errorf("truth read back differs: %+v", back)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	if n := int(vc.Get(gocv.VideoCaptureFrameCount)); n != tr.Frames {
		t.Errorf("%d frames in the file, %d planned", n, tr.Frames)
	}
	m := gocv.NewMat()
	defer m.Close()
	var bg gocv.Mat
	found, checked := 0, 0
	for i := 0; vc.Read(&m); i++ {
		if i == 0 {
			bg = m.Clone()
			defer bg.Close()
			continue
		}
		empty := false
		for _, e := range tr.Empty {
			empty = empty || (i >= e.First && i <= e.Last)
		}
		if d := meanDiff(bg, m); empty && d > 3 {
			t.Errorf("empty frame %d differs from the empty doorway by %.1f", i, d)
		} else if !empty && d < 3 {
			t.Errorf("frame %d with someone differs from the empty doorway by %.1f only", i, d)
		}
		for k := range tr.Passages {
			p := &tr.Passages[k]
			if i != (p.First+p.Last)/2 {
				continue
			}
			checked++
			pix, _ := m.DataPtrUint8()
			dets, err := f.Detect(dlib.Frame{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}, false)
			if err != nil {
				t.Fatal(err)
			}
			x0, y0, x1, y1 := tr.paths[k].faceBox(i)
			for _, d := range dets {
				c := d.Box.Min.Add(d.Box.Max).Div(2)
				if math.Abs(float64(c.X)-(x0+x1)/2) < (x1-x0)/3 && math.Abs(float64(c.Y)-(y0+y1)/2) < (y1-y0)/2 {
					found++
				}
			}
		}
	}
	if checked != len(tr.Passages) || found != checked {
		t.Errorf("faces found where planned in %d of %d passages", found, checked)
	}
}

// meanDiff is the mean absolute difference of two pictures' pixels.
func meanDiff(a, b gocv.Mat) float64 {
	d := gocv.NewMat()
	defer d.Close()
	gocv.AbsDiff(a, b, &d)
	s := d.Mean()
	return (s.Val1 + s.Val2 + s.Val3) / 3
}

func TestWriteErrors(t *testing.T) {
	c, _ := testCast(t)
	matleak.Check(t)
	tr, _ := Plan(nil, Options{Scenario: Empty, Duration: time.Second})
	if _, err := Write(context.Background(), c, tr, filepath.Join(t.TempDir(), "door.mp4"), nil); err == nil || !strings.Contains(err.Error(), ".avi") {
		t.Errorf("mp4: %v", err)
	}
	if _, err := Write(context.Background(), c, tr, "/nonexistent/dir/door.avi", nil); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
	// A truth not planned with a cast (read from a file) cannot be drawn.
	door, _ := Plan(c, Options{Seed: 1, People: 1})
	read := Script{Truth: door.Truth}
	if _, err := Write(context.Background(), c, read, filepath.Join(t.TempDir(), "x.avi"), nil); err == nil || !strings.Contains(err.Error(), "not planned") {
		t.Errorf("unplanned truth: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "cancelled.avi")
	if _, err := Write(ctx, c, tr, out, nil); err == nil {
		t.Error("a cancelled write succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a cancelled write left its file")
	}
}
