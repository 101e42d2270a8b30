package capture

import (
	"fmt"

	"joren/vision/picture"
)

// frameLimit is the most pixels a frame of any source may have: the
// limit of pictures (Options.MaxPixels), since a frame is copied and held
// several times over (the decoder's, the pipeline's buffers, the preview).
// A hostile or misconfigured stream of huge frames would otherwise take
// the box's memory.
func frameLimit(o Options) int64 { return picture.Limit(o.MaxPixels) }

// checkFrameSize refuses frames of w x h over limit. A size of zero is
// unknown (some streams tell it with their first frame) and passes.
func checkFrameSize(w, h int, limit int64) error {
	if w <= 0 || h <= 0 {
		return nil
	}
	if px := int64(w) * int64(h); px > limit {
		return fmt.Errorf("frames of %dx%d (%s) are over the pixel limit of %s", w, h, pixels(px), pixels(limit))
	}
	return nil
}

func pixels(n int64) string {
	if n >= 10_000_000 {
		return fmt.Sprintf("%.2f megapixels", float64(n)/1e6)
	}
	return fmt.Sprintf("%d pixels", n)
}
