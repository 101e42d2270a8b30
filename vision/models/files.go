package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The files go-face loads from one model directory.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	ResNetFile         = "dlib_face_recognition_resnet_model_v1.dat"
	DetectorFile       = "mmod_human_face_detector.dat"
)

// Files lists every file a model directory must hold, in go-face's load order.
var Files = []string{ShapePredictorFile, ResNetFile, DetectorFile}

// ManifestFile records the sha256 and origin of every file of a model
// directory.
const ManifestFile = "MANIFEST"

// CheckFiles tells whether dir holds every file of names (of Files if
// none), each a non-empty regular file, without reading them: dlib checks
// the files it is about to load, and the appliance's configuration check
// every file with the same rule.
func CheckFiles(dir string, names ...string) error {
	if len(names) == 0 {
		names = Files
	}
	var errs []error
	for _, name := range names {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("model file %s is missing (run `joren models build` or `joren models fetch`)", p))
		case err != nil:
			errs = append(errs, fmt.Errorf("model file %s: %w", p, err))
		case st.IsDir() || st.Size() == 0:
			errs = append(errs, fmt.Errorf("model file %s is empty or not a file", p))
		}
	}
	return errors.Join(errs...)
}
