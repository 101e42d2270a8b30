//go:build cgo

package pipeline_test

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
	"joren/vision/pipeline"
	"joren/vision/track"
	"joren/vision/yunet"
)

// TestYuNetDoorVideo is TestDoorVideo with YuNet finding the faces and
// its five landmarks aligning them (camera.YuNet, the default): the same
// visits, one per passage, each of its passage's person, found with no
// shape predictor. It logs the CPU each stage spent, HOG's run (the
// fixture's) beside YuNet's, for docs/pipeline.md.
func TestYuNetDoorVideo(t *testing.T) {
	fx := setup(t)
	v := synth(t, "door", doorsim.Options{Seed: 1})
	matleak.Check(t)
	yf, err := cv.OpenYuNet(testenv.ModelsWithYuNet(t), camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer yf.Close()
	refs := map[string][]float32{}
	for _, a := range fx.cast.Actors {
		d, err := photoDescriptorFive(yf, filepath.Join(testenv.Faces(t), a.Photo))
		if err != nil {
			t.Fatalf("%s: %v", a.Photo, err)
		}
		refs[a.Photo] = d
	}
	personOf := func(d []float32) (string, float64) { return nearest(yf.Model(), refs, d) }

	runWith := func(faces camera.Faces) ([]track.Visit, pipeline.Stats, time.Duration) {
		p := pipeline.New(faces, faces, pipeline.Config{Track: track.Config{Entropy: deterministic()}})
		out := make(chan track.Visit)
		done := make(chan error, 1)
		src := fileSource(t, v, capture.Options{})
		cpu := testenv.CPUTime()
		go func() { done <- p.Run(t.Context(), src, out) }()
		var vs []track.Visit
		for vi := range out {
			vs = append(vs, vi)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return vs, p.Stats(), testenv.CPUTime() - cpu
	}
	vs, st, cpu := runWith(yf)
	if want := "dlib_resnet_v1+five+mirror"; yf.Model().Name != want {
		t.Errorf("model %q, want %q", yf.Model().Name, want)
	}
	checkDoorVideo(t, personOf, v.truth, vs, st)
	hvs, hst, hcpu := runWith(fx.faces)
	for _, r := range []struct {
		name string
		vs   []track.Visit
		st   pipeline.Stats
		cpu  time.Duration
	}{{"YuNet", vs, st, cpu}, {"HOG", hvs, hst, hcpu}} {
		t.Logf("%s: %d visits of %d passages; %d frames searched, %d faces, %d worth a descriptor, %d described; detect busy %v (%.1f ms per searched frame), track busy %v, process CPU %v (%.1f ms per frame)",
			r.name, len(r.vs), len(v.truth.Passages), r.st.Searched, r.st.Faces, r.st.Worth, r.st.Described,
			r.st.DetectBusy.Round(time.Millisecond), ms(r.st.DetectBusy)/float64(max(1, r.st.Searched)), r.st.TrackBusy.Round(time.Millisecond),
			r.cpu.Round(time.Millisecond), ms(r.cpu)/float64(max(1, r.st.Frames)))
	}
	if st.Faces < hst.Faces {
		t.Errorf("YuNet found %d faces in the video, HOG %d", st.Faces, hst.Faces)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestYuNetFacesErrors: a model directory without YuNet names the file
// and the way out; a picture too small to hold a face YuNet finds gives
// no face, not an error; the shape predictor's landmarks are refused.
func TestYuNetFacesErrors(t *testing.T) {
	if _, err := cv.OpenYuNet(t.TempDir(), camera.FaceOptions{}); err == nil || !contains(err.Error(), yunetFile, "hog") {
		t.Errorf("no YuNet: %v", err)
	}
	yf, err := cv.OpenYuNet(testenv.ModelsWithYuNet(t), camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer yf.Close()
	tiny := frame.New(40, 30)
	if faces, err := yf.DetectFive(tiny, 0.25); err != nil || len(faces) != 0 {
		t.Errorf("a 10x7 search: %d faces, %v", len(faces), err)
	}
	if _, err := yf.Landmarks(tiny, image.Rect(0, 0, 20, 20)); err == nil {
		t.Error("YuNet gave a shape predictor's landmarks")
	}
	if _, err := yf.Describe(tiny, image.Rect(0, 0, 20, 20)); err == nil {
		t.Error("described a face in an empty picture")
	}
}

const yunetFile = "face_detection_yunet_2023mar.onnx"

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// photoDescriptorFive describes the face of a photo, shrunk as doorsim
// shrinks it, aligned on YuNet's five points.
func photoDescriptorFive(yf *cv.YuNetFaces, path string) ([]float32, error) {
	fr, err := readPhoto(path)
	if err != nil {
		return nil, err
	}
	faces, err := yf.DetectFive(fr, yunet.FitScale(fr.Bounds(), 640))
	if err != nil {
		return nil, err
	}
	if len(faces) == 0 {
		return nil, fmt.Errorf("no face")
	}
	// The largest face is the photo's person.
	best := faces[0]
	for _, f := range faces {
		if f.Box.Dx() > best.Box.Dx() {
			best = f
		}
	}
	face, err := yf.DescribeFive(fr, best.Box, best.Points)
	return face.Descriptor, err
}
