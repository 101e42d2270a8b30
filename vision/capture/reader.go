package capture

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"gocv.io/x/gocv"

	"joren/vision/frame"
	"joren/vision/picture"
)

// reader is one open connection to a source. Readers are used by one
// goroutine, which also closes them.
type reader interface {
	// next reads the next frame into a buffer from get. It returns io.EOF
	// at the natural end of a recording, errUnreadable for a frame to skip,
	// and any other error when the source is lost.
	next(get func(int) []byte) (frame.Image, error)
	// skip passes over one frame without decoding it (io.EOF past the end
	// of a recording).
	skip() error
	// index is the position of the next frame in a recording.
	index() int
	// rate is the source's frame rate (frames per second).
	rate() float64
	// info describes the open source for the log.
	info() string
	close()
}

// errUnreadable marks one frame that cannot be decoded (a corrupt image in
// a folder): it is skipped and counted.
var errUnreadable = errors.New("unreadable frame")

// videoReader reads a device, a stream or a video file through OpenCV.
type videoReader struct {
	spec  Spec
	vc    *gocv.VideoCapture
	mat   gocv.Mat
	conv  gocv.Mat
	idx   int
	total int // frames in a file (0: unknown)
	fps   float64
	limit int64 // pixels in a frame (frameLimit)
}

// V4L2 and FFmpeg are asked for explicitly: OpenCV's "any" backend tries
// GStreamer and image sequences first and prints confusing errors for
// them.
func openVideo(spec Spec, o Options, from int) (*videoReader, error) {
	api := gocv.VideoCaptureFFmpeg
	switch spec.Kind {
	case Device:
		st, err := os.Stat(spec.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%s does not exist (camera unplugged, or another device path?)", spec.Path)
		case err != nil:
			return nil, err
		case st.Mode()&os.ModeCharDevice == 0:
			return nil, fmt.Errorf("%s is not a video device", spec.Path)
		}
		api = gocv.VideoCaptureV4L2
	case File:
		st, err := os.Stat(spec.Path)
		switch {
		case err != nil:
			return nil, err // *PathError names the file
		case st.IsDir():
			return nil, fmt.Errorf("%s is a folder", spec.Path)
		case st.Size() == 0:
			return nil, fmt.Errorf("%s is empty", spec.Path)
		}
	}
	vc, err := gocv.VideoCaptureFileWithAPI(spec.Path, api)
	if err != nil || !vc.IsOpened() {
		vc.Close()
		switch spec.Kind {
		case Device:
			return nil, fmt.Errorf("%s cannot be opened as a V4L2 camera (busy, or not a capture device)", spec.Path)
		case Stream:
			return nil, fmt.Errorf("%s cannot be opened (unreachable, refused, or not a video stream)", redact(spec.Path))
		}
		return nil, fmt.Errorf("%s is not a video OpenCV can read (corrupt or unsupported format)", spec.Path)
	}
	r := &videoReader{spec: spec, vc: vc, mat: gocv.NewMat(), conv: gocv.NewMat(), limit: frameLimit(o)}
	if spec.Kind == Device {
		if o.Width > 0 && o.Height > 0 {
			// MJPG lets USB 2 cameras send 720p at full rate.
			vc.Set(gocv.VideoCaptureFOURCC, vc.ToCodec("MJPG"))
			vc.Set(gocv.VideoCaptureFrameWidth, float64(o.Width))
			vc.Set(gocv.VideoCaptureFrameHeight, float64(o.Height))
		}
		if o.FPS > 0 {
			vc.Set(gocv.VideoCaptureFPS, o.FPS)
		}
	}
	if err := checkFrameSize(int(vc.Get(gocv.VideoCaptureFrameWidth)), int(vc.Get(gocv.VideoCaptureFrameHeight)), r.limit); err != nil {
		r.close()
		return nil, fmt.Errorf("%s: %w", redact(spec.Path), err)
	}
	r.fps = vc.Get(gocv.VideoCaptureFPS)
	if o.FPS > 0 && spec.Kind != Device {
		r.fps = o.FPS
	}
	if r.fps <= 0 || r.fps > 1000 {
		r.fps = DefaultFPS
	}
	if spec.Kind == File {
		r.total = int(vc.Get(gocv.VideoCaptureFrameCount))
		if from > 0 {
			vc.Set(gocv.VideoCapturePosFrames, float64(from))
			r.idx = from
		}
	}
	return r, nil
}

func (r *videoReader) info() string {
	s := fmt.Sprintf("%.0fx%.0f at %.3g fps, %s", r.vc.Get(gocv.VideoCaptureFrameWidth), r.vc.Get(gocv.VideoCaptureFrameHeight), r.fps, strings.TrimRight(r.vc.CodecString(), "\x00 "))
	if r.total > 0 {
		s += fmt.Sprintf(", %d frames", r.total)
	}
	return s
}

func (r *videoReader) rate() float64 { return r.fps }
func (r *videoReader) index() int    { return r.idx }

func (r *videoReader) lost() error {
	switch r.spec.Kind {
	case Device:
		return errors.New("the camera stopped sending frames (unplugged or failed)")
	case Stream:
		return errors.New("the stream ended")
	}
	if r.total > 0 && r.idx < r.total {
		return fmt.Errorf("%s stops at frame %d of %d: truncated or corrupt", r.spec.Path, r.idx, r.total)
	}
	return io.EOF
}

