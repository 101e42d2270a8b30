package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision"
	"joren/vision/camera"
	"joren/vision/picture"
)

// imageDescriptor is the descriptor of the largest face of a shared image,
// as the door camera's recognizer computes it.
func imageDescriptor(t *testing.T, name string) []float32 {
	t.Helper()
	ff := faceFlags{embedder: embedderDlib, detector: string(camera.Auto), maxSide: 2000, maxPixels: picture.DefaultMaxPixels, workers: 1}
	finder, err := ff.open(testenv.Models(t))
	if err != nil {
		t.Fatal(err)
	}
	defer finder.Close()
	faces, err := finder.File(face(t, name))
	if err != nil {
		t.Fatal(err)
	}
	k := vision.Largest(faces)
	if k < 0 {
		t.Fatalf("%s: no face", name)
	}
	return faces[k].Descriptor
}

// imageVisits writes a visits file, one visit a day, each the face of one
// shared image.
func imageVisits(t *testing.T, images ...string) string {
	t.Helper()
	return imageVisitsFrom(t, testDay(0), images...)
}

// testDay is day n of the tests' replayed visits, at 11:00 UTC: day 0 is
// 20 days ago, so that every visit of a test is within the regular
// window of the time the test runs (a fixed date would make the tests
// fail once it fell out of the window).
func testDay(n int) time.Time {
	y, m, d := time.Now().UTC().AddDate(0, 0, -20).Date()
	return time.Date(y, m, d+n, 11, 0, 0, 0, time.UTC)
}

// imageVisitsFrom is imageVisits with the first visit on day, the next
// on the day after, and so on.
func imageVisitsFrom(t *testing.T, day time.Time, images ...string) string {
	t.Helper()
	var b strings.Builder
	for i, img := range images {
		line, _ := json.Marshal(map[string]any{
			"visit":       fmt.Sprintf("i%02d", i+1),
			"time":        day.AddDate(0, 0, i).Format(time.RFC3339),
			"descriptors": [][]float32{imageDescriptor(t, img)},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "visits.jsonl")
	os.WriteFile(p, []byte(b.String()), 0o644)
	return p
}

func TestStaffCommands(t *testing.T) {
	notImage, _, noFace := fixtures(t)
	dir := filepath.Join(t.TempDir(), "store")
	out, stderr, code := run(t, "staff", "add", "Bona", face(t, "bona.jpg"), "--store", dir)
	if code != exitOK || !strings.Contains(out, "staff Bona: 1 face(s) enrolled, 1 in all") {
		t.Fatalf("add: exit %d: %s %s", code, out, stderr)
	}
	out, _, code = run(t, "staff", "add", "Bona", face(t, "bona4.jpg"), "--store", dir)
	if code != exitOK || !strings.Contains(out, "1 face(s) enrolled, 2 in all") {
		t.Errorf("add more: exit %d: %s", code, out)
	}
	// Bad images: nothing enrolled, the error names them.
	for _, img := range []string{noFace, notImage} {
		_, stderr, code := run(t, "staff", "add", "Jimin", face(t, "jimin6.jpg"), img, "--store", dir)
		if code != exitFailure || !strings.Contains(stderr, "nothing enrolled") || !strings.Contains(stderr, filepath.Base(img)) {
			t.Errorf("add with %s: exit %d: %s", img, code, stderr)
		}
	}
	out, _, _ = run(t, "staff", "list", "--store", dir)
	if !strings.Contains(out, "Bona") || !strings.Contains(out, "bona.jpg bona4.jpg") || strings.Contains(out, "Jimin") {
		t.Errorf("list: %s", out)
	}
	out, _, _ = run(t, "staff", "list", "--store", dir, "--json")
	var m struct {
		Name    string
		Faces   int
		Sources []string
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Name != "Bona" || m.Faces != 2 {
		t.Errorf("list --json: %s (%v)", out, err)
	}

	// At the door: another photo of Bona is staff, never a customer;
	// Jimin is a customer (0.55 from Bona's photos; tzuyu.jpg, 0.44 from
	// them, is as close as dlib puts two people on the shared photos).
	visits := imageVisits(t, "bona3.jpg", "jimin6.jpg", "bona3.jpg")
	out, stderr, code = run(t, "replay", "--visits", visits, "--store", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 3 {
		t.Fatalf("replay: exit %d: %s %s", code, out, stderr)
	}
	if lines[0] != `{"visit":"i01","visitor":"","staff":"Bona","visits":0,"days":0,"regular":false}` || !strings.Contains(lines[1], `"visitor":"p000001"`) || !strings.Contains(lines[2], `"staff":"Bona"`) {
		t.Errorf("decisions:\n%s", out)
	}

	out, _, code = run(t, "staff", "remove", "Bona", "--store", dir)
	if code != exitOK || !strings.Contains(out, "staff Bona removed") {
		t.Errorf("remove: exit %d: %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"staff", "remove", "Bona", "--store", dir}, exitFailure, `no staff member named "Bona"`},
		{[]string{"staff", "add", "Bona", "--store", dir}, exitUsage, "needs a name and at least one image"},
		{[]string{"staff", "add", " ", face(t, "bona.jpg"), "--store", dir}, exitUsage, "staff name is empty"},
		{[]string{"staff", "list"}, exitUsage, "give --store DIR (or set JOREN_STORE)"},
		{[]string{"staff", "list", "--store", t.TempDir()}, exitFailure, "no identity store in"},
	} {
		if _, stderr, code := run(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// The store named by JOREN_STORE.
	t.Setenv("JOREN_STORE", dir)
	if out, _, code := run(t, "staff", "list"); code != exitOK || strings.Contains(out, "Bona") {
		t.Errorf("list from JOREN_STORE: exit %d: %s", code, out)
	}
}
