package picture

import (
	"bytes"
	"encoding/binary"
)

// jpegComplete walks a JPEG's markers and entropy-coded segments and tells
// whether the stream reaches its end-of-image marker. Data after the marker
// (phones append videos and maker notes) is allowed; OpenCV's decoder fills
// a truncated picture with grey instead of failing, so this is how a cut
// download is told from a picture.
func jpegComplete(b []byte) bool {
	i := 2 // after SOI
	for i+1 < len(b) {
		if b[i] != 0xFF {
			return false
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0xD9: // EOI
			return true
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // markers without a length
			i += 2
			continue
		}
		if i+4 > len(b) {
			return false
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
		if m != 0xDA { // not SOS: the segment is all there is
			continue
		}
		// Entropy-coded data runs to the next marker; 0xFF is stuffed as
		// FF 00 inside it, and FF D0-D7 are restart markers.
		for {
			j := bytes.IndexByte(b[min(i, len(b)):], 0xFF)
			if j < 0 {
				return false
			}
			i += j
			if i+1 >= len(b) {
				return false
			}
			if n := b[i+1]; n == 0x00 || (n >= 0xD0 && n <= 0xD7) {
				i += 2
				continue
			} else if n == 0xFF {
				i++
				continue
			}
			break
		}
	}
	return false
}

// jpegSegments walks a JPEG's marker segments before its image data, as
// libjpeg and jpegComplete walk them, calling fn with each segment's marker,
// declared length and body (cut short where the data ends) until fn
// returns false. It stops at the image data (SOS), the end (EOI), a length
// too small to count its own two bytes, or bytes that are not a marker: a
// parser out of step with the decoder could land on arbitrary bytes of a
// file it accepted.
func jpegSegments(b []byte, fn func(m byte, n int, body []byte) bool) {
	i := 2
	for i+4 <= len(b) && b[i] == 0xFF {
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // markers without a length
			i += 2
			continue
		case m == 0xDA || m == 0xD9:
			return
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || !fn(m, n, b[i+4:min(len(b), i+2+n)]) {
			return
		}
		i += 2 + n
	}
}

// orientation returns the EXIF orientation of a JPEG (1-8), or 0 if it has
// none. Values other than 1 mean the pixels must be turned to be upright.
func orientation(b []byte) int {
	o := 0
	jpegSegments(b, func(m byte, _ int, body []byte) bool {
		if m == 0xE1 && bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
			o = exifOrientation(body[6:])
			return false
		}
		return true
	})
	return o
}

func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd > len(t)-2 { // not ifd+2: it overflows int on 32-bit ARM
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			return int(bo.Uint16(t[e+8:]))
		}
	}
	return 0
}
