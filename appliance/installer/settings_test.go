package installer

import (
	"strings"
	"testing"

	"joren/appliance/config"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"events.password", "s3cret", Redacted},
		{"events.password", "", ""},
		{"events.password_file", "/boot/joren/mqtt.pw", "/boot/joren/mqtt.pw"},
		{"events.command_key", "abcd", Redacted},
		{"events.command_key_file", "/boot/k", "/boot/k"},
		{"store.key", "abcd", Redacted},
		{"device.secret", "abcd", Redacted},
		{"api.token", "abcd", Redacted},
		{"camera.source", "rtsp://admin:s3cret@10.0.0.9/live", "rtsp://admin:[redacted]@10.0.0.9/live"},
		{"camera.source", "rtsp://viewer@10.0.0.9/live", "rtsp://viewer@10.0.0.9/live"},
		{"camera.source", "http://10.0.0.9/snap.jpg", "http://10.0.0.9/snap.jpg"},
		{"events.broker", "mqtts://joren:s3cret@broker:8883", "mqtts://joren:[redacted]@broker:8883"},
		{"camera.source", "admin:s3cret@10.0.0.9", "[redacted]@10.0.0.9"},
		{"camera.source", "/dev/video0", "/dev/video0"},
		{"device.id", "door-1", "door-1"},
		{"indicator.regular", "led+buzz 120ms, off 120ms", "led+buzz 120ms, off 120ms"},
	} {
		if got := redact(Setting{tc.key, tc.value}).Value; got != tc.want {
			t.Errorf("%s = %q shown as %q, want %q", tc.key, tc.value, got, tc.want)
		}
	}
}

// TestConfigSettings: every key of the configuration, in the file's order,
// with its value; secrets in URLs redacted.
func TestConfigSettings(t *testing.T) {
	cfg := config.Default()
	cfg.Camera.Source = "rtsp://admin:s3cret@10.0.0.9/live"
	cfg.Installer.Enabled = true
	ss := ConfigSettings(cfg)
	annotated, err := config.Annotated(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	// Every key line of the annotated defaults ("  key: value") is a
	// setting, in the same order.
	var keys []string
	section := ""
	for _, line := range strings.Split(string(annotated), "\n") {
		switch {
		case line == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			section = strings.TrimSuffix(line, ":")
		default:
			k, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			keys = append(keys, section+"."+k)
		}
	}
	if len(ss) != len(keys) {
		t.Fatalf("%d settings, the configuration has %d keys", len(ss), len(keys))
	}
	got := map[string]string{}
	for i, s := range ss {
		if s.Key != keys[i] {
			t.Errorf("setting %d is %s, want %s", i, s.Key, keys[i])
		}
		got[s.Key] = s.Value
	}
	for k, v := range map[string]string{
		"camera.source": "rtsp://admin:[redacted]@10.0.0.9/live", "camera.fps": "15",
		"installer.enabled": "true", "installer.off_after_minutes": "120", "events.broker": "",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
