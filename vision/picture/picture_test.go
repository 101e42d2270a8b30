package picture

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/internal/matleak"
)

// TestMatProfileOn guards the leak checks: without gocv's profile they
// would pass by counting nothing.
func TestMatProfileOn(t *testing.T) { matleak.Required(t) }

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// layout says where a prepared two-tone picture's colours must be.
type layout int

const (
	anyLayout layout = iota
	leftRight
	rightLeft // left colour on the right (rotated 180°)
	topBottom
	bottomTop
)

// checkLayout checks that img shows first and second in two halves as l
// says, sampling the middle of each half (away from blurred edges).
func checkLayout(t *testing.T, img image.Image, l layout, first, second color.Color) {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var p1, p2 image.Point
	switch l {
	case anyLayout:
		return
	case leftRight:
		p1, p2 = image.Pt(w/4, h/2), image.Pt(3*w/4, h/2)
	case rightLeft:
		p1, p2 = image.Pt(3*w/4, h/2), image.Pt(w/4, h/2)
	case topBottom:
		p1, p2 = image.Pt(w/2, h/4), image.Pt(w/2, 3*h/4)
	case bottomTop:
		p1, p2 = image.Pt(w/2, 3*h/4), image.Pt(w/2, h/4)
	}
	const tol = 24 // JPEG at quality 95 of flat colours
	if c := img.At(b.Min.X+p1.X, b.Min.Y+p1.Y); !near(c, first, tol) {
		t.Errorf("pixel %v of the prepared %dx%d picture is %s, want about %s", p1, w, h, rgbString(c), rgbString(first))
	}
	if c := img.At(b.Min.X+p2.X, b.Min.Y+p2.Y); !near(c, second, tol) {
		t.Errorf("pixel %v of the prepared %dx%d picture is %s, want about %s", p2, w, h, rgbString(c), rgbString(second))
	}
}

