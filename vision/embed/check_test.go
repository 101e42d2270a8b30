package embed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"joren/internal/testenv"
	"joren/vision/internal/matleak"
	"joren/vision/models"
	"joren/vision/onnx"
)

func photos(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.Faces(t), "*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared photos: %v", err)
	}
	return files
}

// TestCheckNetwork: the test network with its settings passes the check
// on the shared photos; fed saturated pixels, with a threshold that calls
// everyone the same, or given too few photos, it fails with a reason.
func TestCheckNetwork(t *testing.T) {
	matleak.Check(t)
	faces := checkFaces(t)
	path := filepath.Join(testenv.Models(t), models.TestONNX.Settings.File())
	good := models.TestONNX.Settings
	for _, tc := range []struct {
		name  string
		edit  func(*models.ONNX)
		faces func([]CheckFace) []CheckFace
		want  string
	}{
		{"right settings", func(*models.ONNX) {}, nil, ""},
		{"saturated input", func(s *models.ONNX) { s.Scale, s.Mean = 1, 0 }, nil, "hardly tells these people apart"},
		{"threshold too high", func(s *models.ONNX) { s.Threshold = 1.5 }, nil, "--threshold 1.500 is above the mean distance between different people"},
		{"one person", func(*models.ONNX) {}, func(f []CheckFace) []CheckFace { return grep(f, "jimin") }, "needs at least 4 labelled photos"},
		{"no photos", func(*models.ONNX) {}, func([]CheckFace) []CheckFace { return nil }, "found 0 of 0 people"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			net, err := onnx.Open(path, s)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			fs := faces
			if tc.faces != nil {
				fs = tc.faces(fs)
			}
			c, err := CheckNetwork(net, fs)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Dim != 512 || c.Photos != 17 || c.People != 11 || c.Repeat >= c.Same || c.Different < MinSeparation*c.Same || c.AUC < 0.9 {
					t.Errorf("report %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("report %+v, error %v; want one containing %q", c, err, tc.want)
			}
		})
	}
}

func grep(faces []CheckFace, person string) []CheckFace {
	var out []CheckFace
	for _, f := range faces {
		if f.Person == person {
			out = append(out, f)
		}
	}
	return out
}

var (
	checkOnce  sync.Once
	checkSet   []CheckFace
	checkError error
)

// checkFaces are the shared photos' faces, found once for the package's
// tests.
func checkFaces(t testing.TB) []CheckFace {
	t.Helper()
	checkOnce.Do(func() {
		det := detector(t)
		defer det.Close()
		checkSet, checkError = CheckFaces(det, photos(t))
	})
	if checkError != nil {
		t.Fatal(checkError)
	}
	return checkSet
}

func TestCheckFaces(t *testing.T) {
	faces := checkFaces(t)
	people := map[string]int{}
	for _, f := range faces {
		people[f.Person]++
		if f.Crop.Check() != nil || f.Small.Check() != nil || f.Small.Cols*4 > f.Crop.Cols*3+4 {
			t.Errorf("%s: crop %dx%d, small %dx%d", f.Person, f.Crop.Cols, f.Crop.Rows, f.Small.Cols, f.Small.Rows)
		}
	}
	// The 19 single-person photos but the two profiles; pristin.jpg is a
	// group photo.
	if len(faces) != 17 || len(people) != 11 || people["bona"] != 4 {
		t.Errorf("%d faces of %v", len(faces), people)
	}
	det := detector(t)
	defer det.Close()
	if _, err := CheckFaces(det, []string{filepath.Join(t.TempDir(), "gone.jpg")}); err == nil || !strings.Contains(err.Error(), "gone.jpg") {
		t.Errorf("missing photo: %v", err)
	}
}

// TestFetchONNX is `joren models fetch sface`'s path against a local
// server serving the test network (SFace cannot be downloaded here): the
// file is downloaded, its pinned sha256 checked, the network checked on
// the shared photos and registered with its licence notice; a file with
// another sha256, or one that fails the check, leaves nothing behind.
func TestFetchONNX(t *testing.T) {
	matleak.Check(t)
	net, err := os.ReadFile(filepath.Join(testenv.Models(t), models.TestONNX.Settings.File()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/net.onnx":
			w.Write(net)
		case "/other.onnx":
			w.Write(net[:len(net)-10])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	faces := checkFaces(t)
	probe := func(path string, s models.ONNX) error {
		n, err := onnx.Open(path, s)
		if err != nil {
			return err
		}
		defer n.Close()
		_, err = CheckNetwork(n, faces)
		return err
	}
	settings := models.TestONNX.Settings
	settings.Name = "fetched"
	notice := []byte("test licence notice\n")
	remote := func(urls ...string) models.Remote {
		return models.Remote{Name: "net.onnx", URL: urls[0], Mirrors: urls[1:], Raw: true, SHA256: models.TestONNX.FileSHA256, Licence: "test licence", Notice: notice}
	}
	dir := t.TempDir()
	o := models.FetchONNXOptions{Dir: dir, Remote: remote(srv.URL+"/missing.onnx", srv.URL+"/net.onnx"), Settings: settings, Attempts: 1, Probe: probe}
	if err := models.FetchONNX(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	man, err := models.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := man.Lookup(settings.File())
	if !ok || e.SHA256 != models.TestONNX.FileSHA256 || e.ONNX == nil || *e.ONNX != settings || !strings.Contains(e.Origin, srv.URL+"/net.onnx") || e.Licence != "test licence" {
		t.Errorf("MANIFEST entry %+v", e)
	}
	if got, err := os.ReadFile(filepath.Join(dir, models.NoticeFile(settings.File()))); err != nil || string(got) != string(notice) {
		t.Errorf("licence notice %q, %v", got, err)
	}
	if s, err := models.FindONNX(dir, "fetched"); err != nil || s != settings {
		t.Errorf("FindONNX: %+v, %v", s, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // MANIFEST, the network, its notice
		t.Errorf("%d files in the model directory, want 3: %v", len(entries), entries)
	}

	for _, tc := range []struct {
		name string
		o    models.FetchONNXOptions
		want string
	}{
		{"another file", models.FetchONNXOptions{Remote: remote(srv.URL + "/other.onnx")}, "checksum mismatch"},
		{"fails the check", models.FetchONNXOptions{Remote: remote(srv.URL + "/net.onnx"), Settings: func() models.ONNX {
			s := settings
			s.Scale, s.Mean = 1, 0
			return s
		}()}, "hardly tells these people apart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := tc.o
			o.Dir, o.Attempts, o.Probe = dir, 1, probe
			if o.Settings.Name == "" {
				o.Settings = settings
			}
			err := models.FetchONNX(context.Background(), o)
			var ce *models.ChecksumError
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.want == "checksum mismatch" && !errors.As(err, &ce)) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != models.ManifestFile {
					t.Errorf("%s left in the model directory", e.Name())
				}
			}
			if _, err := models.FindONNX(dir, settings.Name); err == nil {
				t.Error("the network was registered")
			}
		})
	}
}
