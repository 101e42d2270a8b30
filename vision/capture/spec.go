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
	}
	return "unknown source"
}

// Live tells whether the source runs on the wall clock and cannot wait for
// the pipeline (a camera or a stream).
func (k Kind) Live() bool { return k == Device || k == Stream }

// Spec is a parsed source string.
type Spec struct {
	Kind Kind
	// Path is the device path, the URL, the file or the folder.
	Path string
}

func (s Spec) String() string { return s.Kind.String() + " " + redact(s.Path) }

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

var deviceIndex = regexp.MustCompile(`^[0-9]{1,3}$`)

// Usage documents the source strings Parse accepts, for --help texts.
const Usage = `  /dev/video0            a V4L2 camera (0 is short for /dev/video0)
  rtsp://host/path       an RTSP stream (also rtsps://, http://, https://)
  door.avi               a video file (file:///abs/door.avi also works)
  frames/                a folder of images, read in natural order at --fps`

// Parse reads a source string: a device path or index, a stream URL, a
// video file or an image folder.
func Parse(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Spec{}, errors.New("empty source (want a device such as /dev/video0, a stream URL, a video file or an image folder)")
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
