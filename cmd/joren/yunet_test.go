package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vision/models"
	"joren/vocab"
)

// yunetModels is a model directory with YuNet: the test model directory
// if `make models` put it there, else a directory of links to it and to
// the shared YuNet file.
func yunetModels(t *testing.T) string {
	t.Helper()
	dir := testenv.Models(t)
	if _, err := os.Stat(filepath.Join(dir, models.YuNetFile)); err == nil {
		return dir
	}
	links := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(links, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(testenv.YuNet(t), filepath.Join(links, models.YuNetFile)); err != nil {
		t.Fatal(err)
	}
	return links
}

// runIn executes joren in-process with the model directory dir.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs(append([]string{"--models", dir}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	code = exitCode(cmd.Execute(), &errb)
	return out.String(), errb.String(), code
}

// TestEvaluateYuNet is the measurement of docs/embedders.md through
// joren's own path: with YuNet every single-person photo has its face
// (two turned away are left out as the door's quality gate leaves them
// out), the test network scores at least what it scores with dlib's HOG
// and landmarks (0.966), dlib's ResNet on the five-point chip at least
// its 0.737, and, mirrored (the default), at least 0.78.
func TestEvaluateYuNet(t *testing.T) {
	dir := yunetModels(t)
	rows := func(args ...string) map[string]evaluateRow {
		t.Helper()
		out, stderr, code := runIn(t, dir, append([]string{"evaluate", "--json", "--detector", "yunet"}, append(args, testenv.Faces(t))...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got := map[string]evaluateRow{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var r evaluateRow
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			got[r.Embedder] = r
			t.Logf("%s %s: %d photos, %d missed, %d turned, ROC AUC %.3f, rank-1 %.3f", r.Embedder, r.Model, r.Photos, r.Missed, r.Turned, r.AUC, r.Rank1)
		}
		return got
	}
	// By default (--mirror auto) dlib's descriptors are mirrored, the
	// network's not.
	got := rows()
	for name, min := range map[string]float64{"dlib": 0.78, "onnx": 0.966} {
		r := got[name]
		if r.Photos != 17 || r.Missed != 0 || r.Turned != 2 || r.People != 11 || r.AUC < min {
			t.Errorf("%s: %+v; want 17 photos, none missed, 2 turned, ROC AUC at least %.3f", name, r, min)
		}
	}
	if m := got["dlib"].Model; !strings.HasPrefix(m, vocab.DlibResNetName+"+five+mirror@") {
		t.Errorf("dlib's model with YuNet is %s", m)
	}
	if m := got["onnx"].Model; !strings.HasPrefix(m, "onnx:"+models.TestONNX.Settings.Name+"@") {
		t.Errorf("the network's model with YuNet is %s", m)
	}
	plain := rows("--embedders", "dlib", "--mirror", "off")["dlib"]
	if plain.AUC < 0.737 || !strings.HasPrefix(plain.Model, vocab.DlibResNetName+"+five@") {
		t.Errorf("dlib without mirroring: %+v; want ROC AUC at least 0.737", plain)
	}
}

func TestYuNetCommands(t *testing.T) {
	dir := yunetModels(t)
	out, stderr, code := runIn(t, dir, "compare", "--json", "--detector", "yunet", face(t, "jimin6.jpg"), face(t, "jimin7.jpg"))
	var res compareResult
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || !res.Same || res.A.Faces != 1 {
		t.Errorf("compare with YuNet: exit %d, %s, %+v", code, stderr, res)
	}
	out, _, code = runIn(t, dir, "embed", "--json", "--detector", "yunet", "--embedder", "onnx", face(t, "pristin.jpg"))
	var l embedLine
	if err := json.Unmarshal([]byte(out), &l); code != exitOK || err != nil || len(l.Faces) != 10 || len(l.Faces[0].Descriptor) != 512 {
		t.Errorf("embed pristin.jpg with YuNet: exit %d, %v, %d faces", code, err, len(l.Faces))
	}
	noYuNet := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		code int
		want string
	}{
		{"mirror without YuNet", dir, []string{"compare", "--detector", "hog", "--mirror", "on", "a.jpg", "b.jpg"}, exitUsage, "--mirror works with --detector yunet only"},
		{"bad mirror", dir, []string{"compare", "--detector", "yunet", "--mirror=sometimes", "a.jpg", "b.jpg"}, exitUsage, `--mirror "sometimes": want on, off or auto`},
		{"jitter with YuNet", dir, []string{"compare", "--detector", "yunet", "--jitter", "3", "a.jpg", "b.jpg"}, exitUsage, "--jitter works with --detector hog or cnn only"},
		{"unknown detector", dir, []string{"compare", "--detector", "haar", "a.jpg", "b.jpg"}, exitUsage, `want auto, yunet, hog or mmod`},
		{"auto without YuNet", noYuNet, []string{"compare", "--mirror", "on", "a.jpg", "b.jpg"}, exitUsage, "--mirror works with --detector yunet only"},
		{"no YuNet file", noYuNet, []string{"compare", "--detector", "yunet", "a.jpg", "b.jpg"}, exitFailure, models.YuNetFile + " is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runIn(t, tc.dir, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestModelsFetchYuNet: `models fetch yunet` from a local server standing
// in for OpenCV Zoo (the first location fails, the second serves the
// file), then `models verify` loads it; `models fetch sface` refuses a
// file that is not the pinned SFace, and needs --photos.
func TestModelsFetchYuNet(t *testing.T) {
	yn, err := os.ReadFile(testenv.YuNet(t))
	if err != nil {
		t.Fatal(err)
	}
	net, err := os.ReadFile(filepath.Join(testenv.Models(t), models.TestONNX.Settings.File()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/zoo/" + models.YuNetFile:
			http.Error(w, "gone", http.StatusNotFound)
		case "/train/yunet_s_640_640.onnx":
			w.Write(yn)
		case "/sface.onnx":
			w.Write(net)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	out, stderr, code := runIn(t, dir, "models", "fetch", "yunet", "--yunet-url", srv.URL+"/zoo/"+models.YuNetFile+","+srv.URL+"/train/yunet_s_640_640.onnx")
	if code != exitOK || !strings.Contains(out, "1 model file(s)") {
		t.Fatalf("fetch yunet: exit %d, %s%s", code, out, stderr)
	}
	man, err := models.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := man.Lookup(models.YuNetFile)
	if !ok || e.SHA256 != models.YuNetSHA256 || !strings.Contains(e.Origin, "/train/yunet_s_640_640.onnx") || !strings.Contains(e.Licence, "Apache-2.0") {
		t.Errorf("YuNet's MANIFEST entry %+v", e)
	}
	if n, err := os.ReadFile(filepath.Join(dir, models.NoticeFile(models.YuNetFile))); err != nil || !bytes.Equal(n, models.YuNetNotice()) {
		t.Errorf("licence notice: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not SFace", []string{"models", "fetch", "sface", "--sface-url", srv.URL + "/sface.onnx", "--photos", testenv.Faces(t)}, exitFailure, "checksum mismatch"},
		{"no photos", []string{"models", "fetch", "sface"}, exitUsage, "--photos"},
		{"unknown", []string{"models", "fetch", "arcface"}, exitUsage, `fetch "arcface": want dlib, yunet or sface`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runIn(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	if _, err := models.FindONNX(dir, models.SFace.Settings.Name); err == nil {
		t.Error("a file that is not SFace was registered as SFace")
	}
}

// TestAutoFollowsTheStore: --detector auto (the default) describes a photo
// as the store's people were described: with HOG for a store from before
// YuNet, which refuses YuNet's descriptors, with YuNet for a new store.
func TestAutoFollowsTheStore(t *testing.T) {
	old := filepath.Join(t.TempDir(), "store")
	if out, stderr, code := run(t, "staff", "add", "Bona", face(t, "bona.jpg"), "--store", old, "--detector", "hog"); code != exitOK {
		t.Fatalf("a store of HOG's descriptors: exit %d: %s %s", code, out, stderr)
	}
	if out, stderr, code := run(t, "staff", "add", "Jimin", face(t, "jimin6.jpg"), "--store", old); code != exitOK {
		t.Errorf("auto into HOG's store: exit %d: %s %s", code, out, stderr)
	}
	if m, err := store.ReadModel(old); err != nil || m.Name != vocab.DlibResNetName {
		t.Errorf("the old store's model: %s, %v", m.ID(), err)
	}
	_, stderr, code := run(t, "staff", "add", "Tzuyu", face(t, "tzuyu.jpg"), "--store", old, "--detector", "yunet")
	if code != exitFailure || !strings.Contains(stderr, "holds descriptors of model "+vocab.DlibResNetName+"@") {
		t.Errorf("yunet into HOG's store: exit %d: %s", code, stderr)
	}
	fresh := filepath.Join(t.TempDir(), "store")
	if out, stderr, code := run(t, "staff", "add", "Bona", face(t, "bona.jpg"), "--store", fresh); code != exitOK {
		t.Fatalf("a new store: exit %d: %s %s", code, out, stderr)
	}
	if m, err := store.ReadModel(fresh); err != nil || m.Name != vocab.DlibResNetName+"+five+mirror" {
		t.Errorf("a new store's model: %s, %v", m.ID(), err)
	}
}
