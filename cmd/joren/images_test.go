package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"joren/appliance/config"
	"joren/internal/testenv"
	"joren/vision/picture"
)

// hostileCorpus is vision/picture's corpus of broken and hostile pictures.
const hostileCorpus = "../../vision/picture/testdata/hostile"

// zeroPNG writes a real PNG of w x h black pixels (a decompression bomb:
// 2.7 GB of pixels in 3 MB for 30000 x 30000).
func zeroPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, 1+3*w)
	for range h {
		z.Write(row)
	}
	z.Close()
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	png := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	png = append(png, chunk("IDAT", idat.Bytes())...)
	if err := os.WriteFile(path, append(png, chunk("IEND", nil)...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runChild runs joren (this test binary) in a process of its own, as a
// user would: a native abort there fails the test instead of killing it.
// It returns the output, the exit status, and the peak resident memory
// in MB (getrusage: at least the test binary's own, which the child
// starts from).
func runChild(t *testing.T, args ...string) (stdout, stderr string, code int, peakMB float64) {
	t.Helper()
	cmd := testenv.Self(t, append([]string{"--models", testenv.Models(t)}, args...)...)
	peakFile := filepath.Join(t.TempDir(), "peak")
	cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1", "JOREN_PEAK_FILE="+peakFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("joren %s: %v (a signal: a crash)\n%s", strings.Join(args, " "), err, errb.String())
	}
	b, err := os.ReadFile(peakFile)
	if err != nil {
		t.Fatalf("joren %s: its peak memory: %v", strings.Join(args, " "), err)
	}
	if peakMB, err = strconv.ParseFloat(string(b), 64); err != nil || peakMB <= 0 {
		t.Fatalf("joren %s: its peak memory %q: %v", strings.Join(args, " "), b, err)
	}
	for _, crash := range []string{"SIGABRT", "terminate called", "goroutine ", "panic:", "cv::Exception"} {
		if strings.Contains(errb.String(), crash) {
			t.Errorf("joren %s: stderr shows a crash (%q):\n%s", strings.Join(args, " "), crash, errb.String())
		}
	}
	return out.String(), errb.String(), code, peakMB
}

// TestHostileImages: every command that reads pictures, given pictures
// whose headers claim 65535x65535 pixels, a real 30000x30000 PNG, and the
// whole corpus of broken files, ends with a clear error naming the file,
// its claimed size and the limit (or skips it and goes on), in a process
// that neither aborts nor decodes the bomb: before, each of these died
// with an uncaught cv::Exception, and the real PNG was decoded whole (2.8
// GB resident).
func TestHostileImages(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(from, to string) string {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, to)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hugePNG := copyFile(filepath.Join(hostileCorpus, "png-65535x65535-header-only.png"), "huge.png")
	hugeJPEG := copyFile(filepath.Join(hostileCorpus, "jpeg-65535x65535-complete.jpg"), "huge.jpg")
	bomb := filepath.Join(dir, "bomb.png")
	zeroPNG(t, bomb, 30000, 30000)
	good := face(t, "bona.jpg")
	over := "over the limit of 50 megapixels (raise the limit with --max-pixels)"
	claims := map[string]string{
		hugePNG:  "huge.png: PNG of 65535x65535 pixels (4295 megapixels by its header) is " + over,
		hugeJPEG: "huge.jpg: JPEG of 65535x65535 pixels (4295 megapixels by its header) is " + over,
		bomb:     "bomb.png: PNG of 30000x30000 pixels (900 megapixels by its header) is " + over,
	}

	for _, bad := range []string{hugePNG, hugeJPEG, bomb} {
		t.Run("compare "+filepath.Base(bad), func(t *testing.T) {
			_, stderr, code, peak := runChild(t, "compare", bad, good)
			if code != exitFailure || !strings.Contains(stderr, claims[bad]) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, claims[bad])
			}
			if peak > 1000 {
				t.Errorf("peak resident memory %.0f MB: the picture was decoded", peak)
			}
		})
	}
	t.Run("compare with a raised limit", func(t *testing.T) {
		_, stderr, code, _ := runChild(t, "compare", "--max-pixels", "268435457", good, good)
		if code != exitUsage || !strings.Contains(stderr, "--max-pixels 268435457: over the most allowed, 268435456") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("embed", func(t *testing.T) {
		out, stderr, code, _ := runChild(t, "embed", "--json", hugePNG, good, hugeJPEG, bomb)
		if code != exitFailure || strings.Count(out, "\n") != 4 || !strings.Contains(out, `"box"`) {
			t.Errorf("exit %d, %d lines, want exit 1 and one line per file, bona.jpg's with a face:\n%s\n%s", code, strings.Count(out, "\n"), out, stderr)
		}
		for _, bad := range []string{hugePNG, hugeJPEG, bomb} {
			if !strings.Contains(out, strings.TrimPrefix(claims[bad], filepath.Base(bad)+": ")) {
				t.Errorf("no error line for %s:\n%s", bad, out)
			}
		}
	})
	t.Run("cluster DIR", func(t *testing.T) {
		folder := t.TempDir()
		corpus, _ := filepath.Glob(filepath.Join(hostileCorpus, "*"))
		for _, p := range corpus {
			name := filepath.Base(p)
			if ext := filepath.Ext(name); ext != ".jpg" && ext != ".png" {
				name += ".jpg" // listed by extension, read by content
			}
			b, _ := os.ReadFile(p)
			os.WriteFile(filepath.Join(folder, name), b, 0o644)
		}
		for _, f := range []string{"bona.jpg", "bona2.jpg", "jimin6.jpg"} {
			b, _ := os.ReadFile(face(t, f))
			os.WriteFile(filepath.Join(folder, f), b, 0o644)
		}
		// The corpus's pictures with odd EXIF data decode (and hold no
		// face); every other one is reported, and the faces are clustered.
		unreadable := 0
		for _, p := range corpus {
			if !strings.Contains(p, "exif") || strings.Contains(p, "longer-than-the-file") {
				unreadable++
			}
		}
		summary := fmt.Sprintf("joren: %d of %d images could not be read", unreadable, len(corpus)+3)
		out, stderr, code, _ := runChild(t, "cluster", "--json", folder)
		if code != exitFailure || !strings.Contains(stderr, summary) {
			t.Errorf("exit %d, want 1 and %q:\n%s", code, summary, stderr)
		}
		for _, want := range []string{"bona.jpg", "bona2.jpg", "jimin6.jpg"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s was not clustered:\n%s", want, out)
			}
		}
		for _, want := range []string{"png-65535x65535-header-only.png: PNG of 65535x65535 pixels", "bomb-8000x8000-zeros.png: PNG of 8000x8000", "jpeg-bogus-huffman-table.jpg: decoding JPEG"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
		}
	})
	store := t.TempDir()
	for _, c := range [][]string{
		{"staff", "add", "Ann", hugePNG, "--store", store},
		{"customers", "add", "Ann", bomb, "--store", store},
		{"forget", "--image", hugeJPEG, "--store", store},
	} {
		t.Run(strings.Join(c[:2], " "), func(t *testing.T) {
			_, stderr, code, _ := runChild(t, c...)
			bad := c[len(c)-3]
			if code != exitFailure || !strings.Contains(stderr, claims[bad]) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, claims[bad])
			}
		})
	}
	t.Run("watch --source FOLDER", func(t *testing.T) {
		folder := t.TempDir()
		for i, p := range []string{hugePNG, good, hugeJPEG, bomb, good} {
			b, _ := os.ReadFile(p)
			os.WriteFile(filepath.Join(folder, "frame"+string(rune('1'+i))+filepath.Ext(p)), b, 0o644)
		}
		out, stderr, code, peak := runChild(t, "watch", "--source", folder, "--log-level", "warn")
		if code != exitOK || !strings.Contains(out, "visit(s)") {
			t.Errorf("exit %d:\n%s\n%s", code, out, stderr)
		}
		for _, want := range []string{"frame1.png: PNG of 65535x65535 pixels", "frame3.jpg: JPEG of 65535x65535", "frame4.png: PNG of 30000x30000", "over the limit of 50 megapixels"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("the log does not say %q:\n%s", want, stderr)
			}
		}
		if peak > 1000 {
			t.Errorf("peak resident memory %.0f MB: a picture was decoded", peak)
		}
	})
}

// TestPixelLimitsAgree: the configuration's pixel limit is vision/picture's
// (the configuration cannot import it: cgo).
func TestPixelLimitsAgree(t *testing.T) {
	if config.DefaultMaxImagePixels != picture.DefaultMaxPixels || config.MaxImagePixelsCeiling != picture.MaxPixelsCeiling {
		t.Errorf("config %d, %d; picture %d, %d", config.DefaultMaxImagePixels, config.MaxImagePixelsCeiling, picture.DefaultMaxPixels, picture.MaxPixelsCeiling)
	}
}
