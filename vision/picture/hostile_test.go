package picture

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"joren/vision/internal/matleak"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from the generators in hostile_test.go")

// hostileDir holds broken and hostile pictures: the seed corpus of the
// fuzz tests and the cases of TestHostileFiles. They are made by
// hostileFiles (go test -run TestHostileFiles -update rewrites them).
const hostileDir = "testdata/hostile"

// hostile is one file of the corpus and what Prepare must say about it.
type hostile struct {
	name string
	data func(t testing.TB) []byte
	// tooLarge: a *TooLargeError; want: substrings of the error (case
	// insensitive); neither: Prepare succeeds.
	tooLarge bool
	want     []string
}

// pngChunk is a PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngOf makes a PNG of w x h 8-bit RGB pixels whose rows are rows (each
// 3*w bytes, without the filter byte; nil: zeros), compressed with zlib.
// It writes the rows one at a time, so a large picture of zeros (a PNG
// bomb) costs little memory to make.
func pngOf(t testing.TB, w, h int, row []byte) []byte {
	t.Helper()
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	line := make([]byte, 1+3*w)
	copy(line[1:], row)
	for range h {
		if _, err := z.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return pngFile(uint32(w), uint32(h), idat.Bytes())
}

func pngFile(w, h uint32, idat []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, not interlaced
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", idat)...)
	return append(b, pngChunk("IEND", nil)...)
}

// withSOFSize rewrites the size in a JPEG's first frame header.
func withSOFSize(t testing.TB, jpg []byte, w, h uint16) []byte {
	t.Helper()
	b := bytes.Clone(jpg)
	for i := 2; i+9 <= len(b); {
		m := b[i+1]
		if m >= 0xC0 && m <= 0xC2 {
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	t.Fatal("no SOF in the fixture")
	return nil
}

// segment returns the first segment with marker m (marker included).
func segment(t testing.TB, jpg []byte, m byte) (int, []byte) {
	t.Helper()
	for i := 2; i+4 <= len(jpg); {
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if jpg[i+1] == m {
			return i, jpg[i : i+2+n]
		}
		i += 2 + n
	}
	t.Fatalf("no marker %02X in the fixture", m)
	return 0, nil
}

// bmpHeader is a BMP file header and an info header of size infoSize with
// the given width and height fields (32 or 16 bits by the header's kind),
// followed by pixels.
func bmpHeader(infoSize uint32, w, h int32, pixels []byte) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, uint32(14+int(infoSize)+len(pixels)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 14+infoSize)
	b = binary.LittleEndian.AppendUint32(b, infoSize)
	info := make([]byte, infoSize-4)
	if infoSize == 12 {
		binary.LittleEndian.PutUint16(info[0:], uint16(w))
		binary.LittleEndian.PutUint16(info[2:], uint16(h))
		binary.LittleEndian.PutUint16(info[4:], 1)  // planes
		binary.LittleEndian.PutUint16(info[6:], 24) // bits per pixel
	} else if infoSize >= 36 {
		binary.LittleEndian.PutUint32(info[0:], uint32(w))
		binary.LittleEndian.PutUint32(info[4:], uint32(h))
		binary.LittleEndian.PutUint16(info[8:], 1)
		binary.LittleEndian.PutUint16(info[10:], 24)
	}
	b = append(b, info...)
	return append(b, pixels...)
}

// riff wraps WebP chunks in a RIFF container.
func riff(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

func webpChunk(typ string, data []byte) []byte {
	b := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// vp8x is an extended-format header with a canvas of w x h.
func vp8x(flags byte, w, h int) []byte {
	d := []byte{flags, 0, 0, 0}
	d = append(d, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	d = append(d, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return webpChunk("VP8X", d)
}

// vp8l is a lossless bitstream header of w x h (14 bits each) and some
// following bytes.
func vp8l(w, h int, rest []byte) []byte {
	v := uint32(w-1) | uint32(h-1)<<14
	d := append([]byte{0x2F}, binary.LittleEndian.AppendUint32(nil, v)...)
	return webpChunk("VP8L", append(d, rest...))
}

func hostileFiles() []hostile {
	small := func(t testing.TB) []byte { return encodeJPEG(t, noise(32, 24, 31), 90) }
	smallPNG := func(t testing.TB) []byte { return encodePNG(t, noise(32, 24, 32)) }
	const over = "over the limit of 50 megapixels"
	return []hostile{
		// JPEG
		{name: "jpeg-65535x65535-header-only.jpg", tooLarge: true, want: []string{"JPEG of 65535x65535 pixels", "4295 megapixels", over}, data: func(t testing.TB) []byte {
			j := withSOFSize(t, small(t), 65535, 65535)
			i, _ := segment(t, j, 0xDA)
			return j[:i]
		}},
		{name: "jpeg-65535x65535-complete.jpg", tooLarge: true, want: []string{"65535x65535", over}, data: func(t testing.TB) []byte {
			return withSOFSize(t, small(t), 65535, 65535)
		}},
		{name: "jpeg-8000x7000-over-the-limit.jpg", tooLarge: true, want: []string{"8000x7000", "56 megapixels", over}, data: func(t testing.TB) []byte {
			return withSOFSize(t, small(t), 8000, 7000)
		}},
		{name: "jpeg-zero-height.jpg", want: []string{"JPEG"}, data: func(t testing.TB) []byte {
			return withSOFSize(t, small(t), 32, 0)
		}},
		{name: "jpeg-zero-width.jpg", want: []string{"JPEG"}, data: func(t testing.TB) []byte {
			return withSOFSize(t, small(t), 0, 24)
		}},
		{name: "jpeg-truncated-in-header.jpg", want: []string{"truncated", "JPEG"}, data: func(t testing.TB) []byte { return small(t)[:100] }},
		{name: "jpeg-truncated-in-scan.jpg", want: []string{"truncated", "JPEG"}, data: func(t testing.TB) []byte {
			j := small(t)
			return j[:len(j)*3/4]
		}},
		{name: "jpeg-bogus-huffman-table.jpg", want: []string{"decoding JPEG"}, data: func(t testing.TB) []byte {
			// An orientation forces OpenCV to decode it (no pass-through).
			j := withOrientation(small(t), "II", 3)
			i, _ := segment(t, j, 0xC4)
			j = bytes.Clone(j)
			// The 16 code counts of the first table sum to far more than
			// the 256 symbols a table may hold.
			for k := 0; k < 16; k++ {
				j[i+5+k] = 0xFF
			}
			return j
		}},
		{name: "jpeg-huffman-codes-garbled.jpg", want: []string{"decoding JPEG"}, data: func(t testing.TB) []byte {
			j := withOrientation(small(t), "MM", 6)
			i, seg := segment(t, j, 0xC4)
			j = bytes.Clone(j)
			// Every code length 1 with 16 symbols: an over-subscribed code.
			for k := 0; k < 16; k++ {
				j[i+5+k] = 0
			}
			j[i+5] = byte(min(len(seg)-21, 200))
			return j
		}},
		{name: "jpeg-second-frame-header-huge.jpg", want: []string{"JPEG", "multiple SOF"}, data: func(t testing.TB) []byte {
			j := withOrientation(small(t), "II", 8)
			i, sof := segment(t, j, 0xC0)
			huge := withSOFSize(t, append([]byte{0xFF, 0xD8}, sof...), 65535, 65535)[2:]
			return slices.Concat(j[:i+len(sof)], huge, j[i+len(sof):])
		}},
		{name: "jpeg-frame-header-too-short.jpg", want: []string{"JPEG"}, data: func(t testing.TB) []byte {
			j := small(t)
			i, _ := segment(t, j, 0xC0)
			j = bytes.Clone(j)
			binary.BigEndian.PutUint16(j[i+2:], 4)
			return j
		}},
		{name: "jpeg-exif-orientation-9.jpg", data: func(t testing.TB) []byte { return withOrientation(small(t), "II", 9) }},
		{name: "jpeg-exif-orientation-65535.jpg", data: func(t testing.TB) []byte { return withOrientation(small(t), "MM", 0xFFFF) }},
		{name: "jpeg-exif-ifd-offset-past-the-end.jpg", data: func(t testing.TB) []byte {
			return afterSOI(small(t), app(0xE1, []byte("Exif\x00\x00II*\x00\xF0\xFF\xFF\x7F\x01\x00")))
		}},
		{name: "jpeg-exif-entry-count-65535.jpg", data: func(t testing.TB) []byte {
			return afterSOI(small(t), app(0xE1, []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\xFF\xFF\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00")))
		}},
		{name: "jpeg-exif-segment-longer-than-the-file.jpg", want: []string{"JPEG"}, data: func(t testing.TB) []byte {
			seg := withOrientation(small(t), "II", 6)[2:]
			binary.BigEndian.PutUint16(seg[2:], 0xFFF0)
			return append([]byte{0xFF, 0xD8}, seg...)
		}},
		{name: "jpeg-exif-rotated-wide.jpg", data: func(t testing.TB) []byte {
			return withOrientation(encodeJPEG(t, noise(200, 20, 33), 90), "II", 6)
		}},
		// PNG
		{name: "png-65535x65535-header-only.png", tooLarge: true, want: []string{"PNG of 65535x65535 pixels", over}, data: func(t testing.TB) []byte {
			return pngFile(65535, 65535, []byte{0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
		}},
		{name: "png-bomb-8000x8000-zeros.png", tooLarge: true, want: []string{"8000x8000", "64 megapixels", over}, data: func(t testing.TB) []byte {
			return pngOf(t, 8000, 8000, nil)
		}},
		{name: "png-2147483647-wide.png", tooLarge: true, want: []string{"2147483647x1", over}, data: func(t testing.TB) []byte {
			return pngFile(1<<31-1, 1, []byte{0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
		}},
		{name: "png-70000x1.png", tooLarge: true, want: []string{"70000x1", "longer than 65500"}, data: func(t testing.TB) []byte {
			return pngOf(t, 70000, 1, nil)
		}},
		{name: "png-zero-width.png", want: []string{"PNG"}, data: func(t testing.TB) []byte {
			return pngFile(0, 10, []byte{0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
		}},
		{name: "png-bad-header-checksum.png", want: []string{"PNG", "checksum"}, data: func(t testing.TB) []byte {
			p := bytes.Clone(smallPNG(t))
			p[29] ^= 0xFF // a byte of IHDR's CRC
			return p
		}},
		{name: "png-truncated.png", want: []string{"PNG"}, data: func(t testing.TB) []byte {
			p := smallPNG(t)
			return p[:len(p)/2]
		}},
		{name: "png-garbage-image-data.png", want: []string{"decoding PNG"}, data: func(t testing.TB) []byte {
			return pngFile(32, 24, bytes.Repeat([]byte{0xA5}, 300))
		}},
		{name: "png-data-short-of-its-size.png", want: []string{"decoding PNG"}, data: func(t testing.TB) []byte {
			p := pngOf(t, 100, 100, nil)
			return pngFile(100, 200, p[8+25+8:len(p)-12-4]) // the IDAT of 100 rows, claiming 200
		}},
		// BMP
		{name: "bmp-100000x100000.bmp", tooLarge: true, want: []string{"BMP of 100000x100000", over}, data: func(t testing.TB) []byte {
			return bmpHeader(40, 100000, 100000, nil)
		}},
		{name: "bmp-10000x10000.bmp", tooLarge: true, want: []string{"BMP of 10000x10000", "100 megapixels", over}, data: func(t testing.TB) []byte {
			return bmpHeader(40, 10000, 10000, make([]byte, 64))
		}},
		{name: "bmp-height-int-min.bmp", tooLarge: true, want: []string{"BMP of 1x2147483647"}, data: func(t testing.TB) []byte {
			return bmpHeader(40, 1, -1<<31, make([]byte, 64))
		}},
		{name: "bmp-negative-width.bmp", want: []string{"BMP", "no picture"}, data: func(t testing.TB) []byte {
			return bmpHeader(40, -8, 8, make([]byte, 256))
		}},
		{name: "bmp-os2-65535x65535.bmp", tooLarge: true, want: []string{"BMP of 65535x65535"}, data: func(t testing.TB) []byte {
			return bmpHeader(12, 65535, 65535, nil)
		}},
		{name: "bmp-info-header-of-20-bytes.bmp", want: []string{"BMP", "info header of 20 bytes"}, data: func(t testing.TB) []byte {
			return bmpHeader(20, 8, 8, make([]byte, 256))
		}},
		{name: "bmp-truncated-in-header.bmp", want: []string{"truncated BMP"}, data: func(t testing.TB) []byte {
			return bmpHeader(40, 8, 8, nil)[:20]
		}},
		{name: "bmp-pixels-missing.bmp", want: []string{"decoding BMP"}, data: func(t testing.TB) []byte {
			return bmpHeader(40, 64, 64, make([]byte, 100))
		}},
		// WebP
		{name: "webp-vp8x-16384x16384.webp", tooLarge: true, want: []string{"WebP of 16384x16384", "268 megapixels", over}, data: func(t testing.TB) []byte {
			return riff(vp8x(0, 16384, 16384), vp8l(16384, 16384, make([]byte, 16)))
		}},
		{name: "webp-vp8l-16384x16384.webp", tooLarge: true, want: []string{"WebP of 16384x16384"}, data: func(t testing.TB) []byte {
			return riff(vp8l(16384, 16384, make([]byte, 16)))
		}},
		{name: "webp-vp8x-canvas-larger-than-its-frame.webp", want: []string{"WebP"}, data: func(t testing.TB) []byte {
			return riff(vp8x(0, 4000, 4000), vp8l(16, 16, make([]byte, 16)))
		}},
		{name: "webp-vp8l-garbage.webp", want: []string{"decoding WebP"}, data: func(t testing.TB) []byte {
			return riff(vp8l(64, 64, bytes.Repeat([]byte{0x5A}, 64)))
		}},
		{name: "webp-animated.webp", want: []string{"WebP"}, data: func(t testing.TB) []byte {
			return riff(vp8x(1<<1, 64, 64), webpChunk("ANIM", make([]byte, 6)))
		}},
		{name: "webp-truncated.webp", want: []string{"WebP"}, data: func(t testing.TB) []byte {
			return riff(vp8x(0, 64, 64))[:20]
		}},
		// Not pictures we read
		{name: "tiff-little-endian.tif", want: []string{"TIFF is not read"}, data: func(t testing.TB) []byte {
			return []byte("II*\x00\x08\x00\x00\x00\x00\x00")
		}},
		{name: "ppm-65535x65535.ppm", want: []string{"not an image"}, data: func(t testing.TB) []byte {
			return []byte("P6\n65535 65535\n255\n")
		}},
		{name: "empty.jpg", want: []string{"not an image"}, data: func(t testing.TB) []byte { return nil }},
	}
}

// TestHostileFiles runs every file of the corpus through Prepare: each
// ends with the error it must, a *TooLargeError (naming the claimed size
// and the limit) for those over the limit, and never a panic or abort.
func TestHostileFiles(t *testing.T) {
	if *update {
		if err := os.MkdirAll(hostileDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(hostileDir, "*"))
		for _, f := range old {
			os.Remove(f)
		}
		for _, c := range hostileFiles() {
			if err := os.WriteFile(filepath.Join(hostileDir, c.name), c.data(t), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := map[string]bool{}
	for _, c := range hostileFiles() {
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			matleak.Check(t)
			data, err := os.ReadFile(filepath.Join(hostileDir, c.name))
			if err != nil {
				t.Fatalf("%v (go test -run TestHostileFiles -update makes the corpus)", err)
			}
			p, err := Prepare(data, Options{MaxSide: 1000})
			var tl *TooLargeError
			switch {
			case c.tooLarge && !errors.As(err, &tl):
				t.Fatalf("Prepare: %v, want a *TooLargeError", err)
			case !c.tooLarge && errors.As(err, &tl):
				t.Fatalf("Prepare: %v, want no *TooLargeError", err)
			case len(c.want) == 0 && err != nil:
				t.Fatalf("Prepare: %v, want success", err)
			case len(c.want) > 0 && err == nil:
				t.Fatalf("Prepare succeeded (%dx%d), want an error saying %q", p.Width, p.Height, c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if err == nil {
				if _, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG)); err != nil {
					t.Errorf("prepared JPEG does not read: %v", err)
				}
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(hostileDir, "*"))
	for _, f := range files {
		if !names[filepath.Base(f)] {
			t.Errorf("%s is not made by hostileFiles (go test -run TestHostileFiles -update)", f)
		}
	}
}

// hostileSeeds adds the corpus and some whole pictures of every format to
// a fuzz test's seeds.
func hostileSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus in %s: %v", hostileDir, err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	img := noise(24, 16, 41)
	f.Add(encodeJPEG(f, img, 80))
	f.Add(withOrientation(encodeJPEG(f, img, 80), "MM", 6))
	f.Add(encodePNG(f, img))
	f.Add(encodeCV(f, img, ".bmp"))
	f.Add(encodeCV(f, img, ".webp"))
	f.Add(cmykJPEG([][][4]byte{{{1, 2, 3, 4}}}))
}

// FuzzReadHeader: the header readers never panic, and what they accept is
// a picture of sensible size that Check judges by its pixel count.
func FuzzReadHeader(f *testing.F) {
	hostileSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(b)
		if err != nil {
			return
		}
		if h.Width < 1 || h.Height < 1 {
			t.Fatalf("ReadHeader accepted a %dx%d %s", h.Width, h.Height, h.Format)
		}
		if err := h.Check(1000); (err == nil) != (h.Pixels() <= 1000) {
			t.Fatalf("Check(1000) of %d pixels: %v", h.Pixels(), err)
		}
		if err := h.Check(MaxPixelsCeiling); (err == nil) != (h.Width <= MaxSideLimit && h.Height <= MaxSideLimit && h.Pixels() <= MaxPixelsCeiling) {
			t.Fatalf("Check(ceiling) of %dx%d: %v", h.Width, h.Height, err)
		}
	})
}

// FuzzPrepare runs the whole path of a picture file, OpenCV's decoders
// included, under a small pixel limit (so that each input decodes fast):
// no input may panic, abort or leak a Mat, and a picture it accepts is a
// JPEG of the size it reports, within the limits.
func FuzzPrepare(f *testing.F) {
	hostileSeeds(f)
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, b []byte) {
		matleak.Check(t)
		o := Options{MaxSide: 256, MaxPixels: limit}
		p, err := Prepare(b, o)
		if err != nil {
			return
		}
		if int64(p.Width)*int64(p.Height) > limit {
			t.Fatalf("accepted a %dx%d picture over the %d-pixel limit", p.Width, p.Height, limit)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG))
		if err != nil {
			t.Fatalf("prepared JPEG does not read: %v", err)
		}
		want := image.Pt(p.Width, p.Height)
		if p.Scale != 1 {
			want = image.Pt(max(1, int(float64(p.Width)*p.Scale+0.5)), max(1, int(float64(p.Height)*p.Scale+0.5)))
		}
		if got := image.Pt(cfg.Width, cfg.Height); got != want || max(got.X, got.Y) > o.MaxSide {
			t.Fatalf("prepared JPEG is %v, want %v (picture %dx%d, scale %v)", got, want, p.Width, p.Height, p.Scale)
		}
	})
}