func TestPrepare(t *testing.T) {
	rb := twoTone(48, 32, red, blue)
	rbJPEG := encodeJPEG(t, rb, 95)
	grayImg := image.NewGray(image.Rect(0, 0, 48, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			grayImg.SetGray(x, y, color.Gray{Y: map[bool]uint8{true: 50, false: 200}[x < 24]})
		}
	}
	deep := image.NewNRGBA64(rb.Bounds())
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			deep.Set(x, y, rb.At(x, y))
		}
	}
	cmyk := cmykJPEG([][][4]byte{
		// Stored inverted (Adobe): red is C=0 M=Y=255 K=0.
		{{255, 0, 0, 255}, {255, 0, 0, 255}, {0, 0, 255, 255}, {0, 0, 255, 255}},
		{{255, 0, 0, 255}, {255, 0, 0, 255}, {0, 0, 255, 255}, {0, 0, 255, 255}},
	})
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(cmyk)); err != nil || cfg.ColorModel != color.CMYKModel || cfg.Width != 32 || cfg.Height != 16 {
		t.Fatalf("hand-made CMYK fixture: image/jpeg reads %+v, %v; want a 32x16 CMYK JPEG", cfg, err)
	}
	if img, err := jpeg.Decode(bytes.NewReader(cmyk)); err != nil || !near(img.At(4, 4), red, 2) || !near(img.At(28, 12), blue, 2) {
		t.Fatalf("hand-made CMYK fixture does not decode to red and blue with image/jpeg: %v", err)
	}
	big := twoTone(200, 100, red, blue)
	gray80 := color.Gray{Y: 50}
	gray200 := color.Gray{Y: 200}

	for _, c := range []struct {
		name      string
		data      []byte
		opts      Options
		reencoded bool
		w, h      int     // original, upright
		scale     float64 // want Scale
		pw, ph    int     // prepared size
		layout    layout
		c1, c2    color.Color
	}{
		{"3-channel JPEG passes through", rbJPEG, Options{}, false, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"3-channel JPEG as large as MaxSide passes through", rbJPEG, Options{MaxSide: 48}, false, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"3-channel JPEG smaller than MaxSide passes through", rbJPEG, Options{MaxSide: 1000}, false, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"progressive JPEG passes through", encodeCV(t, rb, gocv.JPEGFileExt, gocv.IMWriteJpegProgressive, 1), Options{}, false, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"EXIF orientation 1 passes through", withOrientation(rbJPEG, "MM", 1), Options{}, false, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"PNG", encodePNG(t, rb), Options{}, true, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"16-bit PNG", encodePNG(t, deep), Options{}, true, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"grayscale PNG", encodePNG(t, grayImg), Options{}, true, 48, 32, 1, 48, 32, leftRight, gray80, gray200},
		{"BMP", encodeCV(t, rb, ".bmp"), Options{}, true, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"WebP", encodeCV(t, rb, ".webp", gocv.IMWriteWebpQuality, 101), Options{}, true, 48, 32, 1, 48, 32, leftRight, red, blue},
		{"grayscale JPEG", encodeJPEG(t, grayImg, 95), Options{}, true, 48, 32, 1, 48, 32, leftRight, gray80, gray200},
		{"CMYK JPEG", cmyk, Options{}, true, 32, 16, 1, 32, 16, leftRight, red, blue},
		{"EXIF orientation 6 (II)", withOrientation(rbJPEG, "II", 6), Options{}, true, 32, 48, 1, 32, 48, topBottom, red, blue},
		{"EXIF orientation 6 (MM)", withOrientation(rbJPEG, "MM", 6), Options{}, true, 32, 48, 1, 32, 48, topBottom, red, blue},
		{"EXIF orientation 8", withOrientation(rbJPEG, "MM", 8), Options{}, true, 32, 48, 1, 32, 48, bottomTop, red, blue},
		{"EXIF orientation 3", withOrientation(rbJPEG, "II", 3), Options{}, true, 48, 32, 1, 48, 32, rightLeft, red, blue},
		{"EXIF orientation 6 and MaxSide", withOrientation(rbJPEG, "II", 6), Options{MaxSide: 24}, true, 32, 48, 0.5, 16, 24, topBottom, red, blue},
		{"MaxSide scales a JPEG down", encodeJPEG(t, big, 95), Options{MaxSide: 50}, true, 200, 100, 0.25, 50, 25, leftRight, red, blue},
		{"MaxSide by a third rounds the size", encodeJPEG(t, twoTone(300, 200, red, blue), 95), Options{MaxSide: 100}, true, 300, 200, 1.0 / 3, 100, 67, leftRight, red, blue},
		{"MaxSide on a tall picture", encodeJPEG(t, twoTone(60, 240, red, blue), 95), Options{MaxSide: 120}, true, 60, 240, 0.5, 30, 120, leftRight, red, blue},
		{"MaxSide scales a PNG down", encodePNG(t, big), Options{MaxSide: 100}, true, 200, 100, 0.5, 100, 50, leftRight, red, blue},
		{"MaxSide larger than a PNG", encodePNG(t, big), Options{MaxSide: 400}, true, 200, 100, 1, 200, 100, leftRight, red, blue},
	} {
		t.Run(c.name, func(t *testing.T) {
			matleak.Check(t)
			in := bytes.Clone(c.data)
			p, err := Prepare(in, c.opts)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if !bytes.Equal(in, c.data) {
				t.Error("Prepare changed its input")
			}
			if p.Reencoded != c.reencoded {
				t.Errorf("Reencoded = %v, want %v", p.Reencoded, c.reencoded)
			}
			if !p.Reencoded && !bytes.Equal(p.JPEG, c.data) {
				t.Errorf("JPEG passed through is not byte-identical (%d bytes, input %d)", len(p.JPEG), len(c.data))
			}
			if p.Reencoded && bytes.Equal(p.JPEG, c.data) {
				t.Error("Reencoded, but JPEG equals the input")
			}
			if p.Width != c.w || p.Height != c.h {
				t.Errorf("Width, Height = %d, %d, want %d, %d (original, upright)", p.Width, p.Height, c.w, c.h)
			}
			if d := p.Scale - c.scale; d > 1e-9 || d < -1e-9 {
				t.Errorf("Scale = %v, want %v", p.Scale, c.scale)
			}
			if p.Reencoded {
				if cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG)); err != nil || cfg.ColorModel != color.YCbCrModel {
					t.Errorf("re-encoded JPEG: image/jpeg reads colour model %v (%v), want YCbCr", cfg.ColorModel, err)
				}
				if !jpegComplete(p.JPEG) {
					t.Error("re-encoded JPEG is not complete")
				}
				if o := orientation(p.JPEG); o > 1 {
					t.Errorf("re-encoded JPEG still has EXIF orientation %d", o)
				}
			}
			img := decodeJPEG(t, p.JPEG)
			if got := img.Bounds().Size(); got != image.Pt(c.pw, c.ph) {
				t.Errorf("prepared picture is %v, want %dx%d", got, c.pw, c.ph)
			}
			if c.opts.MaxSide > 0 && max(img.Bounds().Dx(), img.Bounds().Dy()) > c.opts.MaxSide {
				t.Errorf("prepared picture %v exceeds MaxSide %d", img.Bounds().Size(), c.opts.MaxSide)
			}
			checkLayout(t, img, c.layout, c.c1, c.c2)
		})
	}
}

