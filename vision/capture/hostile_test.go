package capture

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/logtest"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
)

// TestFolderOfHostilePictures plays a folder holding vision/picture's
// corpus of broken and hostile pictures between good frames: every one is
// read or skipped and counted, a picture over the limit is skipped before
// it is decoded with a log naming the file, its claimed size and the
// limit, and the source goes on to the last good frame. Nothing aborts.
func TestFolderOfHostilePictures(t *testing.T) {
	matleak.Check(t)
	corpus, err := filepath.Glob("../picture/testdata/hostile/*")
	if err != nil || len(corpus) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	dir := t.TempDir()
	writeFolder(t, dir, 2) // frame1.png, frame2.png
	last := numbered(320, 240, 99)
	ok := gocv.IMWrite(filepath.Join(dir, "frame99.png"), last)
	last.Close()
	if !ok {
		t.Fatal("writing a PNG failed")
	}
	decodable := 0
	for i, p := range corpus {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ext := filepath.Ext(p)
		switch ext {
		case ".jpg", ".png", ".bmp", ".webp":
		default:
			ext = ".jpg" // read by its content, whatever its name says
		}
		// Between frame2 and frame99 in natural order.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("frame3-%02d%s", i, ext)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p, "exif") && !strings.Contains(p, "longer-than-the-file") {
			decodable++
		}
	}
	var logs logtest.Buffer
	src, err := Open(dir, Options{Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *frame.Frame, 4)
	done := make(chan error, 1)
	go func() { done <- src.Run(context.Background(), out) }()
	var frames []frame.Image
	for f := range out {
		frames = append(frames, f.Image)
		f.Release()
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := src.Stats()
	if want := 3 + decodable; st.Frames != int64(want) || st.Unreadable != int64(len(corpus)-decodable) {
		t.Errorf("%+v; want %d frames and %d unreadable", st, want, len(corpus)-decodable)
	}
	if n := len(frames); n == 0 || number(frames[n-1]) != 99 {
		t.Errorf("the last good frame did not come through (%d frames)", n)
	}
	for _, want := range []string{"PNG of 65535x65535 pixels", "over the limit of 50 megapixels", "frame3-", "truncated"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logs.String())
		}
	}
}

// TestFolderPixelLimit: a folder's pixel limit is its option's.
func TestFolderPixelLimit(t *testing.T) {
	matleak.Check(t)
	dir := t.TempDir()
	writeFolder(t, dir, 3) // 320x240 = 76,800 pixels each
	var logs logtest.Buffer
	src, err := Open(dir, Options{MaxPixels: 76_799, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	nums, _, _, err := collect(t, src, 2, 0)
	if err != nil || len(nums) != 0 || src.Stats().Unreadable != 3 || !strings.Contains(logs.String(), "320x240 pixels (76800 pixels by its header) is over the limit of 76799 pixels") {
		t.Errorf("frames %v, %v, %+v; log %s", nums, err, src.Stats(), logs.String())
	}
	if _, err := Open(dir, Options{MaxPixels: -1}); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("Open with a negative pixel limit: %v", err)
	}
}
