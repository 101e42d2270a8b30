package doorsim

import (
	"context"
	"image"
	"log/slog"
	"os"
	"path/filepath"

	"joren/vision/dlib"
	"joren/vision/doorsim/truth"
	"joren/vision/frame"
)

// MakeVideo draws a door-camera video of the people in the photos of
// images (their faces found with dlib's HOG detector from the models in
// modelDir) and writes its ground truth beside it. Photos that cannot be
// used are logged (a nil log discards). progress, if set, is called as
// frames are drawn.
func MakeVideo(ctx context.Context, modelDir, images, out string, o Options, log *slog.Logger, progress func(done, total int)) (truth.Truth, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var cast *Cast
	if o.Scenario != Empty {
		frames, err := dlib.OpenFrames(modelDir, false)
		if err != nil {
			return truth.Truth{}, err
		}
		defer frames.Close()
		cast, err = LoadCast(images, func(im frame.Image) ([]image.Rectangle, error) {
			ds, err := frames.Detect(dlib.Frame(im), false)
			boxes := make([]image.Rectangle, len(ds))
			for i, d := range ds {
				boxes[i] = d.Box
			}
			return boxes, err
		})
		if err != nil {
			return truth.Truth{}, err
		}
		defer cast.Close()
		for _, s := range cast.Skipped {
			log.Info("photo not used", "why", s)
		}
	}
	s, err := Plan(cast, o)
	if err != nil {
		return truth.Truth{}, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return truth.Truth{}, err
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	return Write(ctx, cast, s, out, progress)
}