// TestPrepareUnscaleFindsTheOriginal locates a square in the scaled-down
// picture and maps it back with Unscale and UnscalePoint.
func TestPrepareUnscaleFindsTheOriginal(t *testing.T) {
	matleak.Check(t)
	img := image.NewNRGBA(image.Rect(0, 0, 400, 240))
	for i := range img.Pix {
		img.Pix[i] = 255 // white
	}
	square := image.Rect(240, 80, 320, 160)
	for y := square.Min.Y; y < square.Max.Y; y++ {
		for x := square.Min.X; x < square.Max.X; x++ {
			img.Set(x, y, color.Black)
		}
	}
	p, err := Prepare(encodePNG(t, img), Options{MaxSide: 100})
	if err != nil {
		t.Fatal(err)
	}
	if p.Scale != 0.25 {
		t.Fatalf("Scale = %v, want 0.25", p.Scale)
	}
	small := decodeJPEG(t, p.JPEG)
	found := image.Rectangle{}
	for y := small.Bounds().Min.Y; y < small.Bounds().Max.Y; y++ {
		for x := small.Bounds().Min.X; x < small.Bounds().Max.X; x++ {
			if r, _, _, _ := small.At(x, y).RGBA(); r>>8 < 128 {
				found = found.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if want := image.Rect(60, 20, 80, 40); found != want {
		t.Fatalf("dark square in the prepared picture at %v, want %v", found, want)
	}
	if got := p.Unscale(found); got != square {
		t.Errorf("Unscale(%v) = %v, want the original %v", found, got, square)
	}
	if got := p.UnscalePoint(found.Min); got != square.Min {
		t.Errorf("UnscalePoint(%v) = %v, want %v", found.Min, got, square.Min)
	}
}

func TestUnscale(t *testing.T) {
	for _, c := range []struct {
		scale float64
		in    image.Rectangle
		want  image.Rectangle
	}{
		{1, image.Rect(3, 4, 10, 20), image.Rect(3, 4, 10, 20)},
		{0.5, image.Rect(3, 4, 10, 20), image.Rect(6, 8, 20, 40)},
		{0.25, image.Rect(-2, 0, 1, 1), image.Rect(-8, 0, 4, 4)},
		{1.0 / 3, image.Rect(33, 1, 66, 100), image.Rect(99, 3, 198, 300)},
		{0.3, image.Rect(1, 2, 3, 4), image.Rect(3, 7, 10, 13)}, // 3.33, 6.67, 10, 13.33 rounded
	} {
		p := Prepared{Scale: c.scale}
		if got := p.Unscale(c.in); got != c.want {
			t.Errorf("Scale %v: Unscale(%v) = %v, want %v", c.scale, c.in, got, c.want)
		}
		if got := p.UnscalePoint(c.in.Min); got != c.want.Min {
			t.Errorf("Scale %v: UnscalePoint(%v) = %v, want %v", c.scale, c.in.Min, got, c.want.Min)
		}
		if got := p.UnscalePoint(c.in.Max); got != c.want.Max {
			t.Errorf("Scale %v: UnscalePoint(%v) = %v, want %v", c.scale, c.in.Max, got, c.want.Max)
		}
	}
}

func TestPrepareErrors(t *testing.T) {
	rb := twoTone(64, 48, red, blue)
	jpg := encodeJPEG(t, noise(64, 48, 21), 90)
	pngData := encodePNG(t, rb)
	r := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	random[0] = 'x' // surely no magic number
	webp := encodeCV(t, noise(64, 48, 22), ".webp")
	bmp := encodeCV(t, noise(64, 48, 23), ".bmp")

	for _, c := range []struct {
		name     string
		data     []byte
		want     []string // all in the error text
		notImage bool     // errors.Is(err, ErrNotImage)
	}{
		{"JPEG cut in its scan data", jpg[:len(jpg)/2], []string{"truncated", "JPEG", "end-of-image"}, false},
		{"JPEG cut just before EOI", jpg[:len(jpg)-1], []string{"truncated", "JPEG"}, false},
		{"JPEG cut in its headers", jpg[:40], []string{"truncated", "JPEG"}, false},
		{"progressive JPEG cut between scans", progressiveCut(t), []string{"truncated", "JPEG"}, false},
		{"JPEG magic only", []byte{0xFF, 0xD8, 0xFF}, []string{"truncated", "JPEG"}, false},
		{"JPEG with no frame header", []byte{0xFF, 0xD8, 0xFF, 0xD9}, []string{"JPEG header"}, false},
		{"PNG cut in half", pngData[:len(pngData)/2], []string{"png", "truncated"}, false},
		{"PNG without its last chunk", pngData[:len(pngData)-12], []string{"png", "truncated"}, false},
		{"PNG header only", pngData[:33], []string{"png", "truncated"}, false},
		{"PNG magic only", pngData[:8], []string{"png", "truncated"}, false},
		{"WebP cut in half", webp[:len(webp)/2], []string{"webp", "truncated"}, false},
		{"BMP cut in half", bmp[:len(bmp)/2], []string{"bmp", "truncated"}, false},
		{"TIFF, which is not read", encodeCV(t, rb, ".tiff"), []string{"TIFF is not read", "convert it"}, false},
		{"random bytes", random, []string{"not an image", "unknown format", `"x`}, true},
		{"text", []byte("<html><body>404 Not Found</body></html>"), []string{"not an image", "<html><b"}, true},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), []string{"not an image", "GIF89a"}, true},
		{"empty", nil, []string{"not an image"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			matleak.Check(t)
			p, err := Prepare(c.data, Options{MaxSide: 1000})
			if err == nil {
				t.Fatalf("Prepare succeeded (%d-byte JPEG, %dx%d), want an error", len(p.JPEG), p.Width, p.Height)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if got := errors.Is(err, ErrNotImage); got != c.notImage {
				t.Errorf("errors.Is(%q, ErrNotImage) = %v, want %v", err, got, c.notImage)
			}
			if p.JPEG != nil {
				t.Errorf("error, yet %d bytes of JPEG returned", len(p.JPEG))
			}
		})
	}
}

// progressiveCut is a progressive JPEG cut right after its first scan: a
// picture OpenCV would show blurred, without complaint.
func progressiveCut(t *testing.T) []byte {
	t.Helper()
	b := encodeCV(t, noise(64, 48, 24), gocv.JPEGFileExt, gocv.IMWriteJpegProgressive, 1)
	first := bytes.Index(b, []byte{0xFF, 0xDA})
	second := bytes.Index(b[first+2:], []byte{0xFF, 0xDA})
	if first < 0 || second < 0 {
		t.Fatal("progressive fixture has fewer than two scans")
	}
	// Everything before the second scan's marker, header segments included.
	return b[:first+2+second]
}

// TestPrepareMalformedHeaderDoesNotPanic: a JPEG that libjpeg, image/jpeg
// and jpegComplete accept, but whose header segments a parser that does
// not know restart markers reads out of phase, landing on a segment of
// length 1. orientation once sliced b[i+4:i+3] there and panicked inside
// Prepare: a crafted upload could crash the program.
func TestPrepareMalformedHeaderDoesNotPanic(t *testing.T) {
	matleak.Check(t)
	base := encodeJPEG(t, twoTone(32, 16, red, blue), 90)
	data := []byte{0xFF, 0xD8, 0xFF, 0xD0} // SOI, a stray restart marker
	// Read as a segment, the restart marker's "length" is the next
	// marker, FF FE: 65534 bytes, ending at offset 2+2+65534 = 65538.
	data = append(data, app(0xFE, make([]byte, 1000))...) // a comment
	com := make([]byte, 65533)                            // a second one, around offset 65538
	at := 65538 - (len(data) + 4)
	copy(com[at:], []byte{0xFF, 0xE1, 0x00, 0x01})
	data = append(data, app(0xFE, com)...)
	data = append(data, base[2:]...)
	if !bytes.Equal(data[65538:65542], []byte{0xFF, 0xE1, 0x00, 0x01}) {
		t.Fatalf("fixture: bytes at 65538 are % x", data[65538:65542])
	}
	if !jpegComplete(data) {
		t.Fatal("fixture: jpegComplete = false; the case no longer reaches orientation")
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.ColorModel != color.YCbCrModel {
		t.Fatalf("fixture: image/jpeg reads %v, %v; the case no longer reaches orientation", cfg.ColorModel, err)
	}
	var p Prepared
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Prepare panicked: %v", r)
			}
		}()
		p, err = Prepare(data, Options{})
	}()
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if p.Width != 32 || p.Height != 16 || p.Reencoded {
		t.Errorf("Width, Height, Reencoded = %d, %d, %v; want 32, 16, false", p.Width, p.Height, p.Reencoded)
	}
	decodeJPEG(t, p.JPEG)
}

