package picture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

var (
	red  = color.NRGBA{R: 255, A: 255}
	blue = color.NRGBA{B: 255, A: 255}
)

// twoTone is a w×h picture whose left half is left and right half right.
func twoTone(w, h int, left, right color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				img.Set(x, y, left)
			} else {
				img.Set(x, y, right)
			}
		}
	}
	return img
}

// noise is a w×h picture of random pixels: its JPEG has long entropy-coded
// data with many stuffed 0xFF bytes.
func noise(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.UintN(256))
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

// encodeJPEG encodes img with Go's encoder: 3 components (YCbCr) for colour
// pictures, one for *image.Gray.
func encodeJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encodeCV encodes img with OpenCV (ext ".jpg", ".png", ".bmp", ".webp",
// ...), with OpenCV's IMWrite parameters.
func encodeCV(t testing.TB, img image.Image, ext gocv.FileExt, params ...int) []byte {
	t.Helper()
	m, err := gocv.ImageToMatRGB(img)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var buf *gocv.NativeByteBuffer
	if len(params) == 0 {
		buf, err = gocv.IMEncode(ext, m) // IMEncodeWithParams indexes params[0]
	} else {
		buf, err = gocv.IMEncodeWithParams(ext, m, params)
	}
	if err != nil {
		t.Fatalf("OpenCV encoding %s: %v", ext, err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// decodeJPEG decodes a prepared picture with Go's strict decoder and
// requires it to be a 3-component colour JPEG, what go-face reads.
func decodeJPEG(t testing.TB, b []byte) *image.YCbCr {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("prepared JPEG does not decode: %v", err)
	}
	ycc, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("prepared JPEG decodes as %T, want *image.YCbCr (3 components)", img)
	}
	return ycc
}

// near tells whether c is within tol of want in each of R, G and B.
func near(c color.Color, want color.Color, tol int) bool {
	r, g, b, _ := c.RGBA()
	wr, wg, wb, _ := want.RGBA()
	d := func(a, b uint32) bool {
		x := int(a>>8) - int(b>>8)
		return x <= tol && x >= -tol
	}
	return d(r, wr) && d(g, wg) && d(b, wb)
}

func rgbString(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("rgb(%d,%d,%d)", r>>8, g>>8, b>>8)
}

// exifTag is one IFD entry of type SHORT (3) with one value.
type exifTag struct {
	tag, value uint16
}

// exifSegment builds a JPEG APP1 segment (marker included) holding an EXIF
// TIFF header in byte order bo ("II" or "MM") and one IFD with tags.
func exifSegment(order string, tags ...exifTag) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	var tiff []byte
	tiff = append(tiff, order...)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8) // IFD0 right after the header
	tiff = bo.AppendUint16(tiff, uint16(len(tags)))
	for _, tg := range tags {
		tiff = bo.AppendUint16(tiff, tg.tag)
		tiff = bo.AppendUint16(tiff, 3) // SHORT
		tiff = bo.AppendUint32(tiff, 1) // count
		// A SHORT value sits in the first two bytes of the 4-byte field.
		tiff = bo.AppendUint16(tiff, tg.value)
		tiff = append(tiff, 0, 0)
	}
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	return app(0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

// app builds a marker segment with its length.
func app(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(len(payload)+2))
	return append(s, payload...)
}

// afterSOI inserts segments right after a JPEG's SOI marker.
func afterSOI(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// withOrientation is jpg with an EXIF orientation tag.
func withOrientation(jpg []byte, order string, o uint16) []byte {
	return afterSOI(jpg, exifSegment(order, exifTag{0x0112, o}))
}

// sosOffset is the offset of a JPEG's first start-of-scan marker.
func sosOffset(t testing.TB, jpg []byte) int {
	t.Helper()
	i := 2
	for i+4 <= len(jpg) {
		if jpg[i] != 0xFF {
			t.Fatalf("no marker at offset %d", i)
		}
		if jpg[i+1] == 0xDA {
			return i
		}
		i += 2 + int(binary.BigEndian.Uint16(jpg[i+2:]))
	}
	t.Fatal("no SOS marker")
	return 0
}

// cmykJPEG writes, by hand, a baseline JPEG with four components and
// Adobe's APP14 marker (transform 0: CMYK, stored inverted as Photoshop
// does), made of flat 8×8 blocks: blocks[row][col] is the stored (inverted)
// C, M, Y, K of each block. Flat blocks need only DC coefficients, which
// keeps the encoder small; Go's encoder cannot write CMYK and OpenCV's
// writes at most three channels.
func cmykJPEG(blocks [][][4]byte) []byte {
	rows, cols := len(blocks), len(blocks[0])
	var b []byte
	b = append(b, 0xFF, 0xD8)
	// Adobe APP14: "Adobe", version 100, flags0, flags1, transform 0.
	b = append(b, app(0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0})...)
	// One quantisation table of ones.
	dqt := []byte{0x00}
	for range 64 {
		dqt = append(dqt, 1)
	}
	b = append(b, app(0xDB, dqt)...)
	// SOF0: 8-bit, height, width, 4 components 1×1 sampled, table 0.
	sof := []byte{8}
	sof = binary.BigEndian.AppendUint16(sof, uint16(rows*8))
	sof = binary.BigEndian.AppendUint16(sof, uint16(cols*8))
	sof = append(sof, 4)
	for c := byte(1); c <= 4; c++ {
		sof = append(sof, c, 0x11, 0)
	}
	b = append(b, app(0xC0, sof)...)
	// DC table 0: categories 0-11, all with 4-bit codes 0000-1011.
	// AC table 0: EOB (0x00) = 00, and an unused symbol 0x01 = 01.
	dht := []byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for v := byte(0); v < 12; v++ {
		dht = append(dht, v)
	}
	dht = append(dht, 0x10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01)
	b = append(b, app(0xC4, dht)...)
	sos := []byte{4}
	for c := byte(1); c <= 4; c++ {
		sos = append(sos, c, 0x00)
	}
	sos = append(sos, 0, 63, 0)
	b = append(b, app(0xDA, sos)...)

	var w bitWriter
	var pred [4]int
	for _, row := range blocks {
		for _, blk := range row {
			for c := range 4 {
				// A flat block of value v has DC coefficient 8*(v-128).
				dc := 8 * (int(blk[c]) - 128)
				diff := dc - pred[c]
				pred[c] = dc
				cat, bits := 0, diff
				for a := max(diff, -diff); a > 0; a >>= 1 {
					cat++
				}
				if diff < 0 {
					bits = diff + (1 << cat) - 1
				}
				w.put(uint32(cat), 4) // the DC code of category cat
				w.put(uint32(bits), cat)
				w.put(0, 2) // EOB
			}
		}
	}
	b = append(b, w.flush()...)
	return append(b, 0xFF, 0xD9)
}

type bitWriter struct {
	out  []byte
	acc  uint32
	nacc int
}

func (w *bitWriter) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>i)&1
		w.nacc++
		if w.nacc == 8 {
			w.emit(byte(w.acc))
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) emit(c byte) {
	w.out = append(w.out, c)
	if c == 0xFF {
		w.out = append(w.out, 0x00)
	}
}

// flush pads the last byte with ones, as the standard asks.
func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.put(0xFF, 8-w.nacc)
	}
	return w.out
}
