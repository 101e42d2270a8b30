package capture

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// sinkName names the appsink joren reads frames from.
const sinkName = "joren"

// sinkTail ends every pipeline: frames converted to packed BGR (a no-op when
// they already are), into an appsink that holds only the newest frame
// (drop=true max-buffers=1), so a busy consumer never reads stale frames,
// and that does not wait for the clock (sync=false), so a live source's
// frames are not delayed.
const sinkTail = "videoconvert ! video/x-raw,format=BGR ! appsink name=" + sinkName + " drop=true max-buffers=1 sync=false"

// csiDefaultWidth and csiDefaultHeight are asked of a CSI camera when no
// size is given: a sensor's own default is its full resolution (12
// megapixels on a Camera Module 3 or an HQ camera), far more than a door
// needs.
const csiDefaultWidth, csiDefaultHeight = 640, 480

// trailingAppsink matches an appsink at the end of a pipeline given as
// text: pipelines written for OpenCV end with one, and joren adds its own.
var trailingAppsink = regexp.MustCompile(`!\s*appsink\b[^!]*$`)

// userPipeline completes a gst: pipeline with joren's conversion and sink.
func userPipeline(text string) string {
	text = strings.TrimSpace(trailingAppsink.ReplaceAllString(text, ""))
	return strings.TrimSpace(strings.TrimSuffix(text, "!")) + " ! " + sinkTail
}

// rawCaps is a caps filter for size and rate; zero values are left to the
// source.
func rawCaps(media string, w, h int, fps float64) string {
	c := media
	if w > 0 && h > 0 {
		c += fmt.Sprintf(",width=%d,height=%d", w, h)
	}
	if fps > 0 {
		n, d := fraction(fps)
		c += fmt.Sprintf(",framerate=%d/%d", n, d)
	}
	return c
}

// fraction writes a frame rate as GStreamer's fraction: 15 is 15/1, 7.5 is
// 15/2, 29.97 is 2997/100.
func fraction(fps float64) (int64, int64) {
	r := new(big.Rat).SetFrac64(int64(math.Round(fps*1000)), 1000)
	return r.Num().Int64(), r.Denom().Int64()
}

// libcameraPipeline reads the libcamera camera named id. libcamera's ISP
// scales to the size asked, so no software scaling is needed. With
// autofocus (libcamerasrc has exposed libcamera's controls as properties
// since 2024), a Camera Module 3 focuses continuously on whoever is in
// the door instead of staying at its default lens position; cameras
// without a focus motor (HQ, Camera Module 2) ignore the control.
func libcameraPipeline(id string, autofocus bool, o Options) string {
	w, h := csiSize(o)
	src := "libcamerasrc camera-name=" + gstQuote(id)
	if autofocus {
		src += " af-mode=continuous"
	}
	return src + " ! " + rawCaps("video/x-raw", w, h, o.FPS) + " ! " + sinkTail
}

// argusPipeline reads a Jetson's CSI camera number n. Argus picks a sensor
// mode for the frame rate and delivers NVMM (device) memory at the mode's
// size; nvvidconv scales on the VIC engine and copies to system memory as
// BGRx, and videoconvert drops the x.
func argusPipeline(n int, o Options) string {
	w, h := csiSize(o)
	return fmt.Sprintf("nvarguscamerasrc sensor-id=%d ! %s ! nvvidconv ! %s ! %s",
		n, rawCaps("video/x-raw(memory:NVMM)", 0, 0, o.FPS), rawCaps("video/x-raw,format=BGRx", w, h, 0), sinkTail)
}

// gstQuote quotes a property value for gst_parse_launch.
func gstQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func csiSize(o Options) (int, int) {
	if o.Width > 0 && o.Height > 0 {
		return o.Width, o.Height
	}
	return csiDefaultWidth, csiDefaultHeight
}

// csiCamera picks camera n among the camera IDs libcamera lists. USB
// cameras are left out (they are V4L2 sources) and the rest are numbered
// in reverse order of their IDs, as Raspberry Pi's rpicam-apps number them,
// so csi:1 is what `rpicam-hello --list-cameras` calls camera 1 (on a Pi 5:
// 0 on the CAM0 connector, 1 on CAM1).
func csiCamera(ids []string, n int) (string, error) {
	var csi []string
	for _, id := range ids {
		if id != "" && !strings.Contains(id, "/usb") {
			csi = append(csi, id)
		}
	}
	slices.SortFunc(csi, func(a, b string) int { return strings.Compare(b, a) })
	switch {
	case len(csi) == 0:
		return "", fmt.Errorf("libcamera finds no camera on the camera connector (check the ribbon cable, its orientation, and camera_auto_detect=1 in config.txt)")
	case n >= len(csi):
		return "", fmt.Errorf("there is no camera %d: libcamera finds %d (%s), numbered from 0", n, len(csi), strings.Join(csi, ", "))
	}
	return csi[n], nil
}

// elementPackages says where GStreamer elements joren's pipelines (and
// common hand-written ones) use come from, for the error when one is
// missing.
var elementPackages = map[string]string{
	"libcamerasrc":     "install gstreamer1.0-libcamera (Debian, Raspberry Pi OS); on the Joren image only the Raspberry Pi 4 image has it",
	"nvarguscamerasrc": "it comes with NVIDIA JetPack (nvidia-l4t-gstreamer); it exists on Jetson boards only",
	"nvvidconv":        "it comes with NVIDIA JetPack (nvidia-l4t-gstreamer); it exists on Jetson boards only",
	"appsink":          "install gstreamer1.0-plugins-base",
	"videoconvert":     "install gstreamer1.0-plugins-base",
	"videoscale":       "install gstreamer1.0-plugins-base",
	"videotestsrc":     "install gstreamer1.0-plugins-base",
	"rawvideoparse":    "install gstreamer1.0-plugins-base",
	"uridecodebin":     "install gstreamer1.0-plugins-base",
	"decodebin":        "install gstreamer1.0-plugins-base",
	"v4l2src":          "install gstreamer1.0-plugins-good",
	"rtspsrc":          "install gstreamer1.0-plugins-good",
	"jpegdec":          "install gstreamer1.0-plugins-good",
	"rtph264depay":     "install gstreamer1.0-plugins-good",
	"h264parse":        "install gstreamer1.0-plugins-bad",
	"avdec_h264":       "install gstreamer1.0-libav",
}

// missingElements explains a pipeline that names elements GStreamer does
// not have.
func missingElements(names []string) error {
	e := names[0]
	hint, ok := elementPackages[e]
	if !ok {
		hint = "a typo, or its plugin is not installed (gst-inspect-1.0 " + e + " says which)"
	}
	msg := fmt.Sprintf("GStreamer element %s not found: %s", e, hint)
	if len(names) > 1 {
		msg += fmt.Sprintf(" (also missing: %s)", strings.Join(names[1:], ", "))
	}
	return fmt.Errorf("%s", msg)
}
