package picture

import (
	"bytes"
	"fmt"
	"image"
	"joren/vision/internal/matleak"
	"testing"

	"gocv.io/x/gocv"
)

func TestFormat(t *testing.T) {
	jpg := encodeJPEG(t, noise(8, 8, 1), 90)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg from image/jpeg", jpg, "jpeg"},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, "jpeg"},
		{"png", encodeCV(t, noise(4, 4, 2), ".png"), "png"},
		{"png magic only", []byte("\x89PNG\r\n\x1a\n"), "png"},
		{"bmp", encodeCV(t, noise(4, 4, 3), ".bmp"), "bmp"},
		{"webp", encodeCV(t, noise(4, 4, 4), ".webp"), "webp"},
		{"webp header", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), "webp"},
		{"tiff little-endian", []byte("II*\x00\x08\x00\x00\x00"), "tiff"},
		{"tiff big-endian", []byte("MM\x00*\x00\x00\x00\x08"), "tiff"},
		{"tiff from OpenCV", encodeCV(t, noise(4, 4, 5), ".tiff"), "tiff"},
		{"riff but not webp (wav)", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), ""},
		{"riff too short", []byte("RIFF\x10\x00\x00\x00WEB"), ""},
		{"jpeg SOI without a marker after it", []byte{0xFF, 0xD8, 0x00, 0x00}, ""},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ""},
		{"text", []byte("hello, world"), ""},
		{"html", []byte("<!DOCTYPE html><html>"), ""},
		{"empty", nil, ""},
		{"one byte", []byte{0xFF}, ""},
	} {
		if got := Format(c.data); got != c.want {
			t.Errorf("Format(%s: % x...) = %q, want %q", c.name, c.data[:min(len(c.data), 12)], got, c.want)
		}
	}
}

// completeJPEGs are real JPEGs of several structures, each with the number
// of scans it must have (progressive files have several) and whether it
// must hold restart markers.
func completeJPEGs(t *testing.T) []struct {
	name     string
	data     []byte
	scans    int // at least
	restarts bool
} {
	t.Helper()
	img := noise(48, 40, 7)
	return []struct {
		name     string
		data     []byte
		scans    int
		restarts bool
	}{
		{"image/jpeg baseline", encodeJPEG(t, img, 100), 1, false},
		{"image/jpeg gray", encodeJPEG(t, toGray(img), 75), 1, false},
		{"OpenCV baseline", encodeCV(t, img, gocv.JPEGFileExt, gocv.IMWriteJpegQuality, 95), 1, false},
		{"OpenCV progressive", encodeCV(t, img, gocv.JPEGFileExt, gocv.IMWriteJpegProgressive, 1), 2, false},
		{"OpenCV restart markers", encodeCV(t, img, gocv.JPEGFileExt, gocv.IMWriteJpegRstInterval, 1), 1, true},
		{"OpenCV progressive with restarts", encodeCV(t, img, gocv.JPEGFileExt, gocv.IMWriteJpegProgressive, 1, gocv.IMWriteJpegRstInterval, 2), 2, true},
		{"hand-made CMYK", cmykJPEG([][][4]byte{{{255, 0, 0, 255}, {0, 0, 255, 255}}}), 1, false},
	}
}

