package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"joren/internal/testenv"
	"joren/vision/models"
	"joren/vocab"
)

// TestMain lets the test binary stand in for joren where a command runs
// joren as a child process (models add-onnx tries networks in one). With
// JOREN_PEAK_FILE, the child writes its peak resident memory there: the
// parent cannot measure it, since a child started by a large process
// inherits that process's peak in its resource usage (Go starts children
// sharing its memory until they exec, and Linux keeps the peak across an
// exec).
func TestMain(m *testing.M) {
	if os.Getenv("JOREN_RUN_MAIN") == "1" {
		code := runMain()
		if f := os.Getenv("JOREN_PEAK_FILE"); f != "" {
			if err := os.WriteFile(f, []byte(strconv.FormatFloat(testenv.PeakRSSMB(), 'f', 1, 64)), 0o644); err != nil {
				os.Exit(125)
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// run executes joren in-process with args and returns its output and exit
// status, as main would.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs(append([]string{"--models", testenv.Models(t)}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	code = exitCode(cmd.Execute(), &errb)
	return out.String(), errb.String(), code
}

func face(t *testing.T, name string) string { return filepath.Join(testenv.Faces(t), name) }

// fixtures writes the bad inputs the commands must survive.
func fixtures(t *testing.T) (notImage, truncated, noFace string) {
	dir := t.TempDir()
	notImage = filepath.Join(dir, "notes.jpg")
	os.WriteFile(notImage, []byte("shopping list: milk, eggs\n"), 0o644)
	b, err := os.ReadFile(face(t, "bona2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	truncated = filepath.Join(dir, "truncated.jpg")
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	noFace = filepath.Join(dir, "wall.png")
	f, _ := os.Create(noFace)
	png.Encode(f, img)
	f.Close()
	return
}

func TestCompare(t *testing.T) {
	out, _, code := run(t, "compare", "--json", face(t, "jimin6.jpg"), face(t, "jimin7.jpg"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var res compareResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !res.Same || res.Distance <= 0 || res.Distance >= res.Threshold || res.A.Faces != 1 || !strings.HasPrefix(res.Model, vocab.DlibResNetName+"+five+mirror@") {
		t.Errorf("jimin6 vs jimin7: %+v", res)
	}
	// pristin.jpg has ten faces; its largest is compared. Jimin and a
	// member of PRISTIN are different people.
	out, _, code = run(t, "compare", face(t, "jimin6.jpg"), face(t, "pristin.jpg"))
	if code != exitOK || !strings.Contains(out, "pristin.jpg: 10 face(s)") || !strings.Contains(out, "different people") {
		t.Errorf("exit %d: %s", code, out)
	}
	// A looser threshold given by the user is used.
	out, _, _ = run(t, "compare", "--threshold", "0.9", face(t, "jimin6.jpg"), face(t, "pristin.jpg"))
	if !strings.Contains(out, "threshold 0.90: same person") {
		t.Errorf("--threshold ignored: %s", out)
	}
}

func TestCompareBadInputs(t *testing.T) {
	notImage, truncated, noFace := fixtures(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no face", []string{"compare", noFace, face(t, "bona.jpg")}, exitFailure, "wall.png: no face found"},
		{"not an image", []string{"compare", face(t, "bona.jpg"), notImage}, exitFailure, "notes.jpg: not an image"},
		{"truncated", []string{"compare", truncated, face(t, "bona.jpg")}, exitFailure, "truncated.jpg: truncated or corrupt JPEG"},
		{"missing file", []string{"compare", "/nonexistent.jpg", face(t, "bona.jpg")}, exitFailure, "/nonexistent.jpg: no such file"},
		{"one argument", []string{"compare", face(t, "bona.jpg")}, exitUsage, "needs two image files"},
		{"bad flag", []string{"compare", "--treshold", "1", "a", "b"}, exitUsage, "unknown flag: --treshold"},
		{"bad detector", []string{"compare", "--detector", "haar", "a", "b"}, exitUsage, `detector "haar": want auto, yunet, hog or mmod`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestEmbedJSON(t *testing.T) {
	notImage, truncated, noFace := fixtures(t)
	files := []string{face(t, "bona.jpg"), notImage, face(t, "pristin.jpg"), truncated, noFace}
	out, stderr, code := run(t, append([]string{"embed", "--json"}, files...)...)
	if code != exitFailure {
		t.Errorf("exit %d with two bad images, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "2 of 5 images failed") {
		t.Errorf("stderr %q", stderr)
	}
	var lines []embedLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l embedLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d images", len(lines), len(files))
	}
	for i, l := range lines {
		if l.File != files[i] {
			t.Errorf("line %d is %s, want %s (input order)", i, l.File, files[i])
		}
	}
	if len(lines[0].Faces) != 1 || len(lines[0].Faces[0].Descriptor) != 128 || lines[0].Faces[0].Box[2] <= lines[0].Faces[0].Box[0] {
		t.Errorf("bona.jpg: %+v", lines[0])
	}
	if !strings.Contains(lines[1].Error, "not an image") || lines[1].Faces != nil {
		t.Errorf("notes.jpg: %+v", lines[1])
	}
	if len(lines[2].Faces) != 10 {
		t.Errorf("pristin.jpg: %d faces", len(lines[2].Faces))
	}
	if !strings.Contains(lines[3].Error, "truncated") {
		t.Errorf("truncated.jpg: %+v", lines[3])
	}
	if lines[4].Error != "" || len(lines[4].Faces) != 0 {
		t.Errorf("wall.png (no face, no error): %+v", lines[4])
	}
	// The raw JSON has exactly the documented keys.
	first := strings.SplitN(out, "\n", 2)[0]
	for _, key := range []string{`"file":`, `"faces":[{"box":[`, `"descriptor":[`} {
		if !strings.Contains(first, key) {
			t.Errorf("first line lacks %s: %.200s", key, first)
		}
	}
}

func TestEmbedText(t *testing.T) {
	out, _, code := run(t, "embed", face(t, "tzuyu.jpg"))
	if code != exitOK || !strings.Contains(out, "tzuyu.jpg: 1 face(s)") || !strings.Contains(out, "descriptor[128]") {
		t.Errorf("exit %d: %s", code, out)
	}
}

func TestClusterFolder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"jimin6.jpg", "jimin7.jpg", "bona.jpg", "bona3.jpg", "pristin.jpg", "tzuyu.jpg"} {
		os.Symlink(face(t, n), filepath.Join(dir, n))
	}
	os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("not an image, not listed"), 0o644)
	plot := filepath.Join(t.TempDir(), "faces.svg")
	// HOG's distances, which the expectations below name (with YuNet's
	// chips tzuyu.jpg joins bona's pair at the default eps).
	out, stderr, code := run(t, "cluster", "--detector", "hog", "--plot", plot, dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 1+2+2+10+1 {
		t.Fatalf("%d rows for 15 faces:\n%s", len(rows), out)
	}
	clusterOf := map[string]string{}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		f := strings.Fields(r)
		name := filepath.Base(f[2])
		if name == "pristin.jpg" {
			// The ten faces of the group photo are ten people.
			if seen[f[0]] {
				t.Errorf("two faces of pristin.jpg in cluster %s", f[0])
			}
			seen[f[0]] = true
			continue
		}
		clusterOf[name] = f[0]
	}
	// dlib puts these two pairs of photos closest (0.34 and 0.41 apart):
	// two clusters of two, listed first.
	if clusterOf["jimin6.jpg"] != clusterOf["jimin7.jpg"] || clusterOf["bona.jpg"] != clusterOf["bona3.jpg"] || clusterOf["bona.jpg"] == clusterOf["jimin6.jpg"] {
		t.Errorf("clusters %v:\n%s", clusterOf, out)
	}
	for _, r := range rows[1:5] {
		if f := strings.Fields(r); f[1] != "2" {
			t.Errorf("row %q: the pairs come first", r)
		}
	}
	if b, err := os.ReadFile(plot); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("plot not written: %v", err)
	}
}

func TestClusterEmbeddings(t *testing.T) {
	dev := testenv.DevDescriptors(t)
	out, _, code := run(t, "cluster", "--json", "--embeddings", dev)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 675 {
		t.Fatalf("%d lines, want 675", len(lines))
	}
	for i, l := range lines {
		var v struct{ Line, Cluster int }
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Line != i+1 || v.Cluster < -1 {
			t.Fatalf("line %d: %s (%v)", i+1, l, err)
		}
	}
	out, _, _ = run(t, "cluster", "--embeddings", dev, "--evaluate", "--method", "dbscan", "--eps", "0.33")
	if !strings.Contains(out, "dbscan: BCubed F1 0.4") {
		t.Errorf("dbscan evaluation: %s", out)
	}
	// Descriptors `joren embed` made with either detector cluster as they
	// are: the file names its model.
	for _, det := range []string{"hog", "yunet"} {
		out, stderr, code := run(t, "embed", "--json", "--detector", det, face(t, "bona.jpg"), face(t, "bona3.jpg"), face(t, "jimin6.jpg"))
		if code != exitOK {
			t.Fatalf("embed --detector %s: exit %d: %s", det, code, stderr)
		}
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var e embedLine
			if err := json.Unmarshal([]byte(l), &e); err != nil || len(e.Faces) == 0 {
				t.Fatalf("embed --detector %s: %q (%v)", det, l, err)
			}
			line, _ := json.Marshal(map[string]any{"model": e.Model, "descriptor": e.Faces[0].Descriptor})
			b.Write(append(line, '\n'))
		}
		file := filepath.Join(t.TempDir(), det+".jsonl")
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, stderr, code := run(t, "cluster", "--embeddings", file); code != exitOK || strings.Count(out, "\n") < 3 {
			t.Errorf("cluster --embeddings of embed --detector %s: exit %d: %s %s", det, code, out, stderr)
		}
	}
}

func TestClusterBadInputs(t *testing.T) {
	empty := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"descriptor\":[0.1,0.2]}\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty folder", []string{"cluster", empty}, exitFailure, "no JPEG or PNG images"},
		{"wrong length", []string{"cluster", "--embeddings", bad}, exitFailure, "bad.jsonl:1: descriptor has 2 values, want 128"},
		{"both inputs", []string{"cluster", "--embeddings", bad, empty}, exitUsage, "not both"},
		{"bad method", []string{"cluster", "--method", "kmeans", empty}, exitUsage, "unknown clustering method"},
		{"unlabelled evaluate", []string{"cluster", "--embeddings", bad, "--evaluate"}, exitFailure, "descriptor has 2 values"},
		{"bad plot", []string{"cluster", "--embeddings", testenv.DevDescriptors(t), "--plot", "x.gif"}, exitUsage, "must end in .png or .svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestModelsVerifyMissing(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs([]string{"--models", dir, "models", "verify"})
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "shape_predictor_5_face_landmarks.dat: missing") {
		t.Errorf("verify of an empty directory: %v", err)
	}
	if !strings.Contains(out.String(), "missing") {
		t.Errorf("status table: %s", out.String())
	}
}

func TestONNXEmbedder(t *testing.T) {
	out, stderr, code := run(t, "compare", "--json", "--embedder", "onnx", face(t, "jimin6.jpg"), face(t, "jimin7.jpg"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res compareResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Model, "onnx:mobilefacenet-test@") || !res.Same || res.Threshold != 0.66 {
		t.Errorf("onnx compare: %+v", res)
	}
	out, _, code = run(t, "embed", "--json", "--embedder", "onnx", face(t, "tzuyu.jpg"))
	var l embedLine
	if err := json.Unmarshal([]byte(out), &l); code != exitOK || err != nil || len(l.Faces) != 1 || len(l.Faces[0].Descriptor) != 512 {
		t.Errorf("onnx embed: exit %d, %v, %+v", code, err, l)
	}
	// Clustering a folder works with either embedder; the network tells
	// Jimin's photos apart from Bona's as dlib does.
	dir := t.TempDir()
	for _, n := range []string{"jimin6.jpg", "jimin7.jpg", "bona.jpg", "bona3.jpg"} {
		os.Symlink(face(t, n), filepath.Join(dir, n))
	}
	out, stderr, code = run(t, "cluster", "--json", "--embedder", "onnx", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	clusters := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct {
			Cluster int
			File    string
		}
		json.Unmarshal([]byte(line), &v)
		clusters[filepath.Base(v.File)] = v.Cluster
	}
	if clusters["jimin6.jpg"] != clusters["jimin7.jpg"] || clusters["bona.jpg"] != clusters["bona3.jpg"] || clusters["bona.jpg"] == clusters["jimin6.jpg"] {
		t.Errorf("onnx clusters %v", clusters)
	}
	if _, stderr, code := run(t, "compare", "--embedder", "onnx", "--onnx-model", "nope", face(t, "bona.jpg"), face(t, "bona3.jpg")); code != exitFailure || !strings.Contains(stderr, `no ONNX model called "nope"`) {
		t.Errorf("unknown network: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "compare", "--embedder", "arcface", "a", "b"); code != exitUsage || !strings.Contains(stderr, "want dlib or onnx") {
		t.Errorf("unknown embedder: exit %d, %s", code, stderr)
	}
}

func TestModelsAddONNX(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(testenv.YuNet(t), filepath.Join(dir, models.YuNetFile)); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(t.TempDir(), "junk.onnx")
	os.WriteFile(junk, []byte("definitely not a network"), 0o644)
	real := filepath.Join(testenv.Models(t), "mobilefacenet-test.onnx")
	photos := testenv.Faces(t)
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		code int
		want string
		out  string
	}{
		{"junk", dir, []string{junk, "--name", "junk", "--threshold", "0.5", "--photos", photos}, exitFailure, "not an ONNX model", ""},
		{"wrong input size", dir, []string{real, "--name", "small", "--threshold", "0.5", "--size", "96", "--photos", photos}, exitFailure, "it wants 112x112 faces, not --size 96", ""},
		{"no threshold", dir, []string{real, "--name", "x", "--photos", photos}, exitFailure, "threshold 0", ""},
		{"wrong checksum", dir, []string{real, "--name", "x", "--threshold", "0.6", "--sha256", strings.Repeat("0", 64), "--photos", photos}, exitFailure, "sha256", ""},
		{"no photos", dir, []string{real, "--name", "x", "--threshold", "0.6"}, exitUsage, "--photos: labelled photos", ""},
		{"photos not a folder", dir, []string{real, "--name", "x", "--threshold", "0.6", "--photos", real}, exitUsage, "not a folder of photos", ""},
		{"no YuNet", t.TempDir(), []string{real, "--name", "x", "--threshold", "0.6", "--photos", photos}, exitFailure, "needs YuNet to find faces", ""},
		{"wrong input scaling", dir, []string{real, "--name", "saturated", "--threshold", "0.6", "--scale", "1", "--mean", "0", "--photos", photos}, exitFailure, "hardly tells these people apart", ""},
		{"ok", dir, []string{real, "--name", "mine", "--threshold", "0.6", "--licence", "test only", "--photos", photos}, exitOK, "", "checked on 17 photos of 11 people"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			cmd := newRootCommand()
			cmd.SetArgs(append([]string{"--models", tc.dir, "models", "add-onnx"}, tc.args...))
			cmd.SetOut(&out)
			cmd.SetErr(&errb)
			code := exitCode(cmd.Execute(), &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) || !strings.Contains(out.String(), tc.out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q and %q", code, out.String(), errb.String(), tc.code, tc.out, tc.want)
			}
		})
	}
	man, err := os.ReadFile(filepath.Join(dir, "MANIFEST"))
	if err != nil || !bytes.Contains(man, []byte(`"name": "mine"`)) || bytes.Contains(man, []byte(`"small"`)) || bytes.Contains(man, []byte("junk")) || bytes.Contains(man, []byte("saturated")) {
		t.Errorf("MANIFEST after registrations: %s (%v)", man, err)
	}
	for _, name := range []string{"saturated.onnx", "small.onnx", "junk.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s left in the model directory (stat: %v)", name, err)
		}
	}
}
