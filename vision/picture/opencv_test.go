package picture

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"joren/internal/testenv"
	"joren/vision/internal/matleak"
)

// TestOpenCVExceptionsAreErrors hands OpenCV, past the header check, what
// makes it throw (its own size limit, a Mat its JPEG encoder cannot
// write): each must come back as an error. gocv's wrappers would abort the
// process.
func TestOpenCVExceptionsAreErrors(t *testing.T) {
	matleak.Check(t)
	huge := pngFile(65535, 65535, []byte{0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	if m, err := imdecode(huge, imreadColor); err == nil || !strings.Contains(err.Error(), "CV_IO_MAX_IMAGE_PIXELS") {
		m.Close()
		t.Errorf("imdecode of a 65535x65535 PNG: %v, want OpenCV's size assertion as an error", err)
	}
	for _, typ := range []gocv.MatType{gocv.MatTypeCV8UC2, gocv.MatTypeCV16SC2} {
		m := gocv.NewMatWithSize(8, 8, typ)
		if _, err := toJPEG(m, Quality); err == nil || !strings.Contains(err.Error(), "OpenCV") {
			t.Errorf("toJPEG of a %v Mat: %v, want OpenCV's refusal as an error", typ, err)
		}
		m.Close()
	}
	if _, err := imdecode(nil, imreadColor); err == nil {
		t.Error("imdecode of nothing succeeded")
	}
}

func TestOpenCVEnv(t *testing.T) {
	set := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := set[k]; return v, ok }
	all := OpenCVEnv(lookup)
	want := []string{"OPENCV_IO_MAX_IMAGE_PIXELS=268435456", "OPENCV_IO_MAX_IMAGE_WIDTH=65500", "OPENCV_IO_MAX_IMAGE_HEIGHT=65500"}
	if !slices.Equal(all, want) {
		t.Errorf("OpenCVEnv of an empty environment = %q, want %q", all, want)
	}
	// The operator's own settings, even empty, are kept.
	set["OPENCV_IO_MAX_IMAGE_PIXELS"] = ""
	set["OPENCV_IO_MAX_IMAGE_HEIGHT"] = "100"
	if got := OpenCVEnv(lookup); !slices.Equal(got, want[1:2]) {
		t.Errorf("OpenCVEnv with two set = %q, want %q", got, want[1:2])
	}
}

func TestCheckMaxPixels(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{1, ""},
		{DefaultMaxPixels, ""},
		{MaxPixelsCeiling, ""},
		{0, "at least 1"},
		{-5, "at least 1"},
		{MaxPixelsCeiling + 1, "over the most allowed, 268435456 (268 megapixels)"},
	} {
		err := CheckMaxPixels("--max-pixels", c.n)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--max-pixels")) {
			t.Errorf("CheckMaxPixels(%d) = %v, want %q", c.n, err, c.want)
		}
	}
}

// TestOpenCVLimitsFromTheEnvironment runs itself again with OpenCV's
// limits in the environment (OpenCV reads them only as it loads): the
// limits this package enforces follow them down, so the header check
// refuses what OpenCV would refuse, and OpenCV's own refusal, reached past
// the check, is an error.
func TestOpenCVLimitsFromTheEnvironment(t *testing.T) {
	if os.Getenv("JOREN_PICTURE_ENV_CHILD") == "" {
		cmd := testenv.Self(t, "-test.run=^TestOpenCVLimitsFromTheEnvironment$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "JOREN_PICTURE_ENV_CHILD=1",
			"OPENCV_IO_MAX_IMAGE_PIXELS=1000", "OPENCV_IO_MAX_IMAGE_WIDTH=50", "OPENCV_IO_MAX_IMAGE_HEIGHT=1KB")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	matleak.Check(t)
	if MaxPixels() != 1000 || maxSide() != 50 {
		t.Fatalf("MaxPixels, maxSide = %d, %d; want 1000, 50 from the environment", MaxPixels(), maxSide())
	}
	if err := CheckMaxPixels("camera.max_image_pixels", 2000); err == nil || !strings.Contains(err.Error(), "OPENCV_IO_MAX_IMAGE_PIXELS=1000") {
		t.Errorf("CheckMaxPixels(2000): %v, want one naming OpenCV's setting", err)
	}
	square := encodePNG(t, noise(40, 40, 51))
	var tl *TooLargeError
	if _, err := Prepare(square, Options{MaxPixels: DefaultMaxPixels}); !errors.As(err, &tl) || tl.Limit != 1000 {
		t.Errorf("Prepare of 1600 pixels: %v, want a *TooLargeError at OpenCV's limit 1000", err)
	}
	if _, err := Prepare(encodePNG(t, noise(60, 10, 52)), Options{}); !errors.As(err, &tl) || tl.Side != 50 {
		t.Errorf("Prepare of a 60-pixel-wide picture: %v, want a *TooLargeError at OpenCV's width 50", err)
	}
	if m, err := imdecode(square, imreadColor); err == nil || !strings.Contains(err.Error(), "CV_IO_MAX_IMAGE_PIXELS") {
		m.Close()
		t.Errorf("imdecode past the check: %v, want OpenCV's own limit as an error", err)
	}
	if _, err := Prepare(encodePNG(t, noise(20, 20, 53)), Options{}); err != nil {
		t.Errorf("Prepare of 400 pixels: %v", err)
	}
}

// TestServiceSetsOpenCVLimits: the systemd unit gives joren OpenCV's
// limits, so that on the box it starts once instead of starting itself
// again to set them (cmd/joren's limitOpenCV).
func TestServiceSetsOpenCVLimits(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(testenv.Root(t), "init", "joren.service"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			for _, kv := range strings.Fields(v) {
				k, val, _ := strings.Cut(kv, "=")
				env[k] = val
			}
		}
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if add := OpenCVEnv(lookup); len(add) != 0 {
		t.Errorf("init/joren.service lacks %v", add)
	}
	// The same values OpenCVEnv would add: the unit loosens nothing.
	for _, kv := range OpenCVEnv(func(string) (string, bool) { return "", false }) {
		k, want, _ := strings.Cut(kv, "=")
		if env[k] != want {
			t.Errorf("init/joren.service sets %s=%s, want %s", k, env[k], want)
		}
	}
}
