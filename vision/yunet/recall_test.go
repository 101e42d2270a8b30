package yunet

import (
	"context"
	"flag"
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/dlib"
	"joren/vision/doorsim"
	"joren/vision/frame"
)

var measure = flag.Bool("measure", false, "TestRecall: also dlib's MMOD detector, on a longer door video, and print docs/pipeline.md's table")

// detector is one face detector under comparison.
type detector struct {
	name string
	find func(im frame.Image) ([]image.Rectangle, error)
	// spent is the time spent finding faces, and calls how often.
	spent time.Duration
	calls int
}

func (d *detector) run(im frame.Image) ([]image.Rectangle, error) {
	t0 := time.Now()
	boxes, err := d.find(im)
	d.spent += time.Since(t0)
	d.calls++
	return boxes, err
}

func (d *detector) ms() float64 {
	return float64(d.spent.Microseconds()) / 1000 / float64(max(1, d.calls))
}

func dlibDetector(name string, f *dlib.Frames, cnn bool) *detector {
	return &detector{name: name, find: func(im frame.Image) ([]image.Rectangle, error) {
		ds, err := f.Detect(dlib.Frame(im), cnn)
		boxes := make([]image.Rectangle, len(ds))
		for i, d := range ds {
			boxes[i] = d.Box
		}
		return boxes, err
	}}
}

func yunetDetector(name string, y *Detector, scale float64) *detector {
	return &detector{name: name, find: func(im frame.Image) ([]image.Rectangle, error) {
		s := scale
		if s == 0 {
			s = FitScale(im.Bounds(), 640)
		}
		fs, err := y.Detect(im, im.Bounds(), s)
		boxes := make([]image.Rectangle, len(fs))
		for i, f := range fs {
			boxes[i] = f.Box
		}
		return boxes, err
	}}
}

