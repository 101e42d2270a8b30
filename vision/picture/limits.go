package picture

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultMaxPixels is the largest picture read unless a setting says
// otherwise: 50 megapixels. It lets through every phone's full-resolution
// mode (48 and 50 MP) and full-frame cameras up to 45 MP, and keeps the
// worst picture of that size well within a 2 GB Raspberry Pi: preparing one
// adds at most 6.4 bytes a pixel, file included (an uncompressed BMP; 300
// MB), BenchmarkDecodeMemory's figures are in docs/reliability.md. A JPEG
// is decoded at a fraction of its size when it is to be scaled down
// (Options.MaxSide) and costs far less (2.2 bytes a pixel).
const DefaultMaxPixels = 50_000_000

// MaxPixelsCeiling is the most any setting may allow: 2^28 pixels (268
// megapixels; a 200 MP phone picture fits). OpenCV is told the same limit
// (OpenCVEnv), so that a picture whose header fooled the check is still
// refused by the decoder, with an error, before it allocates.
const MaxPixelsCeiling = 1 << 28

// The environment variables OpenCV reads its own limits from.
const (
	envMaxPixels = "OPENCV_IO_MAX_IMAGE_PIXELS"
	envMaxWidth  = "OPENCV_IO_MAX_IMAGE_WIDTH"
	envMaxHeight = "OPENCV_IO_MAX_IMAGE_HEIGHT"
)

// OpenCV's own defaults (modules/imgcodecs/src/loadsave.cpp).
const (
	opencvDefaultPixels = 1 << 30
	opencvDefaultSide   = 1 << 20
)

// OpenCVEnv returns the "NAME=VALUE" settings of OpenCV's image size limits
// that lookup (os.LookupEnv) does not find: the pixel limit at
// MaxPixelsCeiling, width and height at MaxSideLimit. OpenCV reads them
// once, when its library is loaded, before any Go code runs, so a process
// can only set them for itself by starting again with them in its
// environment (the binary's main does). A value already set is the
// operator's and is kept; MaxPixels then never exceeds it.
func OpenCVEnv(lookup func(string) (string, bool)) []string {
	var add []string
	for _, kv := range []struct {
		name  string
		value int64
	}{{envMaxPixels, MaxPixelsCeiling}, {envMaxWidth, MaxSideLimit}, {envMaxHeight, MaxSideLimit}} {
		if _, ok := lookup(kv.name); !ok {
			add = append(add, fmt.Sprintf("%s=%d", kv.name, kv.value))
		}
	}
	return add
}

// Limit is the pixel limit a setting of maxPixels enforces: maxPixels
// (<= 0: DefaultMaxPixels), never more than MaxPixels.
func Limit(maxPixels int64) int64 {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	return min(maxPixels, MaxPixels())
}

// MaxPixels is the largest pixel limit this process can enforce: the
// ceiling, or OpenCV's own limits from the environment if lower (a setting
// above them would let the header check pass pictures that OpenCV then
// refuses).
func MaxPixels() int64 {
	n := int64(MaxPixelsCeiling)
	if v, ok := opencvLimit(envMaxPixels, opencvDefaultPixels); ok {
		n = min(n, v)
	}
	return n
}

// maxSide is the longest side this process can decode.
func maxSide() int {
	n := int64(MaxSideLimit)
	for _, name := range []string{envMaxWidth, envMaxHeight} {
		if v, ok := opencvLimit(name, opencvDefaultSide); ok {
			n = min(n, v)
		}
	}
	return int(n)
}

// CheckMaxPixels says what is wrong with a pixel limit from a setting
// (name is its key or flag), or nil.
func CheckMaxPixels(name string, n int64) error {
	switch ceiling := MaxPixels(); {
	case n < 1:
		return fmt.Errorf("%s %d: want a pixel count of at least 1 (default %d)", name, n, DefaultMaxPixels)
	case n > ceiling && ceiling < MaxPixelsCeiling:
		return fmt.Errorf("%s %d: over OpenCV's own limit %s=%d in the environment", name, n, envMaxPixels, ceiling)
	case n > ceiling:
		return fmt.Errorf("%s %d: over the most allowed, %d (%s)", name, n, ceiling, megapixels(ceiling))
	}
	return nil
}

// opencvLimit reads one of OpenCV's size_t settings as OpenCV parses it
// (digits, optionally KB or MB); ok is false when it is unset. An
// unparsable value is taken as OpenCV's default (OpenCV itself stops the
// process at load on one).
func opencvLimit(name string, def int64) (int64, bool) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return 0, false
	}
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "MB"), strings.HasSuffix(v, "Mb"), strings.HasSuffix(v, "mb"):
		mult, v = 1<<20, v[:len(v)-2]
	case strings.HasSuffix(v, "KB"), strings.HasSuffix(v, "Kb"), strings.HasSuffix(v, "kb"):
		mult, v = 1<<10, v[:len(v)-2]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return def, true
	}
	return n * mult, true
}
