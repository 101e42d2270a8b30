package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/doorsim/truth"
	"joren/vocab"
)

// simVideo makes a short synthesised door video (five passages of four
// people, two of them together) in a folder removed after t, with
// `joren sim video` itself.
func simVideo(t *testing.T) (string, truth.Truth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "door.avi")
	out, stderr, code := run(t, "sim", "video", "-o", path, "--images", testFaces(t), "--seed", "7", "--people", "4", "--size", "640x480")
	if code != exitOK || !strings.Contains(out, "passages of 4 people") {
		t.Fatalf("sim video: exit %d: %s %s", code, out, stderr)
	}
	tr, err := truth.Read(truth.Path(path))
	if err != nil {
		t.Fatal(err)
	}
	return path, tr
}

func testFaces(t *testing.T) string { return filepath.Dir(face(t, "bona.jpg")) }

// TestWatch makes one door video with `joren sim video` and watches it
// in every way.
func TestWatch(t *testing.T) {
	path, tr := simVideo(t)
	t.Run("sim video", func(t *testing.T) { testSimVideo(t, path, tr) })
	t.Run("json", func(t *testing.T) { testWatchJSON(t, path, tr) })
	t.Run("text", func(t *testing.T) { testWatchText(t, path, tr) })
	t.Run("privacy", func(t *testing.T) { testWatchPrivacy(t, path) })
	t.Run("folder", func(t *testing.T) { testWatchFolder(t, path, tr) })
	t.Run("bad sources", func(t *testing.T) { testWatchBadSources(t, path) })
}

func testSimVideo(t *testing.T, path string, tr truth.Truth) {
	st, err := os.Stat(path)
	if err != nil || st.Size() < 100_000 {
		t.Fatalf("video: %v", err)
	}
	people := map[string]bool{}
	for _, p := range tr.Passages {
		people[p.Person] = true
	}
	if len(people) != 4 || len(tr.Passages) < 4 || tr.Width != 640 || tr.FPS != 15 || tr.Video != "door.avi" {
		t.Errorf("truth: %d people, %d passages, %dx%d at %v fps, video %q", len(people), len(tr.Passages), tr.Width, tr.Height, tr.FPS, tr.Video)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "video", "-o", filepath.Join(dir, "x.mp4")}, exitUsage, "name it .avi"},
		{[]string{"sim", "video", "-o", filepath.Join(dir, "x.avi"), "--size", "big"}, exitUsage, "--size \"big\""},
		{[]string{"sim", "video", "-o", filepath.Join(dir, "x.avi"), "--scenario", "crowd"}, exitUsage, "unknown scenario"},
		{[]string{"sim", "video", "-o", filepath.Join(dir, "x.avi"), "--images", dir}, exitFailure, "no photo in"},
		{[]string{"sim", "video", "-o", filepath.Join(dir, "empty.avi"), "--scenario", "empty", "--duration", "2s"}, exitOK, "30 frames"},
	} {
		out, stderr, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want exit %d and %q", tc.args[2:], code, out, stderr, tc.code, tc.want)
		}
	}
}

// testWatchJSON: one line per passage, in time order, on the video's
// timeline, with descriptors of the model's dimension, ready for replay.
func testWatchJSON(t *testing.T, path string, tr truth.Truth) {
	out, stderr, code := run(t, "watch", "--source", path, "--clock", truth.Path(path), "--json", "--descriptors")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var lines []watchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var l watchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		lines = append(lines, l)
	}
	if len(lines) != len(tr.Passages) {
		t.Fatalf("%d visits for %d passages:\n%s", len(lines), len(tr.Passages), out)
	}
	for i, l := range lines {
		p := tr.Passages[i]
		if _, err := ulid.Parse(l.Visit); err != nil {
			t.Errorf("visit id %q: %v", l.Visit, err)
		}
		// Visits come in the order passages begin, at their times.
		if d := l.Time.Sub(p.Start); d < -time.Second || d > time.Second {
			t.Errorf("visit %d at %v, passage %d (%s) at %v", i, l.Time, i, p.Person, p.Start)
		}
		if l.Described < 1 || len(l.Descriptors) != l.Described || len(l.Descriptors[0]) != vocab.DlibResNetDim || l.Faces < 10 || !strings.HasPrefix(l.Model, vocab.DlibResNetName+"+five+mirror@") {
			t.Errorf("visit %d: %d faces, %d descriptors of %d values, model %s", i, l.Faces, len(l.Descriptors), len(l.Descriptors[0]), l.Model)
		}
		if len(p.With) > 0 && len(l.Together) == 0 {
			t.Errorf("visit %d: passage with someone, visit alone", i)
		}
	}
	// The output is what joren replay reads.
	visits := filepath.Join(t.TempDir(), "visits.jsonl")
	os.WriteFile(visits, []byte(out), 0o644)
	rout, rerr, code := run(t, "replay", "--visits", visits)
	if code != exitOK || strings.Count(rout, "\n") != len(lines) {
		t.Errorf("replay of watch's output: exit %d, %q %q", code, rout, rerr)
	}
}

