package dlib

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/models"
	"joren/vision/picture"
	"joren/vocab"
)

func open(t testing.TB, o Options) *Recognizer {
	t.Helper()
	r, err := Open(testenv.Models(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func facesOf(t testing.TB, r *Recognizer, path string) []vision.Face {
	t.Helper()
	return facesOfScaled(t, r, path, 0)
}

// facesOfScaled finds the faces of a picture scaled down to maxSide pixels
// (0: as it is).
func facesOfScaled(t testing.TB, r *Recognizer, path string, maxSide int) []vision.Face {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := picture.Prepare(data, picture.Options{MaxSide: maxSide})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	faces, err := r.Faces(p.JPEG)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return faces
}

// personOf maps an image's name (minus digits) to its person in
// descriptors-dev.jsonl (../shared/README.md).
var personOf = map[string]string{
	"bona": "Bona, WJSN", "eunseo": "Eunseo, WJSN", "eunwoo": "Eunwoo, PRISTIN", "jimin": "Jimin, AOA",
	"nana": "Nana, After School", "rena": "Rena, PRISTIN", "seulgi": "Seulgi, Red Velvet", "yujin": "Yujin, CLC",
	"chaeyeon": "Chaeyeon, DIA", "luda": "Luda, WJSN", "tzuyu": "Tzuyu, Twice",
}

// TestConvertedResNet checks the converted network against descriptors the
// official network computed: every photo of a person with real descriptors
// must land within 0.5 of the mean of that person's real descriptors (a
// correct conversion lands at 0.22-0.49, a broken one near 0.8).
func TestConvertedResNet(t *testing.T) {
	r := open(t, Options{})
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := map[string][]float64{}
	count := map[string]int{}
	dec := json.NewDecoder(f)
	for dec.More() {
		var e struct {
			Person     string    `json:"person"`
			Descriptor []float64 `json:"descriptor"`
		}
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		if sum[e.Person] == nil {
			sum[e.Person] = make([]float64, len(e.Descriptor))
		}
		for i, v := range e.Descriptor {
			sum[e.Person][i] += v
		}
		count[e.Person]++
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	digits := regexp.MustCompile(`[0-9]+`)
	checked := 0
	for _, path := range files {
		name := digits.ReplaceAllString(strings.TrimSuffix(filepath.Base(path), ".jpg"), "")
		person, ok := personOf[name]
		if !ok {
			continue
		}
		faces := facesOf(t, r, path)
		k := vision.Largest(faces)
		if k < 0 {
			// dlib's HOG detector finds no face in eunseo.jpg and jimin3.jpg
			// (FACTS.md); the CNN detector is tried instead.
			continue
		}
		mean := make([]float32, vocab.DlibResNetDim)
		for i := range mean {
			mean[i] = float32(sum[person][i] / float64(count[person]))
		}
		d := r.Model().Distance(faces[k].Descriptor, mean)
		t.Logf("%s: %.3f from the mean of %d real descriptors of %s", filepath.Base(path), d, count[person], person)
		if d >= 0.5 {
			t.Errorf("%s: descriptor %.3f from its person's mean, want < 0.5", filepath.Base(path), d)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("only %d photos checked", checked)
	}
}

// TestConversionDeterministic converts face-api's weights twice: the files
// must be byte-identical to each other and to the installed model.
func TestConversionDeterministic(t *testing.T) {
	fsys, err := models.LoadFaceAPI(context.Background(), "", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := models.FaceAPIResNet(fsys)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out [2][]byte
	for i := range out {
		p := filepath.Join(dir, "resnet.dat")
		if err := WriteResNet(p, layers); err != nil {
			t.Fatal(err)
		}
		if out[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatal("two conversions differ")
	}
	installed, err := os.ReadFile(filepath.Join(testenv.Models(t), models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[0], installed) {
		t.Error("conversion differs from the installed model file")
	}
}

func TestWriteResNetChecksLayers(t *testing.T) {
	fsys, err := models.LoadFaceAPI(context.Background(), "", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := models.FaceAPIResNet(fsys)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.dat")
	short := append([]models.Layer(nil), layers[:len(layers)-1]...)
	if err := WriteResNet(p, short); err == nil || !strings.Contains(err.Error(), "59 layers with parameters, got 58") {
		t.Errorf("missing layer: %v", err)
	}
	swapped := append([]models.Layer(nil), layers...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if err := WriteResNet(p, swapped); err == nil || !strings.Contains(err.Error(), "layer 0: kind") {
		t.Errorf("swapped layers: %v", err)
	}
	cut := append([]models.Layer(nil), layers...)
	cut[2] = models.Layer{Name: cut[2].Name, Kind: cut[2].Kind, Values: cut[2].Values[:10]}
	if err := WriteResNet(p, cut); err == nil || !strings.Contains(err.Error(), "layer 2: 10 values given") {
		t.Errorf("short layer: %v", err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("a refused conversion left a file")
	}
}

func TestPristinHasTenFaces(t *testing.T) {
	r := open(t, Options{})
	faces := facesOf(t, r, filepath.Join(testenv.Faces(t), "pristin.jpg"))
	if len(faces) != 10 {
		t.Fatalf("HOG found %d faces in pristin.jpg, want 10", len(faces))
	}
	for i, f := range faces {
		if f.Box.Dx() < 40 || len(f.Descriptor) != vocab.DlibResNetDim || len(f.Landmarks) != 68 {
			t.Errorf("face %d: box %v, %d values, %d landmarks", i, f.Box, len(f.Descriptor), len(f.Landmarks))
		}
		for _, p := range f.Landmarks {
			if !p.In(f.Box.Inset(-f.Box.Dx() / 2)) {
				t.Errorf("face %d: landmark %v far outside its box %v", i, p, f.Box)
				break
			}
		}
	}
	// Ten faces of one photo are ten people: no two closer than a
	// same-photo-pair threshold would call the same.
	for i := range faces {
		for j := i + 1; j < len(faces); j++ {
			if d := r.Model().Distance(faces[i].Descriptor, faces[j].Descriptor); d < 0.25 {
				t.Errorf("faces %d and %d are %.3f apart", i, j, d)
			}
		}
	}
}

func TestCNNFindsWhatHOGMisses(t *testing.T) {
	// The HOG detector finds nothing in eunseo.jpg (FACTS.md); MMOD does,
	// even at 800 pixels (MMOD costs seconds per megapixel).
	r := open(t, Options{Detector: CNN})
	faces := facesOfScaled(t, r, filepath.Join(testenv.Faces(t), "eunseo.jpg"), 800)
	if len(faces) == 0 {
		t.Fatal("the CNN detector found no face in eunseo.jpg")
	}
}

func TestNoFace(t *testing.T) {
	r := open(t, Options{})
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 3), uint8(y / 2), 128, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	faces, err := r.Faces(buf.Bytes())
	if err != nil || len(faces) != 0 {
		t.Errorf("empty picture: %d faces, %v", len(faces), err)
	}
	if _, err := r.Faces([]byte("not a jpeg")); err == nil || !strings.Contains(err.Error(), "decoding JPEG") {
		t.Errorf("garbage: %v", err)
	}
}

func TestModel(t *testing.T) {
	r := open(t, Options{})
	m := r.Model()
	if m.Dim != vocab.DlibResNetDim || m.Metric != vocab.Euclidean || len(m.Digest) != 64 || !strings.HasPrefix(m.ID(), vocab.DlibResNetName+"@") {
		t.Errorf("model %+v", m)
	}
	if m.Threshold >= 0.6 {
		t.Errorf("threshold %v: dlib's 0.6 merges look-alikes", m.Threshold)
	}
}

func TestMissingAndCorruptModelFiles(t *testing.T) {
	src := testenv.Models(t)
	for _, tc := range []struct {
		name    string
		prepare func(dir string)
		want    string
	}{
		{"missing resnet", func(dir string) { os.Remove(filepath.Join(dir, models.ResNetFile)) },
			models.ResNetFile + " is missing"},
		{"empty detector", func(dir string) {
			// Replace the link, not its target (the real model).
			os.Remove(filepath.Join(dir, models.DetectorFile))
			os.WriteFile(filepath.Join(dir, models.DetectorFile), nil, 0o644)
		},
			models.DetectorFile + " is empty"},
		{"truncated resnet", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(src, models.ResNetFile))
			os.Remove(filepath.Join(dir, models.ResNetFile))
			os.WriteFile(filepath.Join(dir, models.ResNetFile), b[:len(b)/2], 0o644)
		}, "loading dlib models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range models.Files {
				if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			tc.prepare(dir)
			_, err := Open(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Open(src, Options{Detector: "haar"}); err == nil || !strings.Contains(err.Error(), "unknown face detector") {
		t.Errorf("bad detector: %v", err)
	}
}

func TestJitterSteadier(t *testing.T) {
	// Jittered descriptors average 10 perturbed copies: still the same face.
	plain := open(t, Options{})
	jit := open(t, Options{Jitter: 10})
	path := filepath.Join(testenv.Faces(t), "bona2.jpg")
	a, b := facesOf(t, plain, path), facesOf(t, jit, path)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("%d and %d faces", len(a), len(b))
	}
	if d := plain.Model().Distance(a[0].Descriptor, b[0].Descriptor); d > 0.15 || d == 0 || math.IsNaN(d) {
		t.Errorf("jittered descriptor %.3f from the plain one", d)
	}
}
