//go:build cgo

package appliance

import (
	"path/filepath"
	"strings"
	"testing"

	"joren/appliance/config"
	"joren/cluster/store"
	"joren/internal/logtest"
	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vocab"
)

// TestAutoDetector: a new box describes faces with YuNet; a box upgraded
// with a store of HOG's descriptors keeps HOG and its people (YuNet's are
// another model, which the store refuses), and says why in its log.
func TestAutoDetector(t *testing.T) {
	models := testenv.ModelsWithYuNet(t)
	hog, err := cv.Driver{}.OpenFaces(models, camera.FaceOptions{Detector: camera.HOG})
	if err != nil {
		t.Fatal(err)
	}
	hogModel := hog.Model()
	hog.Close()
	for _, tc := range []struct {
		name   string
		stored vocab.Model
		want   string
		why    string
	}{
		{"new box", vocab.Model{}, vocab.DlibResNetName + "+five+mirror", "the default"},
		{"a store of HOG's faces", hogModel, vocab.DlibResNetName, "described from HOG's faces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			cfg := config.Default()
			cfg.Device = config.Device{ID: "door", Site: "shop", Timezone: "UTC", DataDir: filepath.Join(work, "data"), Models: models}
			cfg.Camera.Source = t.TempDir() + "/" // a folder of pictures
			cfg.Store.KeyFile = ""
			cfg.Indicator = config.Indicator{Kind: "none"}
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.Control.Socket = filepath.Join(work, "control.sock")
			if tc.stored.Dim > 0 {
				st, err := store.Open(cfg.StoreDir(), store.Options{Model: tc.stored, Zone: "UTC", Create: true})
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
			}
			logs := &logtest.Buffer{}
			a, err := Open(cfg, Options{Camera: cv.Driver{}, Log: logs.Logger()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.model.Name != tc.want || a.st.Meta().Model.ID() != a.model.ID() {
				t.Errorf("faces of model %s, store of %s; want %s", a.model.ID(), a.st.Meta().Model.ID(), tc.want)
			}
			if log := logs.String(); !strings.Contains(log, "face detector chosen") || !strings.Contains(log, tc.why) {
				t.Errorf("the log does not say why (%q):\n%s", tc.why, log)
			}
		})
	}
}
