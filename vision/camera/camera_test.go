package camera

import "testing"

func TestParseDetector(t *testing.T) {
	for in, want := range map[string]Detector{"yunet": YuNet, "hog": HOG, "mmod": MMOD, "cnn": MMOD, "": "", "HOG": "", "fast": ""} {
		got, err := ParseDetector(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseDetector(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
