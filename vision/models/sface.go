package models

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
)

// SFace pins OpenCV Zoo's SFace face recognition network (a MobileFaceNet
// trained with the SFace loss by Yaoyao Zhong, Apache-2.0): the file its
// Git LFS pointer names at the repository's last change of it, and the
// settings OpenCV's FaceRecognizerSF feeds it (112x112 RGB, pixels as
// they are). Its threshold is OpenCV Zoo's cosine similarity of 0.363 as
// a distance: measure your own with joren evaluate.
var SFace = struct {
	URL, SHA256 string
	Size        int64
	Licence     string
	Settings    ONNX
}{
	URL:     "https://github.com/opencv/opencv_zoo/raw/ba91a3b91d00d76e86540d4013f944bd6b514e39/models/face_recognition_sface/face_recognition_sface_2021dec.onnx",
	SHA256:  "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
	Size:    38696353,
	Licence: "Apache-2.0 (OpenCV Zoo's face_recognition_sface_2021dec.onnx; SFace by Yaoyao Zhong)",
	Settings: ONNX{
		Name: "sface", Size: 112, Scale: 1, Mean: 0, SwapRB: true,
		Threshold: 1 - 0.363,
	},
}

// sfaceNotice is OpenCV Zoo's LICENSE of the SFace directory (the Apache
// License 2.0), installed beside the network.
//
//go:embed sface.LICENSE
var sfaceNotice []byte

// SFaceRemote is SFace to download, from urls in turn (default: its
// upstream location).
func SFaceRemote(urls ...string) Remote {
	if len(urls) == 0 {
		urls = []string{SFace.URL}
	}
	return Remote{Name: "face_recognition_sface_2021dec.onnx", URL: urls[0], Mirrors: urls[1:], Raw: true,
		SHA256: SFace.SHA256, Licence: SFace.Licence, Notice: sfaceNotice}
}

// FetchONNXOptions configure FetchONNX.
type FetchONNXOptions struct {
	// Dir is the model directory.
	Dir string
	// Remote is the network's file: pinned sha256, licence and notice.
	Remote   Remote
	Settings ONNX
	Client   *http.Client
	Attempts int
	Progress func(name string, size int64, r io.Reader) io.Reader
	Log      *slog.Logger
	// Probe loads, runs and checks the network (RegisterOptions.Probe).
	Probe func(path string, s ONNX) error
}

// FetchONNX downloads a pinned ONNX face network, checks its sha256,
// registers it as add-onnx would (its structure, declared input and
// output, and Probe's run and check must pass) and installs its licence
// notice beside it. A network already registered from the same file is
// kept.
func FetchONNX(ctx context.Context, o FetchONNXOptions) error {
	s := o.Settings
	man, err := ReadManifest(o.Dir)
	if err != nil {
		return err
	}
	if e, ok := man.Lookup(s.File()); ok && e.SHA256 == o.Remote.SHA256 && e.ONNX != nil && *e.ONNX == s {
		if sum, _, err := fileSHA256(filepath.Join(o.Dir, s.File())); err == nil && sum == e.SHA256 {
			if o.Remote.Notice == nil {
				return nil
			}
			return installNotice(o.Dir, &man, s.File(), o.Remote.Notice, o.Remote.Licence)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("creating model directory: %w", err)
	}
	// Downloaded beside the model directory's files, checked, registered
	// from there, then removed.
	stage, err := os.MkdirTemp(o.Dir, "."+s.Name+".download-*")
	if err != nil {
		return fmt.Errorf("creating a download folder: %w", err)
	}
	defer os.RemoveAll(stage)
	r := o.Remote
	notice := r.Notice
	r.Notice = nil
	if err := Fetch(ctx, FetchOptions{Dir: stage, Remotes: []Remote{r}, Client: o.Client, Attempts: o.Attempts, Progress: o.Progress, Log: o.Log}); err != nil {
		return err
	}
	staged, err := ReadManifest(stage)
	if err != nil {
		return err
	}
	e, _ := staged.Lookup(r.Name)
	if err := RegisterONNX(RegisterOptions{
		Dir: o.Dir, Source: filepath.Join(stage, r.Name), SHA256: r.SHA256, Settings: s,
		Origin: e.Origin, Licence: r.Licence, Probe: o.Probe,
	}); err != nil {
		return err
	}
	if notice == nil {
		return nil
	}
	if man, err = ReadManifest(o.Dir); err != nil {
		return err
	}
	return installNotice(o.Dir, &man, s.File(), notice, r.Licence)
}
