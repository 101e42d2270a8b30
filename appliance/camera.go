package appliance

import (
	"errors"
	"fmt"

	"joren/cluster/store"
	"joren/vision/camera"
	"joren/vision/doorsim/truth"
	"joren/vision/models"
	"joren/vision/pipeline"
	"joren/vision/quality"
)

// Camera opens the camera side's parts: the face models and the source of
// frames. They need cgo (OpenCV, dlib) and the appliance does not, so its
// caller hands it one: cmd/joren passes package vision/camera/cv's Driver.
// The appliance runs them with package pipeline.
type Camera interface {
	// OpenFaces loads the face models of directory dir.
	OpenFaces(dir string, o camera.FaceOptions) (camera.Faces, error)
	// OpenSource prepares a camera, stream, recording or picture folder;
	// nothing is read before Run.
	OpenSource(spec string, o camera.SourceOptions) (camera.Source, error)
}

// openFaces loads the face models: the store is opened for their model.
func (a *Appliance) openFaces() error {
	v := a.cfg.Vision
	det, err := camera.ParseDetector(v.Detector)
	if err != nil {
		return fmt.Errorf("vision.detector: %w", err)
	}
	if det == camera.Auto {
		// The store's people decide, before the store is opened for the
		// faces' model.
		stored, err := store.ReadModel(a.storeDir())
		if err != nil && !errors.Is(err, store.ErrNoStore) {
			a.log.Warn("choosing the face detector without the identity store's model", "err", err)
		}
		var why string
		det, why = camera.Choose(det, a.cfg.Device.Models, stored.Name)
		a.log.Info("face detector chosen (vision.detector: auto)", "detector", det, "why", why)
	}
	o := camera.FaceOptions{Detector: det, Log: a.log}
	if v.Embedder == "onnx" {
		s, err := models.FindONNX(a.cfg.Device.Models, v.ONNXModel)
		if err != nil {
			return fmt.Errorf("vision.onnx_model: %w", err)
		}
		o.ONNX = &s
	}
	faces, err := a.o.Camera.OpenFaces(a.cfg.Device.Models, o)
	if err != nil {
		return fmt.Errorf("device.models: %w", err)
	}
	a.faces, a.model = faces, faces.Model()
	a.onClose(faces.Close)
	a.log.Info("face models loaded", "models", a.cfg.Device.Models, "model", a.model.ID(), "detector", det)
	return nil
}

// openCamera prepares the source and the pipeline that turns its frames
// into visits. It runs after openInstaller: the installer's live view is
// the pipeline's preview.
func (a *Appliance) openCamera() error {
	c := a.cfg
	so := camera.SourceOptions{Width: c.Camera.Width, Height: c.Camera.Height, FPS: c.Camera.FPS, MaxPixels: c.Camera.MaxImagePixels, Log: a.log}
	if c.Camera.Clock != "" {
		tl, err := truth.ReadTimeline(c.Camera.Clock)
		if err != nil {
			return fmt.Errorf("camera.clock: %w", err)
		}
		so.Timeline = tl
	}
	src, err := a.o.Camera.OpenSource(c.Camera.Source, so)
	if err != nil {
		return fmt.Errorf("camera.source: %w", err)
	}
	a.src = src
	pc := pipeline.Config{
		DetectWidth: c.Vision.DetectWidth,
		Gate:        quality.Gate{MinFace: c.Vision.MinFace, MinSharpness: c.Vision.MinSharpness, MinFrontal: c.Vision.MinFrontal},
		// A stop's visits are handed over within the appliance's budget.
		Drain: drainBudget,
		Log:   a.log,
	}
	pc.Track.K = c.Vision.Descriptors
	if a.live != nil {
		pc.Preview = a.live
	}
	if a.capture != nil {
		pc.Sampler = a.capture
	}
	if c.Vision.DebugDir != "" {
		dbg, err := pipeline.NewDebugDir(c.Vision.DebugDir)
		if err != nil {
			return fmt.Errorf("vision.debug_dir: %w", err)
		}
		a.onClose(dbg.Close)
		pc.Debug = dbg
		a.log.Warn("DEBUG: every described face's picture is written to disk (vision.debug_dir)", "dir", c.Vision.DebugDir)
	}
	a.pipe = pipeline.New(a.faces, a.faces, pc)
	return nil
}
