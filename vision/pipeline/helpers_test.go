//go:build cgo

package pipeline_test

import (
	"context"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
	"joren/vision/frame"
	"joren/vision/pipeline"
	"joren/vision/track"
	"joren/vision/verification"
	"joren/vocab"
)

// fixture is what the tests share: dlib's models, the cast cut from the
// shared photos, one reference descriptor per photo, and synthesised
// videos. Loading the models and drawing a video take seconds: done once.
type fixture struct {
	faces *cv.Faces
	cast  *doorsim.Cast
	refs  map[string][]float32 // photo -> descriptor of the photo itself
	dir   string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  string
	videos  sync.Map // name -> *video

	// YuNet's models, for the benchmarks that compare the detectors:
	// loaded once, as the fixture's are (another set of dlib's models
	// per benchmark would swell the peak RSS they report).
	yunetOnce  sync.Once
	yunetFaces *cv.YuNetFaces
	yunetErr   error
)

// video is a synthesised video and its truth.
type video struct {
	path  string
	truth truth.Truth
}

func setup(t testing.TB) *fixture {
	t.Helper()
	models, shared := testenv.Models(t), testenv.Faces(t)
	fixOnce.Do(func() {
		f, err := cv.OpenFaces(models, camera.FaceOptions{})
		if err != nil {
			fixErr = err.Error()
			return
		}
		fx := &fixture{faces: f, refs: map[string][]float32{}}
		fx.cast, err = doorsim.LoadCast(shared, finder(f))
		if err != nil {
			fixErr = err.Error()
			return
		}
		for _, a := range fx.cast.Actors {
			d, err := photoDescriptor(f, filepath.Join(shared, a.Photo))
			if err != nil {
				fixErr = err.Error()
				return
			}
			fx.refs[a.Photo] = d
		}
		fx.dir, err = os.MkdirTemp("", "joren-pipeline-test-")
		if err != nil {
			fixErr = err.Error()
			return
		}
		fix = fx
	})
	if fix == nil {
		t.Fatalf("setting up the pipeline tests: %s", fixErr)
	}
	return fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if yunetFaces != nil {
		yunetFaces.Close()
	}
	if fix != nil {
		fix.cast.Close()
		fix.faces.Close()
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// yunetSetup returns YuNet's models (camera.YuNet, the default detector:
// YuNet and dlib's ResNet on five-point chips), loaded on first use and
// shared by every caller until TestMain ends.
func yunetSetup(t testing.TB) *cv.YuNetFaces {
	t.Helper()
	dir := testenv.ModelsWithYuNet(t) // models load at once: a temporary directory may go
	yunetOnce.Do(func() { yunetFaces, yunetErr = cv.OpenYuNet(dir, camera.FaceOptions{}) })
	if yunetErr != nil {
		t.Fatalf("opening YuNet: %v", yunetErr)
	}
	return yunetFaces
}

// finder adapts dlib's HOG detector to doorsim.
func finder(f *cv.Faces) doorsim.FaceFinder {
	return func(im frame.Image) ([]image.Rectangle, error) { return f.Detect(im, 1) }
}

// photoDescriptor describes the face of a photo, shrunk as doorsim
// shrinks it.
func photoDescriptor(f *cv.Faces, path string) ([]float32, error) {
	fr, err := readPhoto(path)
	if err != nil {
		return nil, err
	}
	ds, err := f.Detect(fr, 1)
	if err != nil || len(ds) != 1 {
		return nil, err
	}
	face, err := f.Describe(fr, ds[0])
	return face.Descriptor, err
}

// readPhoto reads a photo into Go memory, shrunk to 1000 pixels at most
// as doorsim shrinks it.
func readPhoto(path string) (frame.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return frame.Image{}, err
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return frame.Image{}, err
	}
	defer m.Close()
	if s := max(m.Cols(), m.Rows()); s > 1000 {
		k := 1000 / float64(s)
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(int(float64(m.Cols())*k), int(float64(m.Rows())*k)), 0, 0, gocv.InterpolationArea)
		m, small = small, m
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		return frame.Image{}, err
	}
	return frame.Image{Pix: pix, Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}.Clone(), nil
}

