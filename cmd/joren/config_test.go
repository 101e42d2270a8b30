package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"joren/appliance/config"
	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "installer-password")
	if err := os.WriteFile(pw, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short-password")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	keyDir := filepath.Join(dir, "boot")
	os.Mkdir(keyDir, 0o700)
	badKey := filepath.Join(keyDir, "bad.key")
	os.WriteFile(badKey, []byte("not hex\n"), 0o600)
	shortCommandKey := filepath.Join(keyDir, "command.key")
	os.WriteFile(shortCommandKey, []byte("abc"), 0o600)

	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// This machine: a data folder, the models, no GPIO (the log
	// indicator).
	machine := "device:\n  site: s\n  data_dir: " + filepath.Join(dir, "data") + "\n  models: " + testenv.Models(t) + "\nindicator:\n  kind: log\n"
	store := func(key string) string { return machine + "store:\n  key_file: \"" + key + "\"\n" }
	good := store(filepath.Join(keyDir, "store.key"))
	cases := []struct {
		name   string
		body   string
		args   []string
		code   int
		stderr []string // each must be in stderr
	}{
		{"good, key to be made", good, nil, exitOK, nil},
		{"good, installer on", good + "installer:\n  enabled: true\n  listen: 127.0.0.1:0\n  password_file: " + pw + "\n", nil, exitOK, nil},
		{"typo", "\nstore:\n  retention_dayz: 30\n", nil, exitFailure, []string{":3:", "retention_dayz", "retention_days"}},
		{"installer without password", good + "installer:\n  enabled: true\n  password_file: " + filepath.Join(dir, "nope") + "\n", nil, exitFailure, []string{"installer.password_file", "nope"}},
		{"installer password too short", good + "installer:\n  enabled: true\n  password_file: " + short + "\n", nil, exitFailure, []string{"installer.password_file", "want at least 8"}},
		{"key directory missing", store(filepath.Join(dir, "no-such-dir", "store.key")), nil, exitFailure, []string{"store.key_file", "no-such-dir", "directory must exist"}},
		{"key malformed", store(badKey), nil, exitFailure, []string{":8: store.key_file", "bad.key"}},
		{"another machine's files", store(filepath.Join(dir, "no-such-dir", "store.key")), []string{"--no-files"}, exitOK, nil},
		{"GPIO this machine lacks", "indicator:\n  led: GPIO17\n", nil, exitFailure, []string{":2: indicator.led", `no GPIO pin named "GPIO17"`}},
		// Issue 12: what check passed and run refused.
		{"3-byte command key", good + "events:\n  broker: mqtt://hq\n  commands: true\n  command_key_file: " + shortCommandKey + "\n", nil, exitFailure,
			[]string{":12: events.command_key_file: command key " + shortCommandKey + " has 3 bytes, want at least 16"}},
		{"pattern", "indicator:\n  regular: \"led+buzz fast, blink 3\"\n", []string{"--no-files"}, exitFailure, []string{":2: indicator.regular:", `duration "fast"`}},
		{"pin polarity", "indicator:\n  button: GPIO22:sideways\n", []string{"--no-files"}, exitFailure, []string{":2: indicator.button:", `polarity "sideways"`}},
		{"second document", "log:\n  level: info\n---\nlog:\n  level: debug\n", []string{"--no-files"}, exitFailure, []string{":3: a second YAML document"}},
		{"metrics on every interface", good + "http:\n  listen: 0.0.0.0:0\n", nil, exitOK, []string{"warning:", "http.listen", "without a password"}},
		{"face pictures", good + "vision:\n  debug_dir: " + filepath.Join(dir, "faces") + "\n", nil, exitOK, []string{"warning:", ":10: vision.debug_dir: DEBUG"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write("joren"+string(rune('a'+i))+".yaml", c.body)
			out, stderr, code := run(t, append([]string{"config", "check", f}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, stderr)
			}
			if c.code == exitOK && !strings.Contains(out, f+": ok") {
				t.Errorf("stdout %q does not say %s is ok", out, f)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if c.code == exitOK || len(c.args) > 0 {
				return
			}
			// What check refuses, run refuses the same way, before
			// opening anything.
			_, runErr, runCode := run(t, "run", "--config", f)
			if runCode != exitFailure || !strings.Contains(runErr, c.stderr[0]) {
				t.Errorf("joren run: exit %d, stderr:\n%s\nwant exit 1 and %q", runCode, runErr, c.stderr[0])
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("checking made the data folder")
	}
}

// config.Load checks camera sources with vision/capture's rules (capture
// needs cgo): held here against the real driver. Whatever the check
// passes the driver opens, and what the driver refuses the check refuses
// too, for every form of source, size and rate.
func TestConfigCameraAgrees(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "door.avi")
	os.WriteFile(video, []byte("x"), 0o600)
	os.Mkdir(filepath.Join(dir, "frames"), 0o700)
	machine := "device:\n  data_dir: " + filepath.Join(dir, "data") + "\n  models: " + testenv.Models(t) + "\nindicator:\n  kind: log\nstore:\n  key_file: \"\"\n"
	type src struct {
		source        string
		width, height int
		fps           float64
	}
	var cases []src
	for _, s := range []string{
		"/dev/video0", "/dev/video9", "0", "12", "1234", "v4l2:///dev/video1", "csi", "CSI", "csi:1", "csi:12", "csi:123", "csi:front", "csi:",
		"gst:videotestsrc is-live=true", "GST:videotestsrc", "gst:", "gst:   ",
		"rtsp://cam/live", "rtsps://u:p@cam:322/x", "http://cam/mjpg", "https://cam", "rtmp://x/y", "udp://@:5000", "tcp://cam:1", "srt://x:1",
		"ftp://cam/x", "ssh://cam", "mqtt://x", "://x",
		video, "file://" + video, filepath.Join(dir, "none.avi"), "file://" + filepath.Join(dir, "none.avi"),
		filepath.Join(dir, "frames"), filepath.Join(dir, "frames") + "/", filepath.Join(dir, "none") + "/",
		"door.avi", "  " + video + "  ",
	} {
		cases = append(cases, src{s, 640, 480, 15})
	}
	for _, s := range []src{
		{video, 0, 0, 0}, {video, 640, 0, 15}, {video, 0, 480, 15}, {video, -1, 480, 15}, {video, 640, 480, -1},
		{video, 640, 480, math.NaN()}, {video, 640, 480, math.Inf(1)}, {video, 1920, 1080, 120},
	} {
		cases = append(cases, s)
	}
	for _, c := range cases {
		f := filepath.Join(dir, "joren.yaml")
		text := machine + "camera:\n  source: \"" + c.source + "\"\n  width: " + itoa(c.width) + "\n  height: " + itoa(c.height) + "\n  fps: " + yamlFloat(c.fps) + "\n"
		os.WriteFile(f, []byte(text), 0o600)
		_, _, cerr := config.Load(f, config.Options{Machine: true})
		_, derr := cv.Driver{}.OpenSource(c.source, camera.SourceOptions{Width: c.width, Height: c.height, FPS: c.fps})
		switch {
		case cerr == nil && derr != nil:
			t.Errorf("%+v: config check passes, the camera driver refuses: %v", c, derr)
		case cerr != nil && derr == nil:
			t.Errorf("%+v: the camera driver opens it, config check refuses: %v", c, cerr)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// yamlFloat writes f as YAML reads it back (.nan, .inf).
func yamlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
