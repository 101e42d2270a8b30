package camera

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"joren/vision/models"
	"joren/vocab"
)

// Choose settles the detector d names: any but Auto is itself. Auto is
// YuNet, which finds more faces for less CPU (docs/pipeline.md), with two
// exceptions that keep a box working across an upgrade:
//
//   - a store made with dlib's descriptors of HOG's or MMOD's faces (cut
//     by dlib's own landmarks, model vocab.DlibResNetName without a
//     suffix): YuNet's five-point descriptors are another model, which
//     that store refuses, so HOG goes on describing its people;
//   - no YuNet file in the model directory (an image or model directory
//     from before YuNet): HOG, which needs only dlib's files.
//
// stored is the name of the store's model (vocab.Model.Name), "" when
// there is no store yet (or it cannot be read: a damaged store is
// salvaged whatever the model).
// why says which rule chose, for the log.
func Choose(d Detector, modelDir, stored string) (_ Detector, why string) {
	switch d {
	case "", Auto:
	default:
		return d, "configured"
	}
	if stored == vocab.DlibResNetName {
		return HOG, fmt.Sprintf("the identity store's people were described from HOG's faces (model %s); enrolling them again in a new store would move it to yunet", stored)
	}
	if _, err := os.Stat(filepath.Join(modelDir, models.YuNetFile)); err != nil {
		if strings.HasPrefix(stored, vocab.DlibResNetName+"+") {
			// dlib's descriptors of YuNet's faces (five-point chips): say
			// what is missing rather than describe faces the store would
			// refuse.
			return YuNet, fmt.Sprintf("the identity store's people were described from YuNet's faces (model %s)", stored)
		}
		return HOG, fmt.Sprintf("%s is not in the model directory (joren models fetch yunet adds it)", models.YuNetFile)
	}
	return YuNet, "the default"
}
