package capture

// #cgo pkg-config: gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0
// #include <stdlib.h>
// #include "gst.h"
import "C"

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"joren/vision/frame"
)

// gstPoll is how long a wait for a frame lasts before the reader looks
// whether Run still wants it: a stalled pipeline is stopped (and its camera
// freed for the next attempt) within this time of being given up.
const gstPoll = 100 // milliseconds

// gstReader reads a GStreamer pipeline through its appsink, in joren's own
// code rather than OpenCV's GStreamer backend: OpenCV waits without a
// timeout for a frame that never comes, so a stalled camera would stay
// open (and busy) for ever, and it prints GStreamer's errors instead of
// returning them.
type gstReader struct {
	p     *C.jg_pipe
	desc  string // for the log, passwords hidden
	quit  <-chan struct{}
	idx   int
	fps   float64
	w, h  int
	limit int64 // pixels in a frame (frameLimit)
}

// checkPipeline builds the pipeline desc without starting it: a missing
// element or a typo is a mistake to report when the source is made, not a
// camera to wait for.
func checkPipeline(desc string) error {
	if msg := C.jg_init(); msg != nil {
		return fmt.Errorf("GStreamer cannot start: %s", takeString(msg))
	}
	p, err := parsePipeline(desc)
	if err != nil {
		return err
	}
	C.jg_close(p)
	return nil
}

func parsePipeline(desc string) (*C.jg_pipe, error) {
	cdesc, csink := C.CString(desc), C.CString(sinkName)
	defer C.free(unsafe.Pointer(cdesc))
	defer C.free(unsafe.Pointer(csink))
	var cerr, cmissing *C.char
	p := C.jg_open(cdesc, csink, &cerr, &cmissing)
	if p == nil {
		msg, missing := takeString(cerr), lines(takeString(cmissing))
		if len(missing) > 0 {
			return nil, missingElements(missing)
		}
		return nil, fmt.Errorf("GStreamer pipeline %q: %s", redactPipeline(desc), redactPipeline(msg))
	}
	return p, nil
}

// openGst builds and starts the pipeline desc and waits for its first
// frame, so that a camera that cannot start fails here, with the reason
// the element gives, rather than as a lost source.
func openGst(desc string, o Options, quit <-chan struct{}) (*gstReader, error) {
	if msg := C.jg_init(); msg != nil {
		return nil, fmt.Errorf("GStreamer cannot start: %s", takeString(msg))
	}
	p, err := parsePipeline(desc)
	if err != nil {
		return nil, err
	}
	r := &gstReader{p: p, desc: redactPipeline(desc), quit: quit}
	if msg := C.jg_play(p); msg != nil {
		r.close()
		return nil, fmt.Errorf("the pipeline cannot start: %s", redactPipeline(takeString(msg)))
	}
	if err := r.wait(); err != nil {
		r.close()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the pipeline ended before its first frame")
		}
		return nil, err
	}
	var w, h, n, d C.int
	if C.jg_info(p, &w, &h, &n, &d) == 0 {
		r.close()
		return nil, errors.New("the pipeline's frames are not BGR video")
	}
	r.w, r.h = int(w), int(h)
	r.limit = frameLimit(o)
	if err := checkFrameSize(r.w, r.h, r.limit); err != nil {
		r.close()
		return nil, err
	}
	r.fps = o.FPS
	if n > 0 && d > 0 {
		r.fps = float64(n) / float64(d)
	}
	if r.fps <= 0 || r.fps > 1000 {
		r.fps = DefaultFPS
	}
	return r, nil
}

// wait waits for the next frame. It returns io.EOF when the pipeline ends
// or Run stops waiting for this connection, and the element's error when
// one fails.
func (r *gstReader) wait() error {
	for {
		var cerr *C.char
		switch C.jg_pull(r.p, gstPoll, &cerr) {
		case C.JG_SAMPLE:
			return nil
		case C.JG_ERROR:
			// Some elements name their URL, password and all.
			return errors.New(redactPipeline(takeString(cerr)))
		case C.JG_EOS:
			return io.EOF
		}
		select {
		case <-r.quit:
			return io.EOF
		default:
		}
	}
}