// testWatchPrivacy: without --debug-dir nothing is written anywhere the
// command could write (its folder, the temporary folder, the video's
// folder); with it, the described faces are there and only there.
func testWatchPrivacy(t *testing.T, path string) {
	work, tmp := t.TempDir(), t.TempDir()
	// The model and data folders are found from the working folder, which
	// the test changes: pin them first.
	t.Setenv("JOREN_MODELS", testenv.Models(t))
	t.Setenv("JOREN_SHARED", testenv.Shared(t))
	t.Chdir(work)
	t.Setenv("TMPDIR", tmp)
	before := listing(t, work, tmp, filepath.Dir(path))
	out, stderr, code := run(t, "watch", "--source", path)
	if code != exitOK || !strings.Contains(out, "visit(s)") {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	if after := listing(t, work, tmp, filepath.Dir(path)); after != before {
		t.Errorf("files appeared:\nbefore %s\nafter  %s", before, after)
	}
	dbg := filepath.Join(work, "debug")
	_, stderr, code = run(t, "watch", "--source", path, "--debug-dir", dbg)
	jpgs, _ := filepath.Glob(filepath.Join(dbg, "*.jpg"))
	if code != exitOK || len(jpgs) == 0 || !strings.Contains(stderr, "--debug-dir") {
		t.Errorf("debug dir: exit %d, %d pictures, stderr %s", code, len(jpgs), stderr)
	}
}

func listing(t *testing.T, dirs ...string) string {
	var b strings.Builder
	for _, d := range dirs {
		filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
			if err == nil {
				b.WriteString(p + " ")
			}
			return nil
		})
	}
	return b.String()
}

func testWatchText(t *testing.T, path string, tr truth.Truth) {
	out, _, code := run(t, "watch", "--source", path, "--clock", truth.Path(path))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	day := tr.Passages[0].Start.Format("2006-01-02 15:04")
	if !strings.Contains(out, day) || strings.Count(out, " described, quality ") != len(tr.Passages) || !strings.Contains(out, "frames/s") {
		t.Errorf("want %d visit lines from %s and a summary:\n%s", len(tr.Passages), day, out)
	}
}

func testWatchBadSources(t *testing.T, path string) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.avi")
	os.WriteFile(corrupt, []byte("RIFF....AVI LIST but nothing else"), 0o644)
	b, _ := os.ReadFile(path)
	cut := filepath.Join(dir, "cut.avi")
	os.WriteFile(cut, b[:len(b)/3], 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no source", []string{"watch"}, exitUsage, []string{"needs --source"}},
		{"bad size", []string{"watch", "--source", path, "--size", "vga"}, exitUsage, []string{"--size \"vga\""}},
		{"descriptors without json", []string{"watch", "--source", path, "--descriptors"}, exitUsage, []string{"--descriptors goes with --json"}},
		{"bad scheme", []string{"watch", "--source", "ftp://cam/x"}, exitUsage, []string{"unknown scheme"}},
		{"vanished device", []string{"watch", "--source", "/dev/video9", "--retries", "2"}, exitFailure, []string{"/dev/video9 does not exist", "gave up after 2", "source lost, reopening"}},
		{"corrupt video", []string{"watch", "--source", corrupt}, exitFailure, []string{corrupt, "not a video OpenCV can read"}},
		{"truncated video", []string{"watch", "--source", cut}, exitFailure, []string{cut, "truncated or corrupt", "source lost, reopening"}},
		{"missing file", []string{"watch", "--source", filepath.Join(dir, "none.avi")}, exitFailure, []string{"none.avi: no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// testWatchFolder: a folder of stills, read in natural order at --fps,
// gives the same passages as the video they come from.
func testWatchFolder(t *testing.T, path string, tr truth.Truth) {
	first := tr.Passages[0]
	last := first.Leave
	for _, w := range first.With {
		last = max(last, tr.Passages[w].Leave)
	}
	dir := t.TempDir()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMat()
	for i := 0; i <= last+20 && vc.Read(&m); i++ {
		gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("still%d.jpg", i+1)), m)
	}
	m.Close()
	vc.Close()
	out, stderr, code := run(t, "watch", "--source", dir, "--fps", "15", "--json", "--start", "2026-11-02T10:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "\n"); n != 1+len(first.With) {
		t.Errorf("%d visits for %d passages: %s", n, 1+len(first.With), out)
	}
	if !strings.Contains(out, `"time":"2026-11-02T10:00:0`) {
		t.Errorf("visits not timed from --start at 15 fps: %s", out)
	}
}
