package capture

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Kind is the sort of source.
type Kind int

const (
	Device Kind = iota + 1
	Stream
	File
	Folder
	// CSI is a camera on the board's camera connector, read through
	// libcamera (Raspberry Pi) or Argus (Jetson) in a GStreamer pipeline.
	CSI
	// Pipeline is a GStreamer pipeline given as text.
	Pipeline
)

func (k Kind) String() string {
	switch k {
	case Device:
		return "device"
	case Stream:
		return "stream"
	case File:
		return "video file"
	case Folder:
		return "image folder"
	case CSI:
		return "CSI camera"
	case Pipeline:
		return "GStreamer pipeline"
	}
	return "unknown source"
}

// Live tells whether the source runs on the wall clock and cannot wait for
// the pipeline (a camera, a stream or a GStreamer pipeline).
func (k Kind) Live() bool { return k == Device || k == Stream || k == CSI || k == Pipeline }

// Spec is a parsed source string.
type Spec struct {
	Kind Kind
	// Path is the device path, the URL, the file, the folder, the CSI
	// camera's short name (csi, csi:1) or the pipeline's text.
	Path string
	// Index is a CSI camera's number: 0 for the first.
	Index int
}

func (s Spec) String() string {
	if s.Kind == Pipeline {
		return s.Kind.String() + " " + redactPipeline(s.Path)
	}
	return s.Kind.String() + " " + redact(s.Path)
}

// redact hides a URL's password from logs and errors.
func redact(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.User == nil {
		return p
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// In pipeline text: URLs (which may carry a password), and properties
// that hold secrets (rtspsrc's user-pw and proxy-pw, srtsrc's passphrase).
var (
	pipelineURL    = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s!"']+`)
	pipelineSecret = regexp.MustCompile(`(?i)(\b[a-z0-9-]*(?:pw|passwd|password|passphrase|secret|token|key)\s*=\s*)("[^"]*"|'[^']*'|[^\s!]+)`)
)

// redactPipeline hides the passwords in a pipeline's text.
func redactPipeline(p string) string {
	p = pipelineURL.ReplaceAllStringFunc(p, redact)
	return pipelineSecret.ReplaceAllString(p, "${1}xxxxx")
}

var (
	deviceIndex = regexp.MustCompile(`^[0-9]{1,3}$`)
	csiName     = regexp.MustCompile(`^(?i:csi)(?::([0-9]{1,2}))?$`)
)

// Usage documents the source strings Parse accepts, for --help texts.
const Usage = `  /dev/video0            a V4L2 camera, USB (UVC) (0 is short for /dev/video0)
  csi                    the board's camera connector: a Raspberry Pi camera
                         (libcamera) or a Jetson camera (Argus); csi:1 the second
  rtsp://host/path       an RTSP stream (also rtsps://, http://, https://)
  door.avi               a video file (file:///abs/door.avi also works)
  frames/                a folder of images, read in natural order at --fps
  gst:PIPELINE           a GStreamer pipeline, e.g. gst:videotestsrc is-live=true
                         (joren adds "! videoconvert ! appsink")`

// Parse reads a source string: a device path or index, a CSI camera's
// short name, a GStreamer pipeline, a stream URL, a video file or an image
// folder.
func Parse(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	if m := csiName.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // "" (plain csi) is camera 0
		return Spec{Kind: CSI, Path: strings.ToLower(s), Index: n}, nil
	}
	if p, ok := cutPrefixFold(s, "gst:"); ok {
		p = strings.TrimSpace(p)
		if p == "" {
			return Spec{}, errors.New(`source "gst:": the pipeline is missing (want gst:ELEMENT ! ..., such as gst:videotestsrc is-live=true)`)
		}
		return Spec{Kind: Pipeline, Path: p}, nil
	}
	switch {
	case s == "":
		return Spec{}, errors.New("empty source (want a device such as /dev/video0, csi, a stream URL, a video file, an image folder or gst:PIPELINE)")
	case len(s) >= 4 && strings.EqualFold(s[:4], "csi:"):
		return Spec{}, fmt.Errorf("source %q: want csi (the first camera on the board's connector) or csi:N (camera N, from 0)", s)
	case deviceIndex.MatchString(s):
		n, _ := strconv.Atoi(s)
		return Spec{Kind: Device, Path: fmt.Sprintf("/dev/video%d", n)}, nil
	case strings.HasPrefix(s, "/dev/"):
		return Spec{Kind: Device, Path: s}, nil
	case strings.HasPrefix(s, "v4l2://"):
		return Spec{Kind: Device, Path: strings.TrimPrefix(s, "v4l2://")}, nil
	case strings.HasPrefix(s, "file://"):
		return local(strings.TrimPrefix(s, "file://"))
	}
	if i := strings.Index(s, "://"); i > 0 {
		switch scheme := strings.ToLower(s[:i]); scheme {
		case "rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt":
			if _, err := url.Parse(s); err != nil {
				return Spec{}, fmt.Errorf("source %q: %w", redact(s), err)
			}
			return Spec{Kind: Stream, Path: s}, nil
		default:
			return Spec{}, fmt.Errorf("source %q: unknown scheme %q (want rtsp, rtsps, http, https, file)", redact(s), scheme)
		}
	}
	return local(s)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func local(p string) (Spec, error) {
	if strings.HasSuffix(p, "/") {
		return Spec{Kind: Folder, Path: p}, nil
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return Spec{Kind: Folder, Path: p}, nil
	}
	// A file that does not exist yet is a file: opening it says so.
	return Spec{Kind: File, Path: p}, nil
}
