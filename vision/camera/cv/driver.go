package cv

import (
	"fmt"
	"os"

	"joren/vision/camera"
	"joren/vision/capture"
)

// Driver opens the camera side's parts with OpenCV and dlib. The
// appliance takes one (cmd/joren passes it), so that the appliance itself
// needs no cgo.
type Driver struct{}

// OpenFaces loads the face models of dir (see Open).
func (Driver) OpenFaces(dir string, o camera.FaceOptions) (camera.Faces, error) {
	return Open(dir, o)
}

// OpenSource prepares the source named by spec (see capture.Parse): a
// camera, a stream, a video file or a picture folder. Nothing is opened
// until Run, but a recording or folder that is not there is an error at
// once: a camera may be plugged in after boot, a missing recording is a
// typo.
func (Driver) OpenSource(spec string, o camera.SourceOptions) (camera.Source, error) {
	src, err := capture.Open(spec, capture.Options{Width: o.Width, Height: o.Height, FPS: o.FPS, Timeline: o.Timeline, MaxPixels: o.MaxPixels, Log: o.Log})
	if err != nil {
		return nil, err
	}
	if s := src.Spec(); !s.Kind.Live() {
		if _, err := os.Stat(s.Path); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return source{src}, nil
}

// source is a capture.Source as package camera sees it.
type source struct{ *capture.Source }

func (s source) Stats() camera.Stats {
	c := s.Source.Stats()
	return camera.Stats{Frames: c.Frames, Dropped: c.Dropped, Unreadable: c.Unreadable, Reconnects: c.Reconnects, Problem: c.Problem}
}

func (s source) Live() bool     { return s.Spec().Kind.Live() }
func (s source) String() string { return s.Spec().String() }
