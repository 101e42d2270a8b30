package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	store := func(key string) string { return "store:\n  key_file: \"" + key + "\"\n" }
	cases := []struct {
		name   string
		body   string
		args   []string
		code   int
		stderr []string // each must be in stderr
	}{
		{"good, key to be made", store(filepath.Join(keyDir, "store.key")), nil, exitOK, nil},
		{"good, installer on", store("") + "installer:\n  enabled: true\n  password_file: " + pw + "\n", nil, exitOK, nil},
		{"typo", "\nstore:\n  retention_dayz: 30\n", nil, exitFailure, []string{":3:", "retention_dayz", "retention_days"}},
		{"installer without password", store("") + "installer:\n  enabled: true\n  password_file: " + filepath.Join(dir, "nope") + "\n", nil, exitFailure, []string{"installer.password_file", "nope"}},
		{"installer password too short", store("") + "installer:\n  enabled: true\n  password_file: " + short + "\n", nil, exitFailure, []string{"installer.password_file"}},
		{"key directory missing", store(filepath.Join(dir, "no-such-dir", "store.key")), nil, exitFailure, []string{"store.key_file", "no-such-dir", "directory must exist"}},
		{"key malformed", store(badKey), nil, exitFailure, []string{"store.key_file", "bad.key"}},
		{"another machine's files", store(filepath.Join(dir, "no-such-dir", "store.key")), []string{"--no-files"}, exitOK, nil},
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
		})
	}
}
