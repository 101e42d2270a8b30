package pipeline

import (
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/vision/frame"
	"joren/vision/quality"
	"joren/vision/track"
	"joren/vocab"
)

// TestDebugDirFiles: a described face becomes a JPEG of its crop with the
// face's box drawn, readable by its owner only; a visit becomes a line
// without descriptors; a picture that cannot be written is reported at
// Close.
func TestDebugDirFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "debug")
	d, err := NewDebugDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A grey crop, bluish in BGR, with the face in the middle.
	c := frame.Crop{Image: frame.New(64, 48), Box: image.Rect(16, 12, 48, 36)}
	for i := 0; i < len(c.Pix); i += 3 {
		c.Pix[i], c.Pix[i+1], c.Pix[i+2] = 200, 100, 100
	}
	d.Face("T1", c, quality.Assessment{Score: 0.75})
	d.Face("T1", c, quality.Assessment{Score: 0.5})
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	d.Visit(track.Visit{Visit: vocab.Visit{ID: "V1", Start: start, End: start.Add(2 * time.Second), Descriptors: [][]float32{{1, 2}}, Faces: 9}})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	first := filepath.Join(dir, "T1-1-q0.75.jpg")
	if _, err := os.Stat(filepath.Join(dir, "T1-2-q0.50.jpg")); err != nil {
		t.Error(err)
	}
	fi, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", first, fi.Mode().Perm())
	}
	f, err := os.Open(first)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if im.Bounds() != image.Rect(0, 0, 64, 48) {
		t.Fatalf("picture is %v, the crop 64x48", im.Bounds())
	}
	rgb := func(x, y int) (r, g, b uint32) {
		r, g, b, _ = im.At(x, y).RGBA()
		return r >> 8, g >> 8, b >> 8
	}
	// JPEG blurs colours a little: compare loosely.
	if r, g, b := rgb(4, 4); b < 170 || r > 130 || g > 130 {
		t.Errorf("the crop at (4, 4) is RGB %d %d %d, want BGR 200 100 100 as RGB", r, g, b)
	}
	if r, g, b := rgb(32, 12); g < 170 || r > 120 || b > 120 {
		t.Errorf("the box's top edge at (32, 12) is RGB %d %d %d, want green", r, g, b)
	}

	b, err := os.ReadFile(filepath.Join(dir, "visits.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil || line["visit"] != "V1" || line["descriptors"] != 1.0 || strings.Contains(string(b), "[1,2]") {
		t.Errorf("visits.jsonl: %s (%v)", b, err)
	}

	// A folder that went away: the pipeline goes on, Close says so.
	d, err = NewDebugDir(filepath.Join(t.TempDir(), "gone"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(d.dir)
	d.Face("T2", c, quality.Assessment{})
	if err := d.Close(); err == nil || !strings.Contains(err.Error(), "T2-1") {
		t.Errorf("Close after a failed picture: %v", err)
	}
}