// synth returns a synthesised video, drawing it on first use.
func synth(t testing.TB, name string, o doorsim.Options) *video {
	t.Helper()
	fx := setup(t)
	if v, ok := videos.Load(name); ok {
		return v.(*video)
	}
	script, err := doorsim.Plan(fx.cast, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(fx.dir, name+".avi")
	tr, err := doorsim.Write(context.Background(), fx.cast, script, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := &video{path: path, truth: tr}
	videos.Store(name, v)
	return v
}

// run plays a source through a pipeline with the fixture's models (HOG)
// and returns its visits.
func run(t testing.TB, src pipeline.Source, cfg pipeline.Config) ([]track.Visit, *pipeline.Pipeline, error) {
	t.Helper()
	return runFaces(t, setup(t).faces, src, cfg)
}

// runFaces is run with faces finding and describing the faces.
func runFaces(t testing.TB, faces camera.Faces, src pipeline.Source, cfg pipeline.Config) ([]track.Visit, *pipeline.Pipeline, error) {
	t.Helper()
	if cfg.Track.Entropy == nil {
		cfg.Track.Entropy = deterministic()
	}
	p := pipeline.New(faces, faces, cfg)
	out := make(chan track.Visit)
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), src, out) }()
	var vs []track.Visit
	for v := range out {
		vs = append(vs, v)
	}
	return vs, p, <-done
}

func fileSource(t testing.TB, v *video, o capture.Options) *capture.Source {
	t.Helper()
	if o.Timeline == nil && o.Start.IsZero() {
		o.Timeline = v.truth.Timeline
	}
	src, err := capture.Open(v.path, o)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// personOf names the person whose photo's descriptor is nearest to d, and
// that distance.
func (fx *fixture) personOf(d []float32) (string, float64) {
	return nearest(fx.faces.Model(), fx.refs, d)
}

// nearest names the person whose photo's descriptor in refs is nearest to
// d, and that distance.
func nearest(m vocab.Model, refs map[string][]float32, d []float32) (string, float64) {
	best, bd := "", math.Inf(1)
	for photo, r := range refs {
		if dist := m.Distance(d, r); dist < bd {
			best, bd = verification.PersonOf(photo), dist
		}
	}
	return best, bd
}

// overlaps tells whether a visit's time span meets a passage's (from the
// first to the last frame showing any of the person).
func overlaps(v track.Visit, tr truth.Truth, p truth.Passage) bool {
	return !v.Start.After(tr.TimeOf(p.Leave)) && !v.End.Before(tr.TimeOf(p.Enter))
}

// assign maps each visit to the passage it shows: the one it overlaps in
// time, and among passages together, the one of the person its
// descriptors are nearest to. -1: a visit during an empty stretch.
func assign(personOf func([]float32) (string, float64), tr truth.Truth, vs []track.Visit) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = -1
		var cands []int
		for k, p := range tr.Passages {
			if overlaps(v, tr, p) {
				cands = append(cands, k)
			}
		}
		if len(cands) == 0 {
			continue
		}
		// Several people in view: the one whose face the descriptors show,
		// or without descriptors, the one whose face was in view for
		// about the visit's span.
		who := ""
		if len(v.Descriptors) > 0 {
			who, _ = personOf(v.Descriptors[0])
		}
		best := math.Inf(1)
		for _, k := range cands {
			p := tr.Passages[k]
			miss := math.Abs(v.Start.Sub(p.Start).Seconds()) + math.Abs(v.End.Sub(p.End).Seconds())
			if p.Person == who {
				miss -= 1000
			}
			if miss < best {
				out[i], best = k, miss
			}
		}
	}
	return out
}

// deterministic makes visit IDs the same on every run.
func deterministic() io.Reader { return rand.NewChaCha8([32]byte{7}) }

// copyPrefix writes the first share of src's bytes to dst: a video cut
// short as a failing card or a dying camera leaves it.
func copyPrefix(src, dst string, share float64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b[:int(float64(len(b))*share)], 0o644)
}
