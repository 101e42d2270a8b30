package models_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision/models"
)

var (
	faceAPIOnce  sync.Once
	faceAPIFiles map[string][]byte
	faceAPIErr   error
)

// faceAPIDir is a fresh directory holding face-api's two ResNet files,
// taken out of the pinned npm tarball.
func faceAPIDir(t testing.TB) string {
	t.Helper()
	tgz := faceAPITarball(t)
	faceAPIOnce.Do(func() {
		faceAPIFiles = map[string][]byte{}
		f, err := os.Open(tgz)
		if err != nil {
			faceAPIErr = err
			return
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			faceAPIErr = err
			return
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				faceAPIErr = err
				return
			}
			if h.Name == "package/model/"+models.FaceAPIManifest || h.Name == "package/model/"+models.FaceAPIWeights {
				b, err := io.ReadAll(tr)
				if err != nil {
					faceAPIErr = err
					return
				}
				faceAPIFiles[filepath.Base(h.Name)] = b
			}
		}
		if len(faceAPIFiles) != 2 {
			faceAPIErr = fmt.Errorf("%s holds %d of face-api's two ResNet files", tgz, len(faceAPIFiles))
		}
	})
	if faceAPIErr != nil {
		t.Fatal(faceAPIErr)
	}
	dir := t.TempDir()
	for name, b := range faceAPIFiles {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeWriter stands in for package dlib's ResNet writer (cgo, tested
// there) with the test's own writer of dlib's format, which writes dlib's
// bytes (TestReadResNetInstalled).
type fakeWriter struct {
	mu     sync.Mutex
	calls  int
	layers int
	data   []byte // the last file written
	err    error  // returned instead of writing, if set
}

func (w *fakeWriter) write(path string, layers []models.Layer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	w.layers = len(layers)
	if w.err != nil {
		return w.err
	}
	data, err := encodeResNet(models.ResNetParams{Mean: models.DlibInputMean, Layers: layers}, dlibVariant)
	if err != nil {
		return err
	}
	w.data = data
	return os.WriteFile(path, data, 0o644)
}

// buildSetup is what Build needs: face-api's files, the shared detector
// directory (MMOD and YuNet) and a small stand-in for the 68-point model.
type buildSetup struct {
	opts models.BuildOptions
	w    *fakeWriter
	sp68 []byte
}

func newBuild(t testing.TB) buildSetup {
	t.Helper()
	tmp := t.TempDir()
	sp := filepath.Join(tmp, "shape_predictor_68_face_landmarks.dat")
	sp68 := []byte("a small stand-in for dlib's 68-point model\n")
	if err := os.WriteFile(sp, sp68, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &fakeWriter{}
	return buildSetup{
		opts: models.BuildOptions{
			Dir:              filepath.Join(tmp, "models"),
			FaceAPI:          faceAPIDir(t),
			DetectorDir:      filepath.Join(testenv.Shared(t), "models"),
			ShapePredictor68: sp,
			WriteResNet:      w.write,
		},
		w:    w,
		sp68: sp68,
	}
}

func TestBuild(t *testing.T) {
	b := newBuild(t)
	ctx := context.Background()
	warnings, err := models.Build(ctx, b.opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if !slices.Equal(warnings, []string{models.Licence68Warning}) {
		t.Errorf("warnings %q, want the 68-point licence warning", warnings)
	}
	if b.w.calls != 1 || b.w.layers != 59 {
		t.Errorf("ResNet writer called %d times with %d layers, want once with 59", b.w.calls, b.w.layers)
	}
	dir := b.opts.Dir
	detector := readFile(t, filepath.Join(b.opts.DetectorDir, models.DetectorFile))
	onnx := readFile(t, filepath.Join(dir, models.ResNetONNXFile))
	want := map[string][]byte{
		models.ResNetFile:                   b.w.data,
		models.ResNetONNXFile:               onnx,
		models.DetectorFile:                 detector,
		models.ShapePredictorFile:           b.sp68,
		models.YuNetFile:                    readFile(t, filepath.Join(b.opts.DetectorDir, models.YuNetFile)),
		models.NoticeFile(models.YuNetFile): models.YuNetNotice(),
	}
	if src, err := models.ResNetONNXSource(onnx); err != nil || src != sha(b.w.data) {
		t.Errorf("%s converted from sha256 %q (%v), want the ResNet file's %s", models.ResNetONNXFile, src, err, sha(b.w.data))
	}
	for name, content := range want {
		if got := readFile(t, filepath.Join(dir, name)); !bytes.Equal(got, content) {
			t.Errorf("%s: installed %d bytes, want the %d expected", name, len(got), len(content))
		}
	}
	man, err := models.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != 6 {
		t.Fatalf("MANIFEST has %d entries, want 6: %+v", len(man.Files), man.Files)
	}
	if e, _ := man.Lookup(models.ResNetONNXFile); e.SourceSHA256 != sha(b.w.data) {
		t.Errorf("%s: MANIFEST source sha256 %q, want %s", models.ResNetONNXFile, e.SourceSHA256, sha(b.w.data))
	}
	for _, c := range []struct {
		name    string
		origin  []string
		licence string
		note    string
	}{
		{models.ResNetFile, []string{"@vladmandic/face-api@1.7.15", models.FaceAPI.WeightsSHA256, models.FaceAPI.ManifestSHA256}, "MIT", ""},
		{models.ResNetONNXFile, []string{"converted by joren from " + models.ResNetFile, sha(b.w.data)}, "MIT", ""},
		{models.DetectorFile, []string{filepath.Join(b.opts.DetectorDir, models.DetectorFile), models.OfficialDetectorSHA256}, "CC0", ""},
		{models.ShapePredictorFile, []string{b.opts.ShapePredictor68, "68-point"}, "non-commercial", models.Licence68Warning},
		{models.YuNetFile, []string{filepath.Join(b.opts.DetectorDir, models.YuNetFile), models.YuNetSHA256, "libfacedetection.train", "OpenCV Zoo"}, "Apache-2.0", ""},
		{models.NoticeFile(models.YuNetFile), []string{"licence notice of " + models.YuNetFile}, "Apache-2.0", ""},
	} {
		e, ok := man.Lookup(c.name)
		if !ok {
			t.Errorf("MANIFEST lacks %s", c.name)
			continue
		}
		if e.SHA256 != sha(want[c.name]) || e.Size != int64(len(want[c.name])) {
			t.Errorf("%s: MANIFEST sha256 %s size %d, want %s %d", c.name, e.SHA256, e.Size, sha(want[c.name]), len(want[c.name]))
		}
		for _, o := range c.origin {
			if !strings.Contains(e.Origin, o) {
				t.Errorf("%s: origin %q does not say %q", c.name, e.Origin, o)
			}
		}
		if !strings.Contains(e.Licence, c.licence) || e.Note != c.note {
			t.Errorf("%s: licence %q, note %q; want a licence saying %q and note %q", c.name, e.Licence, e.Note, c.licence, c.note)
		}
		if time.Since(e.Installed) > time.Hour || e.Installed.After(time.Now()) {
			t.Errorf("%s: installed %v", c.name, e.Installed)
		}
	}
	if e, _ := man.Lookup(models.DetectorFile); e.SHA256 != models.OfficialDetectorSHA256 {
		t.Errorf("installed detector sha256 %s, want the official %s", e.SHA256, models.OfficialDetectorSHA256)
	}
	if e, _ := man.Lookup(models.YuNetFile); e.SHA256 != models.YuNetSHA256 || e.Size != models.YuNetSize {
		t.Errorf("installed YuNet sha256 %s size %d, want the pinned %s %d", e.SHA256, e.Size, models.YuNetSHA256, models.YuNetSize)
	}
	noPartFiles(t, dir)
	manBefore := readFile(t, filepath.Join(dir, models.ManifestFile))

	// Again, with face-api's files gone: everything is up to date, nothing
	// is read, converted or rewritten, and the warning is still given.
	again := b.opts
	again.FaceAPI = filepath.Join(t.TempDir(), "gone")
	warnings, err = models.Build(ctx, again)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if b.w.calls != 1 {
		t.Errorf("second Build called the ResNet writer again (%d calls)", b.w.calls)
	}
	if !slices.Equal(warnings, []string{models.Licence68Warning}) {
		t.Errorf("second Build: warnings %q, want the licence warning again", warnings)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.ManifestFile)), manBefore) {
		t.Error("second Build rewrote MANIFEST")
	}

	// A licence notice deleted is installed again, and nothing else.
	if err := os.Remove(filepath.Join(dir, models.NoticeFile(models.YuNetFile))); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Build(ctx, b.opts); err != nil {
		t.Fatalf("Build after deleting the notice: %v", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.NoticeFile(models.YuNetFile))), models.YuNetNotice()) || b.w.calls != 1 {
		t.Errorf("notice not restored, or the ResNet rebuilt (%d writer calls)", b.w.calls)
	}

	// A damaged ResNet file is converted again.
	if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Build(ctx, b.opts); err != nil {
		t.Fatalf("Build after damage: %v", err)
	}
	if b.w.calls != 2 || !bytes.Equal(readFile(t, filepath.Join(dir, models.ResNetFile)), b.w.data) {
		t.Errorf("damaged ResNet: writer calls %d, want 2, and the file rebuilt", b.w.calls)
	}
	// So is a damaged conversion, from the ResNet file in place.
	if err := os.WriteFile(filepath.Join(dir, models.ResNetONNXFile), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Build(ctx, b.opts); err != nil {
		t.Fatalf("Build after damage: %v", err)
	}
	if b.w.calls != 2 || !bytes.Equal(readFile(t, filepath.Join(dir, models.ResNetONNXFile)), onnx) {
		t.Errorf("damaged conversion: writer calls %d, want still 2, and the same file converted again", b.w.calls)
	}
	noPartFiles(t, dir)
}

// TestConvertResNet converts whatever ResNet file is installed (one
// fetched from dlib.net is not the one Build writes) and converts again
// when it changes.
func TestConvertResNet(t *testing.T) {
	dir := t.TempDir()
	first := syntheticDat(t)
	if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), first, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := models.ConvertResNet(dir, nil); err != nil {
		t.Fatal(err)
	}
	a := readFile(t, filepath.Join(dir, models.ResNetONNXFile))
	want, err := models.ResNetONNX(syntheticResNet(1), sha(first))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, want) {
		t.Error("the converted file is not ResNetONNX of the installed weights")
	}
	man, _ := models.ReadManifest(dir)
	if e, ok := man.Lookup(models.ResNetONNXFile); !ok || e.SHA256 != sha(a) || e.SourceSHA256 != sha(first) {
		t.Errorf("MANIFEST entry %+v", e)
	}

	other, err := encodeResNet(syntheticResNet(5), dlibVariant)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), other, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := models.ConvertResNet(dir, nil); err != nil {
		t.Fatal(err)
	}
	b := readFile(t, filepath.Join(dir, models.ResNetONNXFile))
	if src, _ := models.ResNetONNXSource(b); bytes.Equal(a, b) || src != sha(other) {
		t.Errorf("after the ResNet file changed: converted from %s, want %s", src, sha(other))
	}

	// A file the reader refuses is named, and the conversion before it
	// stays.
	if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), other[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	err = models.ConvertResNet(dir, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, models.ResNetFile)) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated ResNet: %v", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.ResNetONNXFile)), b) {
		t.Error("a failed conversion changed the converted file")
	}
	noPartFiles(t, dir)
}

