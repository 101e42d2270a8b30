package yunet

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/models"
)

func TestMatProfile(t *testing.T) { matleak.Required(t) }

func open(t testing.TB) *Detector {
	t.Helper()
	d, err := Open(testenv.YuNet(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// photo reads a shared photo into Go memory.
func photo(t testing.TB, name string) frame.Image {
	t.Helper()
	m := gocv.IMRead(filepath.Join(testenv.Faces(t), name), gocv.IMReadColor)
	defer m.Close()
	if m.Empty() {
		t.Fatalf("cannot read %s", name)
	}
	b, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	return frame.Image{Pix: append([]byte(nil), b...), Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}
}

// TestPhotos: YuNet finds the person of every single-person photo
// (dlib's HOG misses eunseo.jpg and jimin3.jpg, both turned away) and the
// ten faces of pristin.jpg, searched at 640 pixels as the photo commands
// do, with landmarks where a face has them.
func TestPhotos(t *testing.T) {
	matleak.Check(t)
	d := open(t)
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	if len(files) != 20 {
		t.Fatalf("%d shared photos, want 20", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		im := photo(t, name)
		faces, err := d.Detect(im, im.Bounds(), FitScale(im.Bounds(), 640))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "pristin.jpg" {
			if len(faces) != 10 {
				t.Errorf("%s: %d faces, want 10", name, len(faces))
			}
		} else if len(faces) == 0 {
			t.Errorf("%s: no face", name)
			continue
		}
		for i, fc := range faces {
			if i > 0 && fc.Score > faces[i-1].Score {
				t.Errorf("%s: faces not sorted by score", name)
			}
			if fc.Score < DefaultMinScore || fc.Score > 1 || !fc.Box.In(im.Bounds()) || fc.Box.Dx() < 10 {
				t.Errorf("%s: face %+v", name, fc)
			}
		}
		// The person's face: the best one, landmarks inside the box,
		// eyes above the nose above the mouth, the picture's left eye
		// first.
		fc := faces[0]
		five := fc.Five
		grown := fc.Box.Inset(-fc.Box.Dx() / 10)
		for k, p := range five {
			if !image.Pt(int(p.X), int(p.Y)).In(grown) {
				t.Errorf("%s: landmark %d at %v outside the box %v", name, k, p, fc.Box)
			}
		}
		if !(five[0].X < five[1].X && five[3].X < five[4].X && five[0].Y < five[2].Y && five[1].Y < five[2].Y && five[2].Y < five[3].Y && five[2].Y < five[4].Y) {
			t.Errorf("%s: landmarks out of order: %v", name, five)
		}
	}
}

// TestRegion: searching a region of a frame finds the same face, in the
// frame's coordinates, as searching the whole frame; a scaled search too.
func TestRegion(t *testing.T) {
	matleak.Check(t)
	d := open(t)
	im := photo(t, "tzuyu.jpg") // 540x810, one face of about 150 pixels
	whole, err := d.Detect(im, im.Bounds(), 1)
	if err != nil || len(whole) != 1 {
		t.Fatalf("%d faces, %v", len(whole), err)
	}
	want := whole[0]
	// YuNet's landmarks move by a few percent of the face from one input
	// to another (its grid and the resampling differ): within 8% of the
	// face's width, the box's edges within 10%.
	tol := 0.08 * float64(want.Box.Dx())
	for _, tc := range []struct {
		name   string
		region image.Rectangle
		scale  float64
	}{
		{"around the face", want.Box.Inset(-want.Box.Dx() / 2), 1},
		{"around the face, shrunk", want.Box.Inset(-want.Box.Dx() / 2), 0.5},
		{"around the face, enlarged", want.Box.Inset(-want.Box.Dx() / 2), 1.5},
		{"whole frame at half size", im.Bounds(), 0.5},
		{"region larger than the frame", image.Rect(-100, -100, 2000, 2000), 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faces, err := d.Detect(im, tc.region, tc.scale)
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 1 {
				t.Fatalf("%d faces", len(faces))
			}
			got := faces[0]
			for k := range got.Five {
				if math.Hypot(got.Five[k].X-want.Five[k].X, got.Five[k].Y-want.Five[k].Y) > tol {
					t.Errorf("landmark %d at %v, %v in the whole frame", k, got.Five[k], want.Five[k])
				}
			}
			for _, c := range [][2]int{{got.Box.Min.X, want.Box.Min.X}, {got.Box.Min.Y, want.Box.Min.Y}, {got.Box.Max.X, want.Box.Max.X}, {got.Box.Max.Y, want.Box.Max.Y}} {
				if math.Abs(float64(c[0]-c[1])) > 1.25*tol {
					t.Errorf("box %v, %v in the whole frame", got.Box, want.Box)
					break
				}
			}
		})
	}
	// A region without the face finds nothing.
	if faces, err := d.Detect(im, image.Rect(0, 600, 540, 810), 1); err != nil || len(faces) != 0 {
		t.Errorf("region below the face: %d faces, %v", len(faces), err)
	}
}

// TestHostile: bad pictures, regions and scales are errors naming what is
// wrong, never an OpenCV abort.
func TestHostile(t *testing.T) {
	matleak.Check(t)
	d := open(t)
	im := photo(t, "tzuyu.jpg")
	huge := frame.New(3000, 2200)
	for _, tc := range []struct {
		name   string
		im     frame.Image
		region image.Rectangle
		scale  float64
		want   string
	}{
		{"empty picture", frame.Image{}, image.Rect(0, 0, 10, 10), 1, "not a BGR image"},
		{"short buffer", frame.Image{Pix: make([]byte, 100), Rows: 100, Cols: 100, Step: 300}, image.Rect(0, 0, 100, 100), 1, "not a BGR image"},
		{"step too small", frame.Image{Pix: make([]byte, 30000), Rows: 100, Cols: 100, Step: 200}, image.Rect(0, 0, 100, 100), 1, "not a BGR image"},
		{"empty region", im, image.Rectangle{}, 1, "outside the 540x810 picture"},
		{"region outside", im, image.Rect(600, 0, 700, 100), 1, "outside the 540x810 picture"},
		{"tiny region", im, image.Rect(10, 10, 20, 200), 1, "at least 16 on each side"},
		{"shrunk to nothing", im, im.Bounds(), 0.01, "at least 16 on each side"},
		{"huge region", huge, huge.Bounds(), 1, "more than YuNet's 2048"},
		{"enlarged too far", im, im.Bounds(), 4, "more than YuNet's 2048"},
		{"zero scale", im, im.Bounds(), 0, "scale 0"},
		{"negative scale", im, im.Bounds(), -1, "scale -1"},
		{"NaN scale", im, im.Bounds(), math.NaN(), "scale NaN"},
		{"infinite scale", im, im.Bounds(), math.Inf(1), "scale +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faces, err := d.Detect(tc.im, tc.region, tc.scale)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d faces, error %v; want one containing %q", len(faces), err, tc.want)
			}
		})
	}
	// The largest and smallest accepted inputs work, and so does a
	// picture of noise-free black.
	for _, r := range []image.Rectangle{image.Rect(0, 0, 16, 16), image.Rect(0, 0, 2048, 2048), image.Rect(5, 7, 38, 1500)} {
		if faces, err := d.Detect(huge, r, 1); err != nil || len(faces) != 0 {
			t.Errorf("black %v: %d faces, %v", r, len(faces), err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("not a network"), 0o644)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.onnx"), "no such file"},
		{"not YuNet", junk, "not the 2023mar model's " + models.YuNetSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(tc.path, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Bytes OpenCV cannot parse are an error, not an abort.
	for _, b := range [][]byte{nil, []byte("not a network"), {0x08, 0x07, 0x12, 0x03}} {
		if _, err := New(b, Options{}); err == nil {
			t.Errorf("New(%q) loaded", b)
		}
	}
	good, err := os.ReadFile(testenv.YuNet(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(good[:len(good)/2], Options{}); err == nil || !strings.Contains(err.Error(), "OpenCV could not load it") {
		t.Errorf("truncated model: %v", err)
	}
	if _, err := New(good, Options{MinScore: 2}); err == nil || !strings.Contains(err.Error(), "at most 1") {
		t.Errorf("bad options: %v", err)
	}
	d, err := New(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	im := frame.New(64, 64)
	if _, err := d.Detect(im, im.Bounds(), 1); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("detecting with a closed detector: %v", err)
	}
}

// Detect is safe for concurrent use and gives the same answer each time.
func TestConcurrent(t *testing.T) {
	d := open(t)
	im := photo(t, "yujin.jpg")
	want, err := d.Detect(im, im.Bounds(), 0.5)
	if err != nil || len(want) == 0 {
		t.Fatalf("%d faces, %v", len(want), err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				got, err := d.Detect(im, im.Bounds(), 0.5)
				if err != nil || len(got) != len(want) || got[0] != want[0] {
					t.Errorf("concurrent detection: %+v, %v; want %+v", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestFitScale(t *testing.T) {
	for _, tc := range []struct {
		r    image.Rectangle
		side int
		want float64
	}{
		{image.Rect(0, 0, 1280, 720), 640, 0.5},
		{image.Rect(0, 0, 720, 1440), 640, 640.0 / 1440},
		{image.Rect(0, 0, 320, 240), 640, 1},
		{image.Rectangle{}, 640, 1},
	} {
		if got := FitScale(tc.r, tc.side); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("FitScale(%v, %d) = %v, want %v", tc.r, tc.side, got, tc.want)
		}
	}
}
