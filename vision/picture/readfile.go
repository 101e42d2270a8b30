package picture

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileBytes is the largest picture file read under a pixel limit
// (maxPixels <= 0: DefaultMaxPixels): 4 bytes a pixel, what an
// uncompressed 32-bit BMP needs (a photo's JPEG needs a fraction of it),
// plus 16 MiB of metadata. A larger file cannot be a picture within the
// limit, and reading it whole would cost memory for nothing.
func MaxFileBytes(maxPixels int64) int64 {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	return 4*maxPixels + 16<<20
}

// ReadFile reads a picture file whole, refusing what is not a regular file
// (a FIFO or a device would never end) and a file larger than
// MaxFileBytes(maxPixels). Errors name the file.
func ReadFile(path string, maxPixels int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch limit := MaxFileBytes(maxPixels); {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file", path)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s: empty file", path)
	case st.Size() > limit:
		return nil, fmt.Errorf("%s: %.0f MB, larger than any picture within the limit of %s can be (%.0f MB)", path, float64(st.Size())/1e6, megapixels(maxOr(maxPixels)), float64(limit)/1e6)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: the file shrank while it was read", path)
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

func maxOr(maxPixels int64) int64 {
	if maxPixels <= 0 {
		return DefaultMaxPixels
	}
	return maxPixels
}