func TestBuildFromTarball(t *testing.T) {
	b := newBuild(t)
	b.opts.FaceAPI = faceAPITarball(t)
	if _, err := models.Build(context.Background(), b.opts); err != nil {
		t.Fatalf("Build from the npm tarball: %v", err)
	}
	if b.w.calls != 1 || b.w.layers != 59 {
		t.Errorf("ResNet writer called %d times with %d layers, want once with 59", b.w.calls, b.w.layers)
	}
}

// copyDetectorDir copies the shared detector directory, then lets edit
// change the copy.
func copyDetectorDir(t testing.TB, edit func(dir string)) string {
	t.Helper()
	src := filepath.Join(testenv.Shared(t), "models")
	dir := t.TempDir()
	for _, name := range []string{models.DetectorFile, models.YuNetFile, "SHA256SUMS"} {
		if err := os.WriteFile(filepath.Join(dir, name), readFile(t, filepath.Join(src, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(dir)
	}
	return dir
}

func flipByte(t testing.TB, p string, at int) {
	t.Helper()
	b := readFile(t, p)
	b[at] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeSums(t testing.TB, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildDetectorSums(t *testing.T) {
	official := models.OfficialDetectorSHA256
	for _, c := range []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string // all in the error; none means Build succeeds
	}{
		{"binary-mode line, upper case", func(t *testing.T, dir string) {
			writeSums(t, dir, "# checksums\n"+strings.ToUpper(official)+" *"+models.DetectorFile+"\n"+models.YuNetSHA256+"  "+models.YuNetFile+"\n")
		}, nil},
		{"one byte altered", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, models.DetectorFile), 1000)
		}, []string{models.DetectorFile, "SHA256SUMS", "lists " + official, "corrupt copy"}},
		{"altered and listed so", func(t *testing.T, dir string) {
			p := filepath.Join(dir, models.DetectorFile)
			flipByte(t, p, 5)
			writeSums(t, dir, sha(readFile(t, p))+"  "+models.DetectorFile+"\n")
		}, []string{models.DetectorFile, "not the official file's " + official}},
		{"not listed", func(t *testing.T, dir string) {
			writeSums(t, dir, official+"  other.dat\n"+models.YuNetSHA256+"  "+models.YuNetFile+"\n")
		}, []string{"does not list " + models.DetectorFile}},
		{"no SHA256SUMS", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "SHA256SUMS"))
		}, []string{"SHA256SUMS", "no such file"}},
		{"no detector", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.DetectorFile))
		}, []string{models.DetectorFile, "no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBuild(t)
			b.opts.DetectorDir = copyDetectorDir(t, func(dir string) { c.edit(t, dir) })
			_, err := models.Build(context.Background(), b.opts)
			installed := filepath.Join(b.opts.Dir, models.DetectorFile)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if sha(readFile(t, installed)) != official {
					t.Error("installed detector is not the official file")
				}
				return
			}
			if err == nil {
				t.Fatal("Build accepted the detector directory")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, err := os.Stat(installed); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused detector was installed (stat: %v)", err)
			}
			man, _ := models.ReadManifest(b.opts.Dir)
			if _, ok := man.Lookup(models.DetectorFile); ok {
				t.Error("MANIFEST lists a refused detector")
			}
			noPartFiles(t, b.opts.Dir)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	writeFails := errors.New("disk full")
	for _, c := range []struct {
		name   string
		edit   func(t *testing.T, b *buildSetup)
		want   []string
		is     error
		writer int // calls of the ResNet writer
	}{
		{"missing detector directory", func(t *testing.T, b *buildSetup) {
			b.opts.DetectorDir = filepath.Join(t.TempDir(), "nowhere")
		}, []string{filepath.Join("nowhere", "SHA256SUMS"), "no such file"}, nil, 1},
		{"no detector directory given", func(t *testing.T, b *buildSetup) {
			b.opts.DetectorDir = ""
		}, []string{"no detector directory"}, nil, 0},
		{"face-api manifest with the wrong checksum", func(t *testing.T, b *buildSetup) {
			flipByte(t, filepath.Join(b.opts.FaceAPI, models.FaceAPIManifest), 10)
		}, []string{models.FaceAPIManifest, models.FaceAPI.ManifestSHA256, "not @vladmandic/face-api@1.7.15"}, nil, 0},
		{"face-api weights with the wrong checksum", func(t *testing.T, b *buildSetup) {
			flipByte(t, filepath.Join(b.opts.FaceAPI, models.FaceAPIWeights), 1<<20)
		}, []string{models.FaceAPIWeights, models.FaceAPI.WeightsSHA256, "not @vladmandic/face-api@1.7.15"}, nil, 0},
		{"face-api weights missing", func(t *testing.T, b *buildSetup) {
			os.Remove(filepath.Join(b.opts.FaceAPI, models.FaceAPIWeights))
		}, []string{models.FaceAPIWeights}, os.ErrNotExist, 0},
		{"face-api directory missing", func(t *testing.T, b *buildSetup) {
			b.opts.FaceAPI = filepath.Join(t.TempDir(), "nowhere")
		}, []string{"face-api", "nowhere"}, os.ErrNotExist, 0},
		{"68-point model missing", func(t *testing.T, b *buildSetup) {
			b.opts.ShapePredictor68 = filepath.Join(t.TempDir(), "sp68.dat")
		}, []string{"68-point", "sp68.dat", "libdlib-data"}, os.ErrNotExist, 0},
		{"no ResNet writer", func(t *testing.T, b *buildSetup) {
			b.opts.WriteResNet = nil
		}, []string{"ResNet writer"}, nil, 0},
		{"ResNet writer fails", func(t *testing.T, b *buildSetup) {
			b.w.err = writeFails
		}, []string{"disk full"}, writeFails, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBuild(t)
			c.edit(t, &b)
			warnings, err := models.Build(context.Background(), b.opts)
			if err == nil {
				t.Fatalf("Build succeeded (warnings %q)", warnings)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if b.w.calls != c.writer {
				t.Errorf("ResNet writer called %d times, want %d", b.w.calls, c.writer)
			}
			if c.writer == 0 || b.w.err != nil {
				if _, err := os.Stat(filepath.Join(b.opts.Dir, models.ResNetFile)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("ResNet installed although Build failed before it was written (stat: %v)", err)
				}
			}
			if _, err := os.Stat(b.opts.Dir); err == nil {
				noPartFiles(t, b.opts.Dir)
			}
		})
	}
}