// TestRecall compares the detectors on a synthesised door video (of the
// faces entirely in view, those the detector finds searching the whole
// 640x480 frame, as the pipeline does with nothing tracked; YuNet also at
// half size): YuNet must find at least what HOG finds, and nothing else.
// With -measure, also dlib's MMOD, on the whole seed-1 video of the
// pipeline's tests (14 passages of 11 people), and on the shared
// photos (a face in every single-person photo, ten in pristin.jpg; dlib's
// detectors on photos shrunk to 2000 pixels, YuNet at 640, as the photo
// commands search them): the table of docs/pipeline.md.
func TestRecall(t *testing.T) {
	models := testenv.Models(t)
	frames, err := dlib.OpenFrames(models, *measure)
	if err != nil {
		t.Fatal(err)
	}
	defer frames.Close()
	y := open(t)
	hog := dlibDetector("HOG (dlib)", frames, false)
	yn := yunetDetector("YuNet", y, 0)
	dets := []*detector{hog, yn}
	if *measure {
		dets = append(dets, dlibDetector("MMOD (dlib CNN)", frames, true))
	}

	// Photos (TestPhotos checks YuNet's in every run; dlib's detectors
	// take tens of seconds on them).
	var files []string
	if *measure {
		files, _ = filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	}
	found := map[string]int{}
	missed := map[string][]string{}
	pristin := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		full := photo(t, name)
		small := shrink(t, full, 2000)
		for _, d := range dets {
			im := small
			if d == yn {
				im = full
			}
			boxes, err := d.run(im)
			if err != nil {
				t.Fatalf("%s on %s: %v", d.name, name, err)
			}
			switch {
			case name == "pristin.jpg":
				pristin[d.name] = len(boxes)
			case len(boxes) > 0:
				found[d.name]++
			default:
				missed[d.name] = append(missed[d.name], name)
			}
		}
	}
	photoMs := map[string]float64{}
	for _, d := range dets {
		photoMs[d.name] = d.ms()
		d.spent, d.calls = 0, 0
	}

	// The door video.
	yHalf := yunetDetector("YuNet at 320x240", y, 0.5)
	dets = append(dets, yHalf)
	cast, err := doorsim.LoadCast(testenv.Faces(t), hog.find)
	if err != nil {
		t.Fatal(err)
	}
	defer cast.Close()
	o := doorsim.Options{Seed: 1, People: 3, Again: -1, Together: -1}
	if *measure {
		o = doorsim.Options{Seed: 1}
	}
	script, err := doorsim.Plan(cast, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "door.avi")
	truth, err := doorsim.Write(context.Background(), cast, script, path, func(int, int) {})
	if err != nil {
		t.Fatal(err)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	hits := map[string]int{}
	extra := map[string]int{}
	inView := 0
	for i := 0; vc.Read(&m); i++ {
		var want []image.Rectangle
		for k := range script.Passages {
			if b, ok := script.FaceAt(k, i); ok {
				want = append(want, b)
			}
		}
		if len(want) == 0 {
			continue
		}
		inView += len(want)
		pix, _ := m.DataPtrUint8()
		im := frame.Image{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}
		for _, d := range dets {
			boxes, err := d.run(im)
			if err != nil {
				t.Fatalf("%s on frame %d: %v", d.name, i, err)
			}
			h := matches(want, boxes)
			hits[d.name] += h
			extra[d.name] += len(boxes) - h
		}
	}
	if inView < 40 {
		t.Fatalf("only %d faces in view in the video", inView)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "| detector | single-person photos with a face (of %d) | pristin.jpg (10 faces) | ms per photo | door video: faces found (of %d in view) | other boxes | ms per 640x480 frame |\n|---|---|---|---|---|---|---|\n", max(0, len(files)-1), inView)
	for _, d := range dets {
		photos, pr, pms := fmt.Sprint(found[d.name]), fmt.Sprint(pristin[d.name]), fmt.Sprintf("%.0f", photoMs[d.name])
		if d == yHalf || len(files) == 0 {
			photos, pr, pms = "", "", ""
		}
		miss := ""
		if len(missed[d.name]) > 0 {
			miss = " (not " + strings.Join(missed[d.name], ", ") + ")"
		}
		fmt.Fprintf(&table, "| %s | %s%s | %s | %s | %d (%.1f%%) | %d | %.1f |\n", d.name, photos, miss, pr, pms,
			hits[d.name], 100*float64(hits[d.name])/float64(inView), extra[d.name], d.ms())
	}
	t.Logf("detectors compared (video: seed %d, %d frames, %d passages):\n%s", o.Seed, truth.Frames, len(truth.Passages), table.String())

	if len(files) > 0 && (found[yn.name] != len(files)-1 || pristin[yn.name] != 10) {
		t.Errorf("YuNet found a face in %d of %d single-person photos and %d in pristin.jpg, want all and 10", found[yn.name], len(files)-1, pristin[yn.name])
	}
	if hits[yn.name] < hits[hog.name] || hits[yHalf.name] < hits[hog.name] || found[yn.name] < found[hog.name] {
		t.Errorf("YuNet found fewer faces than HOG: %d against %d in the video, %d against %d photos", hits[yn.name], hits[hog.name], found[yn.name], found[hog.name])
	}
	if extra[yn.name] > inView/50 {
		t.Errorf("YuNet reported %d boxes that are no face in view", extra[yn.name])
	}
}

// matches counts the faces of want that one of boxes finds: its centre
// inside the face, its width within a factor of two.
func matches(want, boxes []image.Rectangle) int {
	n := 0
	used := make([]bool, len(boxes))
	for _, w := range want {
		for j, b := range boxes {
			c := b.Min.Add(b.Max).Div(2)
			if !used[j] && c.In(w) && b.Dx()*2 > w.Dx() && b.Dx() < 2*w.Dx() {
				used[j] = true
				n++
				break
			}
		}
	}
	return n
}

// shrink scales a picture down to maxSide pixels on its longer side.
func shrink(t testing.TB, im frame.Image, maxSide int) frame.Image {
	t.Helper()
	k := FitScale(im.Bounds(), maxSide)
	if k == 1 {
		return im
	}
	src, err := gocv.NewMatFromBytes(im.Rows, im.Cols, gocv.MatTypeCV8UC3, im.Pix[:im.Rows*im.Step])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.Resize(src, &dst, image.Pt(int(float64(im.Cols)*k), int(float64(im.Rows)*k)), 0, 0, gocv.InterpolationArea)
	pix, _ := dst.DataPtrUint8()
	return frame.Image{Pix: append([]byte(nil), pix...), Rows: dst.Rows(), Cols: dst.Cols(), Step: dst.Step()}
}