func (r *gstReader) next(get func(int) []byte) (frame.Image, error) {
	if err := r.wait(); err != nil {
		return frame.Image{}, r.lost(err)
	}
	var w, h, n, d C.int
	if C.jg_info(r.p, &w, &h, &n, &d) == 0 {
		C.jg_drop(r.p)
		return frame.Image{}, errors.New("the pipeline's frames are no longer BGR video")
	}
	if w <= 0 || h <= 0 {
		C.jg_drop(r.p)
		return frame.Image{}, fmt.Errorf("%w: frame %d is %dx%d", errUnreadable, r.idx, w, h)
	}
	if err := checkFrameSize(int(w), int(h), r.limit); err != nil {
		C.jg_drop(r.p)
		return frame.Image{}, fmt.Errorf("frame %d: %w", r.idx, err)
	}
	r.w, r.h = int(w), int(h)
	img := frame.Image{Pix: get(3 * r.w * r.h), Rows: r.h, Cols: r.w, Step: 3 * r.w}
	if C.jg_copy(r.p, (*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), w, h) == 0 {
		return frame.Image{}, fmt.Errorf("%w: frame %d cannot be mapped", errUnreadable, r.idx)
	}
	r.idx++
	return img, nil
}

func (r *gstReader) skip() error {
	if err := r.wait(); err != nil {
		return r.lost(err)
	}
	C.jg_drop(r.p)
	r.idx++
	return nil
}

// lost turns the end of a pipeline into a loss: for a camera, the end of
// its stream is a failure to recover from, never the end of the source.
// A stop asked by Run stays io.EOF.
func (r *gstReader) lost(err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	select {
	case <-r.quit:
		return io.EOF
	default:
		return errors.New("the pipeline ended (end of stream)")
	}
}

func (r *gstReader) index() int    { return r.idx }
func (r *gstReader) rate() float64 { return r.fps }

func (r *gstReader) info() string {
	return fmt.Sprintf("%dx%d at %.3g fps: %s", r.w, r.h, r.fps, r.desc)
}

func (r *gstReader) close() {
	C.jg_close(r.p)
	r.p = nil
}

// libcameraIDs lists the cameras libcamera finds.
func libcameraIDs() ([]string, error) {
	if msg := C.jg_init(); msg != nil {
		return nil, fmt.Errorf("GStreamer cannot start: %s", takeString(msg))
	}
	ids := C.jg_libcamera_ids()
	if ids == nil {
		return nil, missingElements([]string{"libcamerasrc"})
	}
	return lines(takeString(ids)), nil
}

// gstCheck builds, without starting it, the pipeline a source will run:
// for a libcamera camera, one without the camera's name, which is known
// only when the camera is opened.
func gstCheck(spec Spec, stack cameraStack, o Options) error {
	switch {
	case spec.Kind == Pipeline:
		return checkPipeline(userPipeline(spec.Path))
	case stack == argus:
		return checkPipeline(argusPipeline(spec.Index, o))
	case stack == libcamera:
		return checkPipeline(libcameraPipeline("", false, o))
	}
	return errNoCSI
}

// gstDescription is the pipeline a CSI camera or a gst: source runs, made
// at every (re)connection: libcamera numbers the cameras it finds then.
func gstDescription(spec Spec, stack cameraStack, o Options) (string, error) {
	switch {
	case spec.Kind == Pipeline:
		return userPipeline(spec.Path), nil
	case stack == argus:
		return argusPipeline(spec.Index, o), nil
	case stack == libcamera:
		ids, err := libcameraIDs()
		if err != nil {
			return "", err
		}
		id, err := csiCamera(ids, spec.Index)
		if err != nil {
			return "", err
		}
		return libcameraPipeline(id, hasProperty("libcamerasrc", "af-mode"), o), nil
	}
	return "", errNoCSI
}

// hasProperty says whether elements of the factory have the property.
func hasProperty(factory, property string) bool {
	cf, cp := C.CString(factory), C.CString(property)
	defer C.free(unsafe.Pointer(cf))
	defer C.free(unsafe.Pointer(cp))
	return C.jg_has_property(cf, cp) == 1
}

// takeString copies and frees a string from C.
func takeString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.jg_free(s)
	return C.GoString(s)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