func toGray(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

func TestJPEGCompleteAndEveryTruncation(t *testing.T) {
	matleak.Check(t)
	for _, c := range completeJPEGs(t) {
		t.Run(c.name, func(t *testing.T) {
			b := c.data
			// The fixture must have the structure the case is about.
			if n := bytes.Count(b, []byte{0xFF, 0xDA}); n < c.scans {
				t.Fatalf("fixture has %d scans, want at least %d", n, c.scans)
			}
			if c.restarts != bytes.Contains(b, []byte{0xFF, 0xD0}) {
				t.Fatalf("fixture has restart markers: %v, want %v", !c.restarts, c.restarts)
			}
			if !bytes.HasSuffix(b, []byte{0xFF, 0xD9}) {
				t.Fatalf("fixture does not end with EOI")
			}
			if !jpegComplete(b) {
				t.Fatalf("jpegComplete = false for a whole %d-byte JPEG", len(b))
			}
			sos := sosOffset(t, b)
			// Every cut, in the headers, the scan headers and the
			// entropy-coded data, and one byte short of EOI.
			var wrong []int
			for k := 0; k < len(b); k++ {
				if jpegComplete(b[:k]) {
					wrong = append(wrong, k)
				}
			}
			if len(wrong) > 0 {
				t.Errorf("jpegComplete = true for %d of %d truncations (first SOS at %d); cut at: %v", len(wrong), len(b), sos, wrong[:min(len(wrong), 20)])
			}
			// Data after EOI is allowed.
			for _, tail := range [][]byte{
				{0},
				[]byte("\x00\x00\x00\x18ftypmp42 a phone's motion-photo video"),
				{0xFF, 0xD8, 0xFF, 0xE0}, // a second JPEG's start
				bytes.Repeat([]byte{0xFF}, 10),
			} {
				if !jpegComplete(append(bytes.Clone(b), tail...)) {
					t.Errorf("jpegComplete = false with %d bytes (% x...) after EOI", len(tail), tail[:min(4, len(tail))])
				}
			}
		})
	}
}

func TestJPEGCompleteStructures(t *testing.T) {
	base := encodeJPEG(t, noise(32, 32, 9), 100)
	if !bytes.Contains(base[sosOffset(t, base):], []byte{0xFF, 0x00}) {
		t.Fatal("fixture has no stuffed 0xFF byte in its scan data")
	}
	sos := sosOffset(t, base)
	fill := append(append(bytes.Clone(base[:sos]), 0xFF, 0xFF), base[sos:]...)
	// An APP segment whose payload holds bytes that look like markers.
	tricky := afterSOI(base, app(0xE2, []byte{0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0xFF}))
	noEOI := bytes.Clone(base[:len(base)-2])
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"fill bytes before a marker", fill, true},
		{"cut on a fill byte", fill[:sos+2], false},
		{"marker-like bytes inside a segment", tricky, true},
		{"EXIF segment", withOrientation(base, "II", 6), true},
		{"EOI replaced by zeros", append(noEOI, 0, 0), false},
		{"EOI replaced by another marker", append(noEOI, 0xFF, 0xD8), false},
		{"garbage after the scan instead of EOI", append(noEOI, []byte("garbage")...), false},
		{"SOI then EOI", []byte{0xFF, 0xD8, 0xFF, 0xD9}, true},
		{"SOI only", []byte{0xFF, 0xD8}, false},
		{"no marker after SOI", []byte{0xFF, 0xD8, 0x00, 0xFF, 0xD9}, false},
		{"segment length 0", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00, 0xFF, 0xD9}, false},
		{"segment length 1", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xD9}, false},
		{"segment longer than the file", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00, 0xFF, 0xD9}, false},
		{"empty", nil, false},
	} {
		if got := jpegComplete(c.data); got != c.want {
			t.Errorf("jpegComplete(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestOrientation(t *testing.T) {
	base := encodeJPEG(t, noise(16, 16, 11), 80)
	jfif := app(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	type tags = []exifTag
	cases := []struct {
		name string
		data []byte
		want int
	}{
		{"no EXIF", base, 0},
		{"JFIF only", afterSOI(base, jfif), 0},
		{"XMP APP1, not EXIF", afterSOI(base, app(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))), 0},
		{"EXIF after a fill byte", afterSOI(base, []byte{0xFF}, exifSegment("II", exifTag{0x0112, 6})), 6},
		{"EXIF after a stray restart marker", afterSOI(base, []byte{0xFF, 0xD3}, exifSegment("MM", exifTag{0x0112, 8})), 8},
		{"EXIF after JFIF", afterSOI(base, jfif, exifSegment("II", exifTag{0x0112, 6})), 6},
		{"orientation after other tags", afterSOI(base, exifSegment("MM", tags{{0x010F, 1}, {0x0110, 2}, {0x0112, 8}, {0x011A, 72}}...)), 8},
		{"EXIF without orientation", afterSOI(base, exifSegment("II", exifTag{0x010F, 6})), 0},
		{"EXIF with no tags", afterSOI(base, exifSegment("MM")), 0},
		{"bad byte order", afterSOI(base, app(0xE1, []byte("Exif\x00\x00XX\x00*\x00\x00\x00\x08\x00\x00"))), 0},
		{"EXIF too short", afterSOI(base, app(0xE1, []byte("Exif\x00\x00II*\x00"))), 0},
		{"IFD offset before the header's end", afterSOI(base, app(0xE1, []byte("Exif\x00\x00II*\x00\x04\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))), 0},
		{"IFD offset past the segment", afterSOI(base, app(0xE1, []byte("Exif\x00\x00II*\x00\xF0\x00\x00\x00\x01\x00"))), 0},
		{"IFD offset near 2^31", afterSOI(base, app(0xE1, []byte("Exif\x00\x00II*\x00\xFF\xFF\xFF\x7F\x01\x00"))), 0},
		{"IFD offset 2^32-1", afterSOI(base, app(0xE1, []byte("Exif\x00\x00II*\x00\xFF\xFF\xFF\xFF\x01\x00"))), 0},
		{"entry count past the segment", afterSOI(base, app(0xE1, []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x09\x01\x0F\x00\x03"))), 0},
		{"EXIF after the image data is ignored", append(bytes.Clone(base[:len(base)-2]), append(exifSegment("II", exifTag{0x0112, 6}), 0xFF, 0xD9)...), 0},
		{"segment length 0", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00, 0xFF, 0xD9}, 0},
		{"segment length 1", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xD9}, 0},
		{"fill byte then length 1", []byte{0xFF, 0xD8, 0xFF, 0xFF, 0x00, 0x01, 0x00, 0x00}, 0},
		{"empty", nil, 0},
	}
	for _, order := range []string{"II", "MM"} {
		for _, o := range []uint16{1, 3, 6, 8} {
			cases = append(cases, struct {
				name string
				data []byte
				want int
			}{fmt.Sprintf("%s orientation %d", order, o), withOrientation(base, order, o), int(o)})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got int
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("orientation panicked on % x: %v", c.data[:min(len(c.data), 24)], r)
					}
				}()
				got = orientation(c.data)
			}()
			if got != c.want {
				t.Errorf("orientation = %d, want %d", got, c.want)
			}
		})
	}
}

// TestOrientationTruncated cuts an EXIF-tagged JPEG everywhere: orientation
// must never panic, and must find the tag whenever the bytes holding it are
// there.
func TestOrientationTruncated(t *testing.T) {
	for _, order := range []string{"II", "MM"} {
		b := withOrientation(encodeJPEG(t, noise(8, 8, 12), 80), order, 6)
		// SOI(2) + marker and length(4) + "Exif\0\0"(6) + TIFF header(8) +
		// entry count(2) + the 12-byte entry.
		whole := 2 + 4 + 6 + 8 + 2 + 12
		for k := 0; k <= len(b); k++ {
			var got int
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s: orientation panicked on the first %d bytes: %v", order, k, r)
					}
				}()
				got = orientation(b[:k])
			}()
			if k >= whole && got != 6 {
				t.Errorf("%s: orientation of the first %d bytes = %d, want 6", order, k, got)
			}
			if got != 0 && got != 6 {
				t.Errorf("%s: orientation of the first %d bytes = %d", order, k, got)
			}
		}
	}
}

// FuzzJPEGParsers: neither parser may panic on any input. `go test` runs
// the seeds; `go test -fuzz FuzzJPEGParsers` explores.
func FuzzJPEGParsers(f *testing.F) {
	base := encodeJPEG(f, noise(16, 16, 13), 90)
	f.Add(base)
	f.Add(withOrientation(base, "MM", 6))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0x00, 0x01, 0x00, 0x00})
	f.Add(cmykJPEG([][][4]byte{{{1, 2, 3, 4}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		jpegComplete(b)
		if o := orientation(b); o < 0 || o > 0xFFFF {
			t.Fatalf("orientation = %d", o)
		}
	})
}