// builtDir is a complete model directory made by Build.
func builtDir(t testing.TB) string {
	t.Helper()
	b := newBuild(t)
	if _, err := models.Build(context.Background(), b.opts); err != nil {
		t.Fatal(err)
	}
	return b.opts.Dir
}

func TestVerify(t *testing.T) {
	t.Run("complete", func(t *testing.T) {
		dir := builtDir(t)
		var loaded []string
		status, err := models.Verify(dir, func(d string) error {
			loaded = append(loaded, d)
			return nil
		})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !slices.Equal(loaded, []string{dir}) {
			t.Errorf("load called with %q, want once with %q", loaded, dir)
		}
		// dlib's files, the converted ResNet, then the others MANIFEST lists.
		names := append(slices.Clone(models.Files), models.ResNetONNXFile, models.YuNetFile, models.NoticeFile(models.YuNetFile))
		if len(status) != len(names) {
			t.Fatalf("%d statuses, want %d", len(status), len(names))
		}
		man, _ := models.ReadManifest(dir)
		for i, st := range status {
			e, _ := man.Lookup(names[i])
			if st.Name != names[i] || st.Problem != "" || st.SHA256 != e.SHA256 || st.Origin != e.Origin || st.Origin == "" {
				t.Errorf("status %d: %+v, want %s without a problem and its MANIFEST entry", i, st, names[i])
			}
		}
		if _, err := models.Verify(dir, nil); err != nil {
			t.Errorf("Verify without a load function: %v", err)
		}
	})

	t.Run("load error", func(t *testing.T) {
		dir := builtDir(t)
		bad := errors.New("dlib: serialization error")
		_, err := models.Verify(dir, func(string) error { return bad })
		if !errors.Is(err, bad) || !strings.Contains(err.Error(), "loading "+dir) {
			t.Errorf("Verify error = %v, want the load error, saying it was loading %s", err, dir)
		}
	})

	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		// problems by file; files not named must have none
		problems map[string]string
	}{
		{"missing file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.ShapePredictorFile))
		}, map[string]string{models.ShapePredictorFile: "missing"}},
		{"file changed after install", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, models.DetectorFile), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0})
			f.Close()
		}, map[string]string{models.DetectorFile: "(file changed or corrupt)"}},
		{"file not in MANIFEST", func(t *testing.T, dir string) {
			man, _ := models.ReadManifest(dir)
			man.Files = slices.DeleteFunc(man.Files, func(e models.Entry) bool { return e.Name == models.ResNetFile })
			writeManifest(t, dir, man)
		}, map[string]string{models.ResNetFile: "not listed in MANIFEST"}},
		{"no MANIFEST", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.ManifestFile))
		}, map[string]string{
			models.ResNetFile:         "not listed in MANIFEST",
			models.ResNetONNXFile:     "not listed in MANIFEST",
			models.DetectorFile:       "not listed in MANIFEST",
			models.ShapePredictorFile: "not listed in MANIFEST",
		}},
		{"licence notice removed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.NoticeFile(models.YuNetFile)))
		}, map[string]string{models.NoticeFile(models.YuNetFile): "missing"}},
		{"YuNet replaced", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, models.YuNetFile), []byte("other"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{models.YuNetFile: "(file changed or corrupt)"}},
		{"conversion of another ResNet", func(t *testing.T, dir string) {
			man, _ := models.ReadManifest(dir)
			for i := range man.Files {
				if man.Files[i].Name == models.ResNetONNXFile {
					man.Files[i].SourceSHA256 = strings.Repeat("ab", 32)
				}
			}
			writeManifest(t, dir, man)
		}, map[string]string{models.ResNetONNXFile: "converted from a ResNet file with sha256 abab"}},
		{"conversion missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.ResNetONNXFile))
		}, map[string]string{models.ResNetONNXFile: "missing"}},
		{"two problems", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.DetectorFile))
			if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), []byte("other"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{
			models.DetectorFile: "missing",
			models.ResNetFile:   "sha256 " + sha([]byte("other")),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := builtDir(t)
			c.damage(t, dir)
			loads := 0
			status, err := models.Verify(dir, func(string) error { loads++; return nil })
			if err == nil {
				t.Fatal("Verify passed a broken directory")
			}
			if loads != 0 {
				t.Error("Verify loaded a directory whose files are wrong")
			}
			if len(status) < len(models.Files)+1 {
				t.Fatalf("%d statuses, want at least dlib's %d and the converted ResNet", len(status), len(models.Files))
			}
			for _, st := range status {
				want, bad := c.problems[st.Name]
				switch {
				case bad && !strings.Contains(st.Problem, want):
					t.Errorf("%s: problem %q, want one saying %q", st.Name, st.Problem, want)
				case !bad && st.Problem != "":
					t.Errorf("%s: problem %q, want none", st.Name, st.Problem)
				}
				p := filepath.Join(dir, st.Name)
				if bad && !strings.Contains(err.Error(), p+": "+st.Problem) {
					t.Errorf("error %q does not name %s and its problem", err, p)
				}
				if !bad && strings.Contains(err.Error(), p+": ") {
					t.Errorf("error %q names %s, which is fine", err, p)
				}
			}
		})
	}

	t.Run("not listed reports the file's checksum", func(t *testing.T) {
		dir := builtDir(t)
		os.Remove(filepath.Join(dir, models.ManifestFile))
		status, _ := models.Verify(dir, nil)
		for _, st := range status {
			b := readFile(t, filepath.Join(dir, st.Name))
			if st.SHA256 != sha(b) || st.Size != int64(len(b)) {
				t.Errorf("%s: status sha256 %s size %d, want %s %d", st.Name, st.SHA256, st.Size, sha(b), len(b))
			}
		}
	})

	t.Run("corrupt MANIFEST", func(t *testing.T) {
		dir := builtDir(t)
		if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte(`{"files": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		status, err := models.Verify(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "parsing model manifest") || status != nil {
			t.Errorf("Verify = %v, %v; want no statuses and an error about parsing MANIFEST", status, err)
		}
	})
}

func writeManifest(t testing.TB, dir string, m models.Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestManifest(t *testing.T) {
	dir := t.TempDir()
	m, err := models.ReadManifest(dir)
	if err != nil || len(m.Files) != 0 {
		t.Fatalf("ReadManifest of a directory without MANIFEST = %+v, %v; want empty, no error", m, err)
	}
	m.Set(models.Entry{Name: "b", SHA256: "1"})
	m.Set(models.Entry{Name: "c", SHA256: "2"})
	m.Set(models.Entry{Name: "a", SHA256: "3"})
	m.Set(models.Entry{Name: "b", SHA256: "4", Note: "replaced"})
	var names []string
	for _, e := range m.Files {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("entries %v, want a, b, c sorted and b once", names)
	}
	if e, ok := m.Lookup("b"); !ok || e.SHA256 != "4" || e.Note != "replaced" {
		t.Errorf("Lookup(b) = %+v, %v; want the replacing entry", e, ok)
	}
	if _, ok := m.Lookup("d"); ok {
		t.Error("Lookup(d) found an entry")
	}
	writeManifest(t, dir, m)
	back, err := models.ReadManifest(dir)
	if err != nil || len(back.Files) != 3 {
		t.Fatalf("ReadManifest = %+v, %v", back, err)
	}
}

// TestBuildYuNet: YuNet is copied only when it is the pinned file, listed
// as such by its directory's SHA256SUMS; a refused copy installs nothing.
func TestBuildYuNet(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string
	}{
		{"one byte altered", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, models.YuNetFile), 5000)
		}, []string{"YuNet face detector", models.YuNetFile, "corrupt copy"}},
		{"another YuNet, listed so", func(t *testing.T, dir string) {
			p := filepath.Join(dir, models.YuNetFile)
			flipByte(t, p, 5000)
			writeSums(t, dir, models.OfficialDetectorSHA256+"  "+models.DetectorFile+"\n"+sha(readFile(t, p))+"  "+models.YuNetFile+"\n")
		}, []string{"not the official file's " + models.YuNetSHA256}},
		{"not listed", func(t *testing.T, dir string) {
			writeSums(t, dir, models.OfficialDetectorSHA256+"  "+models.DetectorFile+"\n")
		}, []string{"does not list " + models.YuNetFile}},
		{"missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, models.YuNetFile))
		}, []string{models.YuNetFile, "no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBuild(t)
			b.opts.DetectorDir = copyDetectorDir(t, func(dir string) { c.edit(t, dir) })
			_, err := models.Build(context.Background(), b.opts)
			if err == nil {
				t.Fatal("Build accepted the YuNet file")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, name := range []string{models.YuNetFile, models.NoticeFile(models.YuNetFile)} {
				if _, err := os.Stat(filepath.Join(b.opts.Dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s installed although refused (stat: %v)", name, err)
				}
			}
			noPartFiles(t, b.opts.Dir)
		})
	}
}

// The notice shipped with YuNet is libfacedetection.train's LICENSE
// file as published (its sha256 at commit 7985249d of that repository):
// its copyright lines and the Apache License 2.0.
func TestYuNetNotice(t *testing.T) {
	n := models.YuNetNotice()
	if got := sha(n); got != "d096f0e4f790316e1df89675682a51c68ca64745a611689ccd37bd246835440e" {
		t.Errorf("notice sha256 %s: not libfacedetection.train's LICENSE", got)
	}
	for _, want := range []string{"Copyright (c) 2022 Shiqi Yu", "Apache License", "Version 2.0, January 2004"} {
		if !bytes.Contains(n, []byte(want)) {
			t.Errorf("notice lacks %q", want)
		}
	}
}
