package camera

import (
	"os"
	"path/filepath"
	"testing"

	"joren/vision/models"
	"joren/vocab"
)

func TestParseDetector(t *testing.T) {
	for in, want := range map[string]Detector{"auto": Auto, "yunet": YuNet, "hog": HOG, "mmod": MMOD, "cnn": MMOD, "": "", "HOG": "", "fast": ""} {
		got, err := ParseDetector(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseDetector(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestChoose(t *testing.T) {
	withYuNet, without := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(withYuNet, models.YuNetFile), []byte("onnx"), 0o644); err != nil {
		t.Fatal(err)
	}
	dlib, five, onnx := vocab.DlibResNetName, vocab.DlibResNetName+"+five+mirror", "arcface_test"
	for _, tc := range []struct {
		name   string
		d      Detector
		dir    string
		stored string
		want   Detector
	}{
		{"new store, YuNet installed", Auto, withYuNet, "", YuNet},
		{"unset is auto", "", withYuNet, "", YuNet},
		{"new store, no YuNet", Auto, without, "", HOG},
		{"HOG's store keeps HOG", Auto, withYuNet, dlib, HOG},
		{"YuNet's store keeps YuNet", Auto, withYuNet, five, YuNet},
		{"YuNet's store without YuNet asks for it", Auto, without, five, YuNet},
		{"an ONNX store takes YuNet", Auto, withYuNet, onnx, YuNet},
		{"an ONNX store without YuNet takes HOG", Auto, without, onnx, HOG},
		{"configured hog", HOG, withYuNet, "", HOG},
		{"configured yunet", YuNet, without, dlib, YuNet},
		{"configured mmod", MMOD, withYuNet, five, MMOD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Choose(tc.d, tc.dir, tc.stored)
			if got != tc.want || why == "" {
				t.Errorf("Choose(%q, %s, %q) = %q (%s), want %q", tc.d, tc.dir, tc.stored, got, why, tc.want)
			}
		})
	}
}
