package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Edit changes the keys asked for and nothing else: comments, order and
// the other keys stay; missing keys and sections are added; the result
// loads with the new values.
func TestEdit(t *testing.T) {
	in := `# The shop's box.
device:
  id: door-1   # the box
  site: ""
  timezone: Asia/Tokyo
regular:
  days: 3
camera:
  source: /dev/video0
`
	out, err := Edit([]byte(in), []Override{
		{Key: "device.site", Value: "shibuya-2"},
		{Key: "regular.days", Value: "4"},
		{Key: "regular.window_days", Value: "40"},
		{Key: "store.retention_days", Value: "120"},
		{Key: "device.id", Value: "true"}, // a string that YAML would read as a boolean
	})
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"# The shop's box.", "# the box", "timezone: Asia/Tokyo", "source: /dev/video0", "site: shibuya-2", "days: 4", "window_days: 40", `id: "true"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the edited file lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "device:") > strings.Index(text, "camera:") {
		t.Errorf("sections reordered:\n%s", text)
	}
	path := filepath.Join(t.TempDir(), "joren.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(path, Options{})
	if err != nil {
		t.Fatalf("the edited file does not load: %v\n%s", err, text)
	}
	if cfg.Device.Site != "shibuya-2" || cfg.Device.ID != "true" || cfg.Regular.Days != 4 || cfg.Regular.WindowDays != 40 || cfg.Store.RetentionDays != 120 || cfg.Camera.Source != "/dev/video0" {
		t.Errorf("loaded %+v", cfg)
	}
}

// Unknown keys and values of the wrong type are refused, naming the key.
func TestEditRefuses(t *testing.T) {
	for _, tc := range []struct {
		change Override
		want   string
	}{
		{Override{Key: "device.sitee", Value: "x"}, `did you mean "device.site"`},
		{Override{Key: "regular.days", Value: "three"}, `regular.days: "three" is not a whole number`},
		{Override{Key: "device", Value: "x"}, "want section.key"},
	} {
		_, err := Edit([]byte("device:\n  id: a\n"), []Override{tc.change})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.change, err, tc.want)
		}
	}
	if _, err := Edit([]byte("- a\n- b\n"), []Override{{Key: "device.id", Value: "a"}}); err == nil {
		t.Error("a list edited as a configuration")
	}
}