func TestFromMat(t *testing.T) {
	matleak.Check(t)
	t.Run("empty Mat", func(t *testing.T) {
		matleak.Check(t)
		m := gocv.NewMat()
		defer m.Close()
		_, err := FromMat(m, Options{})
		if err == nil || !strings.Contains(err.Error(), "empty picture") {
			t.Fatalf("FromMat(empty) error = %v, want one saying \"empty picture\"", err)
		}
	})
	t.Run("BGR frame, scaled, Mat left open", func(t *testing.T) {
		matleak.Check(t)
		// OpenCV frames are BGR: (255, 0, 0) is blue.
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 0, 0, 0), 120, 160, gocv.MatTypeCV8UC3)
		defer m.Close()
		p, err := FromMat(m, Options{MaxSide: 80})
		if err != nil {
			t.Fatal(err)
		}
		if m.Empty() || m.Cols() != 160 || m.Rows() != 120 {
			t.Fatalf("FromMat changed or closed its Mat: now %dx%d", m.Cols(), m.Rows())
		}
		if !p.Reencoded || p.Scale != 0.5 || p.Width != 160 || p.Height != 120 {
			t.Errorf("got Reencoded %v, Scale %v, %dx%d; want true, 0.5, 160x120", p.Reencoded, p.Scale, p.Width, p.Height)
		}
		img := decodeJPEG(t, p.JPEG)
		if img.Bounds().Size() != image.Pt(80, 60) {
			t.Errorf("prepared frame is %v, want 80x60", img.Bounds().Size())
		}
		if c := img.At(40, 30); !near(c, blue, 8) {
			t.Errorf("prepared frame is %s, want blue", rgbString(c))
		}
	})
}