func (r *videoReader) next(get func(int) []byte) (frame.Image, error) {
	if !r.vc.Read(&r.mat) || r.mat.Empty() {
		return frame.Image{}, r.lost()
	}
	r.idx++
	m := r.mat
	if err := checkFrameSize(m.Cols(), m.Rows(), r.limit); err != nil {
		// The stream changed its size: the source is lost, and
		// reopening it refuses it with the same error.
		return frame.Image{}, fmt.Errorf("frame %d: %w", r.idx-1, err)
	}
	switch m.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(m, &r.conv, gocv.ColorGrayToBGR)
		m = r.conv
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(m, &r.conv, gocv.ColorBGRAToBGR)
		m = r.conv
	default:
		return frame.Image{}, fmt.Errorf("frame %d has OpenCV type %v, not 8-bit colour", r.idx-1, m.Type())
	}
	return copyMat(m, get)
}

func (r *videoReader) skip() error {
	if r.total > 0 && r.idx >= r.total {
		return io.EOF
	}
	r.vc.Grab(1)
	r.idx++
	return nil
}

func (r *videoReader) close() {
	r.mat.Close()
	r.conv.Close()
	r.vc.Close()
}

// copyMat copies a CV_8UC3 Mat into Go memory.
func copyMat(m gocv.Mat, get func(int) []byte) (frame.Image, error) {
	w, h := m.Cols(), m.Rows()
	img := frame.Image{Pix: get(3 * w * h), Rows: h, Cols: w, Step: 3 * w}
	if m.IsContinuous() {
		p, err := m.DataPtrUint8()
		if err != nil {
			return frame.Image{}, fmt.Errorf("reading frame pixels: %w", err)
		}
		copy(img.Pix, p)
		return img, nil
	}
	c := m.Clone()
	defer c.Close()
	p, err := c.DataPtrUint8()
	if err != nil {
		return frame.Image{}, fmt.Errorf("reading frame pixels: %w", err)
	}
	copy(img.Pix, p)
	return img, nil
}

// imageExts names the picture files a folder source reads.
const imageExts = ".jpg, .jpeg, .png, .bmp, .webp"

func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".bmp", ".webp":
		return true
	}
	return false
}

// folderReader reads the images of a folder in natural order.
type folderReader struct {
	dir       string
	files     []string
	idx       int
	fps       float64
	last      string // the last file read, to resume after it
	maxPixels int64
}

func openFolder(spec Spec, o Options, after string) (*folderReader, error) {
	entries, err := os.ReadDir(spec.Path)
	if err != nil {
		return nil, err // *PathError names the folder
	}
	r := &folderReader{dir: spec.Path, fps: o.FPS, maxPixels: o.MaxPixels}
	if r.fps <= 0 {
		r.fps = DefaultFPS
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isImage(e.Name()) {
			r.files = append(r.files, e.Name())
		}
	}
	if len(r.files) == 0 {
		return nil, fmt.Errorf("%s has no images (%s)", spec.Path, imageExts)
	}
	slices.SortFunc(r.files, naturalCompare)
	if after != "" {
		r.idx = len(r.files)
		for i, f := range r.files {
			if naturalCompare(f, after) > 0 {
				r.idx = i
				break
			}
		}
	}
	return r, nil
}

func (r *folderReader) info() string {
	return fmt.Sprintf("%d images at %.3g fps", len(r.files), r.fps)
}

func (r *folderReader) rate() float64 { return r.fps }
func (r *folderReader) index() int    { return r.idx }
func (r *folderReader) close()        {}

func (r *folderReader) skip() error {
	if r.idx >= len(r.files) {
		return io.EOF
	}
	r.last = r.files[r.idx]
	r.idx++
	return nil
}

func (r *folderReader) next(get func(int) []byte) (frame.Image, error) {
	if r.idx >= len(r.files) {
		return frame.Image{}, io.EOF
	}
	name := r.files[r.idx]
	path := filepath.Join(r.dir, name)
	data, err := picture.ReadFile(path, r.maxPixels)
	if errors.Is(err, fs.ErrNotExist) {
		// The file was listed a moment ago: the folder is going away.
		return frame.Image{}, fmt.Errorf("%s vanished while being read: %w", r.dir, err)
	}
	r.idx++
	r.last = name
	if err != nil {
		return frame.Image{}, fmt.Errorf("%w: %w", errUnreadable, err)
	}
	// The header is checked against the pixel limit before anything is
	// decoded, and no OpenCV exception leaves picture.Decode.
	m, _, err := picture.Decode(data, picture.Options{MaxPixels: r.maxPixels})
	if err != nil {
		return frame.Image{}, fmt.Errorf("%w: %s: %w", errUnreadable, path, err)
	}
	defer m.Close()
	return copyMat(m, get)
}

// naturalCompare orders names with their digit runs compared as numbers:
// frame2.jpg before frame10.jpg.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := unicode.IsDigit(rune(a[0])), unicode.IsDigit(rune(b[0]))
		if da && db {
			na, ra := digits(a)
			nb, rb := digits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := len(ta) - len(tb); c != 0 {
				return c
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}
