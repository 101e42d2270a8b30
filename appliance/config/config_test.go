package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "joren.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValid(t *testing.T) {
	cfg, _, err := Load("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load with nothing differs from Default")
	}
}

func TestEveryKeyDocumented(t *testing.T) {
	var check func(t reflect.Type, path string)
	check = func(rt reflect.Type, path string) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			key := path + f.Tag.Get("yaml")
			if f.Tag.Get("doc") == "" || f.Tag.Get("yaml") == "" {
				t.Errorf("%s (%s) lacks a yaml or doc tag", key, f.Name)
			}
			if f.Type.Kind() == reflect.Struct {
				check(f.Type, key+".")
			}
		}
	}
	check(reflect.TypeOf(Config{}), "")
}

func TestAnnotatedRoundTrips(t *testing.T) {
	b, err := Annotated(Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"camera:\n", "  source: /dev/video0\n", "  # counting: everyone who passes", "  retention_days: 90\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("annotated defaults lack %q", want)
		}
	}
	cfg, _, err := Load(write(t, string(b)), Options{})
	if err != nil {
		t.Fatalf("the annotated defaults do not load: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Error("the annotated defaults load as something else")
	}
}

func TestFileAndOverrides(t *testing.T) {
	p := write(t, `
device:
  id: door-1
  site: shibuya
camera:
  source: rtsp://10.0.0.5/stream
  fps: 10
regular:
  days: 4
`)
	cfg, _, err := Load(p, Options{Environ: []string{"JOREN_CAMERA_FPS=12", "JOREN_MODELS=/x", "PATH=/bin", "JOREN_EVENTS_BROKER=mqtt://hq:1883"},
		Sets: []Override{{Key: "regular.days", Value: "5"}}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Device.ID != "door-1" || cfg.Camera.Source != "rtsp://10.0.0.5/stream" || cfg.Camera.Width != 640 {
		t.Errorf("file values: %+v %+v", cfg.Device, cfg.Camera)
	}
	if cfg.Camera.FPS != 12 || cfg.Events.Broker != "mqtt://hq:1883" {
		t.Errorf("environment did not override: fps %v broker %q", cfg.Camera.FPS, cfg.Events.Broker)
	}
	if cfg.Regular.Days != 5 {
		t.Errorf("--set did not override the file: days %d", cfg.Regular.Days)
	}
}

func TestErrorsNameLineAndKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		env   []string
		sets  []Override
		wants []string
	}{
		{"typo", "camera:\n  sourc: /dev/video1\n", nil, nil, []string{"joren.yaml:2: camera: unknown key \"sourc\" (did you mean \"source\"?)"}},
		{"unknown section", "camra:\n  fps: 3\n", nil, nil, []string{"joren.yaml:1: unknown key \"camra\" (did you mean \"camera\"?)"}},
		{"type", "camera:\n  fps: fast\n", nil, nil, []string{"joren.yaml:2: camera.fps: \"fast\" is not a number"}},
		{"bool", "installer:\n  enabled: sometimes\n", nil, nil, []string{"joren.yaml:2: installer.enabled: \"sometimes\" is not true or false"}},
		{"bad value", "\n\nstore:\n  mode: everyone\n", nil, nil, []string{"joren.yaml:4: store.mode: \"everyone\": want counting or consent"}},
		{"two problems", "regular:\n  days: 40\nlog:\n  level: loud\n", nil, nil, []string{
			"joren.yaml:2: regular.window_days: 30: shorter than regular.days (40)", // window_days is a default: blamed by key
			"joren.yaml:4: log.level: \"loud\"",
		}},
		{"not yaml", "camera: [\n", nil, nil, []string{"joren.yaml"}},
		{"section as value", "camera: 3\n", nil, nil, []string{"joren.yaml:1: camera: want a section of keys"}},
		{"duplicate", "log:\n  level: info\n  level: debug\n", nil, nil, []string{"joren.yaml:3: log.level: set twice"}},
		{"env", "", []string{"JOREN_CAMERA_FPS=many"}, nil, []string{"env JOREN_CAMERA_FPS: camera.fps: \"many\" is not a number"}},
		{"set", "", nil, []Override{{Key: "camera.fsp", Value: "3"}}, []string{"--set camera.fsp: unknown key \"camera.fsp\" (did you mean \"camera.fps\"?)"}},
		{"broker without site", "events:\n  broker: mqtt://hq\n", nil, nil, []string{"device.site: must be set when events.broker is"}},
		{"zone", "device:\n  timezone: Mars/Olympus\n", nil, nil, []string{"joren.yaml:2: device.timezone: \"Mars/Olympus\" is not a known time zone"}},
		{"csi camera", "camera:\n  source: csi:front\n", nil, nil, []string{"joren.yaml:2: camera.source: \"csi:front\": want csi (the first camera on the board's connector) or csi:N"}},
		{"empty pipeline", "camera:\n  source: \"gst: \"\n", nil, nil, []string{"joren.yaml:2: camera.source: \"gst: \": the GStreamer pipeline is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(write(t, tc.text), Options{Environ: tc.env, Sets: tc.sets})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	if _, _, err := Load(write(t, "# nothing set\n"), Options{}); err != nil {
		t.Error(err)
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// The configuration the image ships (init/joren.yaml) must load as it is.
func TestShippedConfiguration(t *testing.T) {
	cfg, _, err := Load(filepath.Join("..", "..", "init", "joren.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.KeyFile == "" || strings.HasPrefix(cfg.Store.KeyFile, cfg.Device.DataDir) {
		t.Errorf("the shipped store key %q is missing or on the data partition (%s)", cfg.Store.KeyFile, cfg.Device.DataDir)
	}
	if cfg.Installer.Enabled {
		t.Error("the shipped configuration turns the installer page on")
	}
	if cfg.Vision.DebugDir != "" {
		t.Error("the shipped configuration writes face pictures to disk")
	}
}

// Every form of camera source vision/capture reads passes; the csi and
// gst: forms are checked here because capture needs cgo.
func TestCameraSourceForms(t *testing.T) {
	for _, src := range []string{"/dev/video0", "0", "csi", "CSI:1", "gst:videotestsrc is-live=true ! videoflip method=rotate-180", "rtsp://cam.local/live", "csi_door.avi", "frames/"} {
		if _, _, err := Load(write(t, "camera:\n  source: \""+src+"\"\n"), Options{}); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}