// TestPrepareRealPhotos runs every shared face photo through Prepare, whole
// and scaled down, and checks that cutting it is detected.
func TestPrepareRealPhotos(t *testing.T) {
	dir := testenv.Faces(t)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no photos in %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			matleak.Check(t)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if Format(data) != "jpeg" {
				t.Fatalf("Format = %q, want jpeg", Format(data))
			}
			if !jpegComplete(data) {
				t.Fatal("jpegComplete = false for a whole photo")
			}
			for _, o := range []Options{{}, {MaxSide: 400}} {
				p, err := Prepare(data, o)
				if err != nil {
					t.Fatalf("Prepare(MaxSide %d): %v", o.MaxSide, err)
				}
				img := decodeJPEG(t, p.JPEG)
				want := image.Pt(p.Width, p.Height)
				if p.Scale != 1 {
					want = image.Pt(int(float64(p.Width)*p.Scale+0.5), int(float64(p.Height)*p.Scale+0.5))
				}
				if got := img.Bounds().Size(); got != want {
					t.Errorf("MaxSide %d: prepared picture is %v, want %v (original %dx%d, Scale %v)", o.MaxSide, got, want, p.Width, p.Height, p.Scale)
				}
				if o.MaxSide > 0 && max(want.X, want.Y) > o.MaxSide {
					t.Errorf("MaxSide %d: prepared picture is %v", o.MaxSide, want)
				}
				if !p.Reencoded && !bytes.Equal(p.JPEG, data) {
					t.Errorf("MaxSide %d: not re-encoded, yet the JPEG differs from the file", o.MaxSide)
				}
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				passThrough := cfg.ColorModel == color.YCbCrModel && orientation(data) <= 1 && (o.MaxSide == 0 || max(cfg.Width, cfg.Height) <= o.MaxSide)
				if p.Reencoded == passThrough {
					t.Errorf("MaxSide %d: Reencoded = %v for a %dx%d JPEG, colour model %v, orientation %d", o.MaxSide, p.Reencoded, cfg.Width, cfg.Height, cfg.ColorModel, orientation(data))
				}
			}
			for _, cut := range []int{len(data) / 3, len(data) - 2} {
				_, err := Prepare(data[:cut], Options{})
				if err == nil || !strings.Contains(err.Error(), "truncated") {
					t.Errorf("Prepare of the first %d of %d bytes: error %v, want one saying truncated", cut, len(data), err)
				}
			}
		})
	}
}
