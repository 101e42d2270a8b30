package password

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		want       string // the password read, or "" for an error
		err        string
	}{
		{"line end", "correct horse\n", "correct horse", ""},
		{"CR LF and spaces", "  correct horse \r\nsecond line\n", "correct horse", ""},
		{"eight runes", "鍵鍵鍵鍵鍵鍵鍵鍵", "鍵鍵鍵鍵鍵鍵鍵鍵", ""},
		{"short", "abc\n", "", "has 3 characters, want at least 8"},
		{"empty first line", "\ncorrect horse\n", "", "first line is empty"},
		{"empty", "", "", "first line is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := Read(p, "installer.password_file", Min)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("Read: %v, want an error naming %s and %q", err, p, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != sha256.Sum256([]byte(c.want)) {
				t.Errorf("hash of %q, want that of %q", c.text, c.want)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "none"), "installer.password_file", Min); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read("", "installer.password_file", Min); err == nil || !strings.Contains(err.Error(), "installer.password_file") {
		t.Errorf("no file: %v", err)
	}
}
